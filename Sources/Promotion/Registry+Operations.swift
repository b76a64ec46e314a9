import GitOpsMLCore
import GitStore

/// register, assign, unassign, deprecate: GTO's commands, writing GTO's tags.
extension Registry {
    public enum Failure: CategorizedError, Equatable {
        case invalidName(String)
        case invalidVersion(String)
        case alreadyRegistered(artifact: String, version: String)
        case commitAlreadyRegistered(artifact: String, commit: String, version: String)
        case unknownVersion(artifact: String, version: String)
        case noVersionAtCommit(artifact: String, commit: String)
        case stageNotAssigned(artifact: String, stage: String)
        case unknownArtifact(String)

        public var category: ErrorCategory {
            switch self {
            case .invalidName, .invalidVersion: return .usage
            default: return .checkFailed
            }
        }

        public var description: String {
            switch self {
            case .invalidName(let name):
                return
                    "'\(name)' is not a valid registry name (letters, digits, '-', '_', '/'; 'dir:name' for a monorepo)"
            case .invalidVersion(let version): return "'\(version)' is not a semantic version like v1.2.3"
            case .alreadyRegistered(let artifact, let version): return "\(artifact) \(version) is already registered"
            case .commitAlreadyRegistered(let artifact, let commit, let version):
                return "\(artifact): commit \(commit.prefix(12)) is already registered as \(version)"
            case .unknownVersion(let artifact, let version): return "\(artifact) has no registered version \(version)"
            case .noVersionAtCommit(let artifact, let commit):
                return "\(artifact): no version is registered at \(commit.prefix(12)); register one or give --version"
            case .stageNotAssigned(let artifact, let stage): return "\(artifact) has no version in stage '\(stage)'"
            case .unknownArtifact(let name): return "no artifact '\(name)' in the registry"
            }
        }
    }

    static func checkName(_ name: String) throws {
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        let valid =
            parts.count == 1
            ? RegistryTag.isName(parts[0])
            : parts.count == 2 && RegistryTag.isArtifact(Substring(parts[0] + "=" + parts[1]))
        guard valid else { throw Failure.invalidName(name) }
    }

    /// Registers `commit` as a version: `version` when given, else the highest registered one bumped
    /// (`v0.0.1` for the first). Returns the tag written.
    @discardableResult
    public func register(
        _ artifact: String, commit: ObjectID, version: String? = nil, bump: SemVer.Part = .patch, message: String? = nil
    ) throws -> (tag: String, version: String) {
        try Self.checkName(artifact)
        let state = try state()
        let existing = state.artifact(artifact)
        if let registered = existing?.versions.first(where: {
            $0.commit == commit.hex && $0.isActive && $0.isRegistered
        }) {
            throw Failure.commitAlreadyRegistered(artifact: artifact, commit: commit.hex, version: registered.version)
        }
        let chosen: String
        if let version {
            guard SemVer(version) != nil else { throw Failure.invalidVersion(version) }
            chosen = version
        } else {
            let highest = existing?.versions.filter(\.isRegistered).compactMap { SemVer($0.version) }.max()
            chosen = highest.map { $0.bumped(bump).description } ?? "v0.0.1"
        }
        if existing?.versions.contains(where: { $0.version == chosen && $0.isRegistered }) == true {
            throw Failure.alreadyRegistered(artifact: artifact, version: chosen)
        }
        let tag = try write(
            RegistryTag(artifact: artifact, action: .register, version: chosen), on: commit, message: message)
        return (tag, chosen)
    }

    /// Assigns `stage` to `version` (or to the version registered at `commit`).
    @discardableResult
    public func assign(
        _ artifact: String, stage: String, version: String? = nil, commit: ObjectID? = nil, message: String? = nil
    ) throws -> String {
        try Self.checkName(artifact)
        guard RegistryTag.isName(Substring(stage)) else { throw Failure.invalidName(stage) }
        let target = try resolveVersion(artifact, version: version, commit: commit)
        let tag = RegistryTag(
            artifact: artifact, action: .assign, version: target.version, stage: stage,
            counter: try nextCounter(artifact))
        return try write(tag, on: ObjectID(hex: target.commit), message: message)
    }

    /// Unassigns `stage` from `version` (default: the version holding it).
    @discardableResult
    public func unassign(_ artifact: String, stage: String, version: String? = nil, message: String? = nil) throws
        -> String
    {
        try Self.checkName(artifact)
        let state = try state()
        guard let entry = state.artifact(artifact) else { throw Failure.unknownArtifact(artifact) }
        let holder: RegistryState.Version
        if let version {
            guard let named = entry.versions.first(where: { $0.version == version }), named.stageIsActive(stage) else {
                throw Failure.stageNotAssigned(artifact: artifact, stage: stage)
            }
            holder = named
        } else {
            guard let current = entry.stageVersions[stage] else {
                throw Failure.stageNotAssigned(artifact: artifact, stage: stage)
            }
            holder = current
        }
        let tag = RegistryTag(
            artifact: artifact, action: .unassign, version: holder.version, stage: stage,
            counter: try nextCounter(artifact))
        return try write(tag, on: ObjectID(hex: holder.commit), message: message)
    }

    /// Deregisters `version`, or deprecates the whole artifact (on `commit`) when no version is given.
    @discardableResult
    public func deprecate(_ artifact: String, version: String? = nil, commit: ObjectID, message: String? = nil) throws
        -> String
    {
        try Self.checkName(artifact)
        let state = try state()
        guard let entry = state.artifact(artifact) else { throw Failure.unknownArtifact(artifact) }
        if let version {
            guard SemVer(version) != nil else { throw Failure.invalidVersion(version) }
            guard let named = entry.versions.first(where: { $0.version == version && $0.isRegistered }), named.isActive
            else { throw Failure.unknownVersion(artifact: artifact, version: version) }
            return try write(
                RegistryTag(artifact: artifact, action: .deregister, version: version),
                on: ObjectID(hex: named.commit), message: message)
        }
        var tag = RegistryTag(artifact: artifact, action: .deprecate)
        if try repository.tag(named: tag.name) != nil { tag.counter = try nextCounter(artifact) }
        return try write(tag, on: commit, message: message)
    }

    /// A registered, active version by name, or the one registered at `commit`.
    public func resolveVersion(_ artifact: String, version: String?, commit: ObjectID?) throws -> RegistryState.Version
    {
        let entry = try state().artifact(artifact)
        if let version {
            guard SemVer(version) != nil else { throw Failure.invalidVersion(version) }
            guard let found = entry?.versions.first(where: { $0.version == version && $0.isRegistered && $0.isActive })
            else { throw Failure.unknownVersion(artifact: artifact, version: version) }
            return found
        }
        guard let commit else { throw Failure.unknownVersion(artifact: artifact, version: "(none given)") }
        guard let found = entry?.versions.last(where: { $0.commit == commit.hex && $0.isRegistered && $0.isActive })
        else { throw Failure.noVersionAtCommit(artifact: artifact, commit: commit.hex) }
        return found
    }
}
