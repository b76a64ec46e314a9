import Foundation

/// A git object id as 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
public struct ObjectID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let hex: String

    public init(hex: String) { self.hex = hex.lowercased() }

    /// True for a full object id as git writes it: 40 or 64 lowercase ASCII hex digits.
    public static func isFullHex(_ text: String) -> Bool {
        [20, 32].contains(Hex.bytes(text)?.count) && text == text.lowercased()
    }

    /// The first 12 digits, for humans.
    public var short: String { String(hex.prefix(12)) }
    public var description: String { hex }
    public static func < (a: ObjectID, b: ObjectID) -> Bool { a.hex < b.hex }
}

/// Who did something in git, and when.
public struct GitSignature: Sendable, Hashable, Codable {
    public var name: String
    public var email: String
    public var time: Date
    /// Offset from UTC in minutes, as recorded in the object.
    public var offsetMinutes: Int

    public init(name: String, email: String, time: Date = Date(), offsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }
}

/// A commit as read from the object database.
public struct CommitInfo: Sendable, Hashable {
    public var id: ObjectID
    public var tree: ObjectID
    public var parents: [ObjectID]
    public var author: GitSignature
    public var committer: GitSignature
    public var message: String

    public init(
        id: ObjectID, tree: ObjectID, parents: [ObjectID], author: GitSignature, committer: GitSignature,
        message: String
    ) {
        self.id = id
        self.tree = tree
        self.parents = parents
        self.author = author
        self.committer = committer
        self.message = message
    }

    /// The first line of the message.
    public var summary: String { String(message.prefix { $0 != "\n" }) }

    /// `Key: value` lines of the last paragraph of the message, in order (git's trailer convention).
    public var trailers: [(key: String, value: String)] {
        let paragraphs = message.trimmingCharacters(in: .whitespacesAndNewlines).components(separatedBy: "\n\n")
        guard paragraphs.count > 1, let last = paragraphs.last else { return [] }
        var result: [(key: String, value: String)] = []
        for line in last.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), !line[..<colon].contains(" ") else { return [] }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            result.append((String(line[..<colon]), value))
        }
        return result
    }
}

/// A tag: lightweight (no tagger, no message) or annotated.
public struct TagInfo: Sendable, Hashable {
    public var name: String
    /// The object the tag finally points at, after peeling annotated tags.
    public var target: ObjectID
    /// The tag object itself for annotated tags; nil for lightweight ones.
    public var tagObject: ObjectID?
    public var tagger: GitSignature?
    public var message: String?

    public init(name: String, target: ObjectID, tagObject: ObjectID?, tagger: GitSignature?, message: String?) {
        self.name = name
        self.target = target
        self.tagObject = tagObject
        self.tagger = tagger
        self.message = message
    }

    public var isAnnotated: Bool { tagObject != nil }
}

/// One entry of a tree listing.
public struct TreeEntry: Sendable, Hashable {
    public enum Kind: String, Sendable { case blob, tree, submodule, symlink }
    /// The path from the repository root.
    public var path: String
    public var kind: Kind
    public var id: ObjectID
    public var mode: UInt32

    public init(path: String, kind: Kind, id: ObjectID, mode: UInt32) {
        self.path = path
        self.kind = kind
        self.id = id
        self.mode = mode
    }

    public var name: String { path.split(separator: "/").last.map(String.init) ?? path }
}
