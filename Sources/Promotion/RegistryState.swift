import Foundation
import GitOpsMLCore

/// One registry event: an annotated GTO tag, read.
public struct RegistryEvent: Sendable, Hashable {
    public enum Kind: String, Sendable {
        case creation, deprecation, registration, deregistration, assignment, unassignment

        /// GTO's priorities (used to order events of the same second in history).
        var priority: Int {
            switch self {
            case .creation: return 1
            case .deprecation: return 2
            case .registration: return 3
            case .deregistration: return 4
            case .assignment: return 5
            case .unassignment: return 6
            }
        }

        var isAddition: Bool { self == .creation || self == .registration || self == .assignment }
    }

    public var kind: Kind
    public var artifact: String
    public var version: String?
    public var stage: String?
    public var commit: String
    public var time: Date
    public var offsetMinutes: Int
    public var author: String
    public var authorEmail: String
    public var message: String
    public var tag: String
    public var counter: Int?

    /// Events are ordered by time, then by the tag's `#N` counter (so tags written in the same second
    /// keep the order they were written in), then by name.
    static func precedes(_ a: RegistryEvent, _ b: RegistryEvent) -> Bool {
        if a.time != b.time { return a.time < b.time }
        if a.counter != b.counter { return (a.counter ?? -1) < (b.counter ?? -1) }
        return a.tag < b.tag
    }
}

/// The registry as GTO computes it from its tags: artifacts, their versions, and which version holds
/// each stage. Field names and rules follow GTO 1.10 (`gto show`, `gto history`).
public struct RegistryState: Sendable {
    public final class Version: @unchecked Sendable {
        public let version: String
        public let commit: String
        let semver: SemVer?
        public internal(set) var registrations: [RegistryEvent] = []
        public internal(set) var deregistrations: [RegistryEvent] = []
        /// Stage → its assignments and unassignments, oldest first.
        public internal(set) var stages: [String: [RegistryEvent]] = [:]

        init(version: String, commit: String) {
            self.version = version
            self.commit = commit
            semver = SemVer(version)
        }

        var directEvents: [RegistryEvent] { (registrations + deregistrations).sorted(by: RegistryEvent.precedes) }
        /// The latest registration or deregistration (the arrays are in order: events arrive sorted).
        var lastDirect: RegistryEvent? {
            switch (registrations.last, deregistrations.last) {
            case (let a?, let b?): return RegistryEvent.precedes(a, b) ? b : a
            case (let a?, nil): return a
            case (nil, let b): return b
            }
        }
        var stageEvents: [RegistryEvent] { stages.values.flatMap { $0 }.sorted(by: RegistryEvent.precedes) }
        public var allEvents: [RegistryEvent] {
            (registrations + deregistrations + stageEvents).sorted(by: RegistryEvent.precedes)
        }

        /// Registered and not deregistered since; a version known only from stage tags is active.
        public var isActive: Bool {
            if let last = lastDirect { return last.kind == .registration }
            return stages.values.contains { !$0.isEmpty }
        }
        public var isRegistered: Bool { !registrations.isEmpty }
        /// Known only because a stage tag points at its commit.
        public var discovered: Bool { registrations.isEmpty && deregistrations.isEmpty }

        /// The event that made it: the latest registration, else the latest stage event.
        var authoring: RegistryEvent? {
            directEvents.last { $0.kind.isAddition } ?? stageEvents.last
        }
        var activatedAt: RegistryEvent? { registrations.first ?? allEvents.first }

        /// Whether `stage` is currently assigned to this version (its last stage event is an assignment).
        func stageIsActive(_ stage: String) -> Bool { stages[stage]?.last?.kind == .assignment }
        /// The latest assignment of `stage` (GTO's "created_at" of a version-stage).
        func latestAssignment(_ stage: String) -> RegistryEvent? { stages[stage]?.last { $0.kind == .assignment } }
    }

    public final class Artifact: @unchecked Sendable {
        public let name: String
        public internal(set) var versions: [Version] = []
        public internal(set) var creations: [RegistryEvent] = []
        public internal(set) var deprecations: [RegistryEvent] = []

        init(name: String) { self.name = name }

        var events: [RegistryEvent] {
            (creations + deprecations + versions.flatMap(\.allEvents)).sorted(by: RegistryEvent.precedes)
        }

        /// Not deprecated since its last event.
        public var isActive: Bool {
            let candidates =
                [creations.last, deprecations.last].compactMap { $0 }
                + versions.flatMap { version in
                    [version.lastDirect].compactMap { $0 } + version.stages.values.compactMap(\.last)
                }
            guard let last = candidates.max(by: RegistryEvent.precedes) else { return false }
            return last.kind != .deprecation
        }

        /// GTO's `get_versions`: active versions, registered ones and (unless `registeredOnly`) those
        /// known only from stages; newest semver first.
        public func activeVersions(registeredOnly: Bool = false, includeDiscovered: Bool = false) -> [Version] {
            let versions = self.versions.filter { version in
                version.isActive
                    && ((version.isRegistered && !version.discovered) || (includeDiscovered && version.discovered)
                        || (!registeredOnly && !version.isRegistered))
            }
            return RegistryState.semverOrder(versions)
        }

        /// The highest registered active version.
        public var latestVersion: Version? { activeVersions(registeredOnly: true).first }

        /// Stage → the version holding it: among active versions, the one whose assignment to that stage
        /// is the most recent and still in effect (GTO's `get_vstages`, one version per stage, by time).
        public var stageVersions: [String: Version] {
            var candidates: [(stage: String, version: Version, event: RegistryEvent)] = []
            for version in activeVersions() {
                for stage in version.stages.keys where version.stageIsActive(stage) {
                    if let event = version.latestAssignment(stage) { candidates.append((stage, version, event)) }
                }
            }
            var result: [String: Version] = [:]
            for candidate in candidates.sorted(by: { RegistryEvent.precedes($1.event, $0.event) })
            where result[candidate.stage] == nil {
                result[candidate.stage] = candidate.version
            }
            return result
        }

        func version(named name: String?, commit: String) -> Version {
            if let existing = versions.first(where: { $0.version == (name ?? commit) && $0.commit == commit }) {
                return existing
            }
            let version = Version(version: name ?? commit, commit: commit)
            versions.append(version)
            return version
        }
    }

    /// Artifacts in the order they were first seen.
    public private(set) var artifacts: [Artifact] = []

    public func artifact(_ name: String) -> Artifact? { artifacts.first { $0.name == name } }

    /// Builds the state from tags, in GTO's order: artifact tags, then version tags, then stage tags
    /// (a stage tag's version is the registered version at its commit).
    public init(events: [RegistryEvent]) {
        var byName: [String: Artifact] = [:]
        func artifact(_ name: String) -> Artifact {
            if let existing = byName[name] { return existing }
            let created = Artifact(name: name)
            byName[name] = created
            artifacts.append(created)
            return created
        }
        let sorted = events.sorted(by: RegistryEvent.precedes)
        for event in sorted where event.kind == .creation || event.kind == .deprecation {
            let target = artifact(event.artifact)
            if event.kind == .creation { target.creations.append(event) } else { target.deprecations.append(event) }
        }
        for event in sorted where event.kind == .registration || event.kind == .deregistration {
            let version = artifact(event.artifact).version(named: event.version, commit: event.commit)
            if event.kind == .registration {
                version.registrations.append(event)
            } else {
                version.deregistrations.append(event)
            }
        }
        for event in sorted where event.kind == .assignment || event.kind == .unassignment {
            let target = artifact(event.artifact)
            // The version registered at this commit; a commit without one is a version named by its id.
            let registered = target.versions.last { $0.commit == event.commit && !$0.discovered }
            let version = registered ?? target.version(named: nil, commit: event.commit)
            var resolved = event
            resolved.version = version.version
            version.stages[event.stage ?? "", default: []].append(resolved)
        }
    }

    /// Every stage currently held by some version, sorted.
    public var stages: [String] { Self.stages(of: artifacts.map(\.stageVersions)) }

    static func stages(of holders: [[String: Version]]) -> [String] { Set(holders.flatMap(\.keys)).sorted() }

    /// Semver order, newest first; versions that are not semver (commit ids) after them, by name.
    static func semverOrder(_ versions: [Version]) -> [Version] {
        let semver = versions.compactMap { version in version.semver.map { (version, $0) } }
            .sorted { $0.1 > $1.1 }.map(\.0)
        let other = versions.filter { $0.semver == nil }.sorted { $0.version > $1.version }
        return semver + other
    }
}
