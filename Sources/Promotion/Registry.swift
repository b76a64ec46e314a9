import Foundation
import GitOpsMLCore
import GitStore

/// The GTO-compatible model registry of a repository: read from its annotated tags through an index kept
/// in `.git/gitops-ml/registry-index`, and written as new tags.
public struct Registry {
    public let repository: Repository

    public init(_ repository: Repository) { self.repository = repository }

    /// Every registry event. Tag references are listed (cheap: refs only); a tag object is read only when
    /// the index does not already hold that exact object, and the index is rewritten when anything changed.
    public func events() throws -> [RegistryEvent] {
        var index = RegistryIndex.load(from: indexPath)
        // When no tag ref file or packed-refs changed since the index was written, its entries are the refs.
        let fingerprint = RefsFingerprint.of(repository.commonDirectory)
        let refs: [(name: String, object: String)]
        var changed = false
        if let fingerprint, fingerprint == index.fingerprint {
            refs = index.entries.map { ($0.key, $0.value.object) }
        } else {
            refs = try repository.tagReferences().map { ($0.name, $0.object.hex) }  // others are skipped below
            index.fingerprint = fingerprint
            changed = true
        }
        var events: [RegistryEvent] = []
        var seen: Set<String> = []
        for (name, object) in refs {
            guard let parsed = RegistryTag(parsing: name) else { continue }
            seen.insert(name)
            let entry: RegistryIndex.Entry
            if let cached = index.entries[name], cached.object == object {
                entry = cached
            } else {
                entry = try read(name, object: ObjectID(hex: object))
                index.entries[name] = entry
                changed = true
            }
            guard let tag = entry.tag else { continue }  // lightweight tags are ignored, as GTO does
            events.append(
                RegistryEvent(
                    kind: Self.kind(parsed.action), artifact: parsed.artifact, version: parsed.version,
                    stage: parsed.stage, commit: tag.target, time: Date(timeIntervalSince1970: Double(tag.time)),
                    offsetMinutes: tag.offsetMinutes, author: tag.author, authorEmail: tag.email, message: tag.message,
                    tag: name, counter: parsed.counter))
        }
        if index.entries.count != seen.count {
            index.entries = index.entries.filter { seen.contains($0.key) }
            changed = true
        }
        if changed { index.save(to: indexPath) }
        return events
    }

    public func state() throws -> RegistryState { RegistryState(events: try events()) }

    /// Checks a version's events against the tags themselves before a decision rests on it (a `registry:`
    /// revision, a promotion): the index is a cache in `.git`, and an edited one must not redirect a
    /// revision. A disagreement discards the index (the next read rebuilds it) and is an error.
    public func confirm(_ version: RegistryState.Version) throws {
        for event in version.allEvents {
            let actual = try? repository.resolve("refs/tags/\(event.tag)^{commit}")
            guard actual?.hex == event.commit else {
                try? FileManager.default.removeItem(atPath: indexPath)
                throw GitOpsMLError.environment(
                    "the registry index disagrees with tag \(Redaction.quoted(event.tag)) (index: \(event.commit.prefix(12)), tag: \(actual?.short ?? "missing")); it was discarded: run the command again"
                )
            }
        }
    }

    private var indexPath: String { repository.commonDirectory + "/gitops-ml/registry-index" }

    private func read(_ name: String, object: ObjectID) throws -> RegistryIndex.Entry {
        guard let info = try repository.annotatedTag(object, name: name), let tagger = info.tagger else {
            return RegistryIndex.Entry(object: object.hex, tag: nil)
        }
        return RegistryIndex.Entry(
            object: object.hex,
            tag: .init(
                target: info.target.hex, time: Int64(tagger.time.timeIntervalSince1970.rounded(.down)),
                offsetMinutes: tagger.offsetMinutes, author: tagger.name, email: tagger.email,
                message: Self.trimmed(info.message ?? "")))
    }

    /// The message without surrounding white space, as GTO shows it (Python's `str.strip()`).
    static func trimmed(_ text: String) -> String {
        let bytes = Array(text.utf8)
        func blank(_ byte: UInt8) -> Bool { byte == 32 || (9...13).contains(byte) }
        guard let first = bytes.firstIndex(where: { !blank($0) }), let last = bytes.lastIndex(where: { !blank($0) })
        else {
            return ""
        }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    static func kind(_ action: RegistryTag.Action) -> RegistryEvent.Kind {
        switch action {
        case .create: return .creation
        case .deprecate: return .deprecation
        case .register: return .registration
        case .deregister: return .deregistration
        case .assign: return .assignment
        case .unassign: return .unassignment
        }
    }

    // MARK: Writing

    /// The next `#N` for an artifact: one more than any counter among its tags.
    func nextCounter(_ artifact: String) throws -> Int {
        let counters = try repository.tagReferences().compactMap { RegistryTag(parsing: $0.name) }
            .filter { $0.artifact == artifact }.compactMap(\.counter)
        let highest = counters.max() ?? 0
        let (next, overflow) = highest.addingReportingOverflow(1)
        guard !overflow else {
            throw GitOpsMLError.environment(
                "a registry tag of \(Redaction.quoted(artifact)) has the counter #\(highest), after which there is no next one: delete that tag"
            )
        }
        return next
    }

    /// Creates the annotated tag for `tag` on `commit` with GTO's message; with a counter, a name taken by a
    /// concurrent writer moves on to the next one.
    @discardableResult
    public func write(_ tag: RegistryTag, on commit: ObjectID, message: String? = nil) throws -> String {
        var tag = tag
        for _ in 0..<20 {
            do {
                try repository.createTag(tag.name, target: commit, message: message ?? Self.message(tag))
                return tag.name
            } catch let error as GitError where error.code == .referenceExists && tag.counter != nil {
                tag.counter = try nextCounter(tag.artifact)
            }
        }
        throw GitOpsMLError.environment(
            "could not create a registry tag for \(tag.artifact): too many concurrent writers")
    }

    /// GTO's tag messages.
    static func message(_ tag: RegistryTag) -> String {
        let version = tag.version ?? ""
        let stage = tag.stage ?? ""
        switch tag.action {
        case .create: return "Creating artifact \(tag.artifact)"
        case .deprecate: return "Deprecating artifact '\(tag.artifact)'"
        case .register: return "Registering artifact \(tag.artifact) version \(version)"
        case .deregister: return "Deregistering artifact \(tag.artifact) version \(version)"
        case .assign: return "Assigning stage \(stage) to artifact \(tag.artifact) version \(version)"
        case .unassign: return "Unassigning stage '\(stage)' to artifact '\(tag.artifact)' version '\(version)'"
        }
    }
}

/// The registry's cache of tag objects: for each registry tag, the object its ref points at and what
/// reading that object gave. A tag whose ref still points at the same object is never read again.
struct RegistryIndex {
    static let header = "gitops-ml registry index v3"

    struct Entry: Equatable {
        struct Tag: Equatable {
            var target: String
            var time: Int64
            var offsetMinutes: Int
            var author: String
            var email: String
            var message: String
        }
        var object: String
        /// nil for a lightweight tag.
        var tag: Tag?
    }

    var entries: [String: Entry] = [:]
    /// The tag refs' on-disk state when the index was written (see `RefsFingerprint`).
    var fingerprint: String?

    /// The index on disk (`CacheFile`); a missing, unreadable or foreign file is an empty index.
    static func load(from path: String) -> RegistryIndex {
        var index = RegistryIndex()
        guard let file = CacheFile.load(path, header: header) else { return index }
        index.fingerprint = file.key.isEmpty ? nil : file.key
        for fields in file.records {
            if fields.count == 2 {
                index.entries[fields[0]] = Entry(object: fields[1], tag: nil)
            } else if fields.count == 8, let time = Int64(fields[4]), let offset = Int(fields[5]) {
                index.entries[fields[0]] = Entry(
                    object: fields[1],
                    tag: .init(
                        target: fields[2], time: time, offsetMinutes: offset, author: fields[3], email: fields[6],
                        message: fields[7]))
            } else {
                return RegistryIndex()  // damaged: rebuild from the tags
            }
        }
        return index
    }

    func save(to path: String) {
        let records = entries.sorted(by: { $0.key < $1.key }).map { name, entry -> [String] in
            guard let tag = entry.tag else { return [name, entry.object] }
            return [
                name, entry.object, tag.target, tag.author, String(tag.time), String(tag.offsetMinutes), tag.email,
                tag.message,
            ]
        }
        CacheFile(header: Self.header, key: fingerprint ?? "", records: records).save(to: path)
    }
}

/// The on-disk state of a repository's tag refs: size and modification time (ns) of packed-refs and of
/// refs/tags and every folder below it. Creating, moving or deleting a loose tag changes its folder's
/// time; packing refs changes packed-refs. nil when it cannot be read, or when something changed in the
/// last two seconds (a change within the file system's time resolution could go unseen, as git's "racy"
/// index entries): then refs are listed.
enum RefsFingerprint {
    static func of(_ gitDirectory: String) -> String? {
        var parts: [String] = []
        let now = time(nil)
        var recent = false
        func stamp(_ path: String) -> String? {
            var info = stat()
            guard stat(path, &info) == 0 else { return nil }
            if info.st_mtim.tv_sec >= now - 2 { recent = true }
            return "\(info.st_size).\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }
        parts.append(stamp(gitDirectory + "/packed-refs") ?? "-")
        var folders = [gitDirectory + "/refs/tags"]
        while let folder = folders.popLast() {
            guard let value = stamp(folder), let directory = opendir(folder) else { return nil }
            defer { closedir(directory) }
            parts.append(value)
            while let entry = readdir(directory) {
                guard entry.pointee.d_type == DT_DIR || entry.pointee.d_type == DT_UNKNOWN else { continue }
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
                }
                guard name != ".", name != ".." else { continue }
                let path = folder + "/" + name
                if entry.pointee.d_type == DT_UNKNOWN {
                    var info = stat()
                    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                }
                folders.append(path)
            }
        }
        return recent ? nil : parts.joined(separator: ",")
    }
}
