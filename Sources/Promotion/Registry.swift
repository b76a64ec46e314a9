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
        var changed = false
        var events: [RegistryEvent] = []
        var seen: Set<String> = []
        for (name, object) in try repository.tagReferences() {
            guard let parsed = RegistryTag(parsing: name) else { continue }
            seen.insert(name)
            let entry: RegistryIndex.Entry
            if let cached = index.entries[name], cached.object == object.hex {
                entry = cached
            } else {
                entry = try read(name, object: object)
                index.entries[name] = entry
                changed = true
            }
            guard let tag = entry.tag else { continue }  // lightweight tags are ignored, as GTO does
            events.append(
                RegistryEvent(
                    kind: Self.kind(parsed.action), artifact: parsed.artifact, version: parsed.version,
                    stage: parsed.stage, commit: tag.target, time: Date(timeIntervalSince1970: Double(tag.time)),
                    offsetMinutes: tag.offsetMinutes, author: tag.author, authorEmail: tag.email,
                    message: tag.message.trimmingCharacters(in: .whitespacesAndNewlines), tag: name,
                    counter: parsed.counter))
        }
        if index.entries.count != seen.count {
            index.entries = index.entries.filter { seen.contains($0.key) }
            changed = true
        }
        if changed { index.save(to: indexPath) }
        return events
    }

    public func state() throws -> RegistryState { RegistryState(events: try events()) }

    private var indexPath: String { repository.gitDirectory + "/gitops-ml/registry-index" }

    private func read(_ name: String, object: ObjectID) throws -> RegistryIndex.Entry {
        guard let info = try repository.annotatedTag(object, name: name), let tagger = info.tagger else {
            return RegistryIndex.Entry(object: object.hex, tag: nil)
        }
        return RegistryIndex.Entry(
            object: object.hex,
            tag: .init(
                target: info.target.hex, time: Int64(tagger.time.timeIntervalSince1970.rounded(.down)),
                offsetMinutes: tagger.offsetMinutes, author: tagger.name, email: tagger.email,
                message: info.message ?? ""))
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
        return (counters.max() ?? 0) + 1
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
    static let header = "gitops-ml registry index v1"

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

    /// The index on disk; a missing, unreadable or foreign file is an empty index (it is only a cache).
    static func load(from path: String) -> RegistryIndex {
        var index = RegistryIndex()
        guard let data = FileManager.default.contents(atPath: path) else { return index }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(header) else { return index }
        for line in lines.dropFirst() where !line.isEmpty {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if fields.count == 2 {
                index.entries[fields[0]] = Entry(object: fields[1], tag: nil)
            } else if fields.count == 8, let time = Int64(fields[4]), let offset = Int(fields[5]) {
                index.entries[fields[0]] = Entry(
                    object: fields[1],
                    tag: .init(
                        target: fields[2], time: time, offsetMinutes: offset, author: unescape(fields[3]),
                        email: unescape(fields[6]), message: unescape(fields[7])))
            } else {
                return RegistryIndex()  // damaged: rebuild from the tags
            }
        }
        return index
    }

    /// Written to a temporary file and renamed, so a reader never sees half an index.
    func save(to path: String) {
        var text = Self.header + "\n"
        for (name, entry) in entries.sorted(by: { $0.key < $1.key }) {
            if let tag = entry.tag {
                text +=
                    [
                        name, entry.object, tag.target, Self.escape(tag.author), String(tag.time),
                        String(tag.offsetMinutes), Self.escape(tag.email), Self.escape(tag.message),
                    ].joined(separator: "\t") + "\n"
            } else {
                text += "\(name)\t\(entry.object)\n"
            }
        }
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    static func unescape(_ text: String) -> String {
        var out = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}
