import GitOpsMLCore

/// A GTO registry tag name: `model@v1.2.3` (register), `model@v1.2.3!` (deregister), `model#stage#N`
/// (assign), `model#stage!#N` (unassign), `model@deprecated[#N]` (deprecate), `model@created[#N]`;
/// a monorepo artifact `dir:model` is written `dir=model` in tags. Anything else is not a registry tag.
public struct RegistryTag: Sendable, Hashable {
    public enum Action: String, Sendable { case create, deprecate, register, deregister, assign, unassign }

    public var artifact: String
    public var action: Action
    public var version: String?
    public var stage: String?
    public var counter: Int?

    public init(artifact: String, action: Action, version: String? = nil, stage: String? = nil, counter: Int? = nil) {
        self.artifact = artifact
        self.action = action
        self.version = version
        self.stage = stage
        self.counter = counter
    }

    /// The tag's name as GTO writes it.
    public var name: String {
        let base = artifact.replacingOccurrences(of: ":", with: "=")
        var text: String
        switch action {
        case .create: text = base + "@created"
        case .deprecate: text = base + "@deprecated"
        case .register: text = base + "@" + (version ?? "")
        case .deregister: text = base + "@" + (version ?? "") + "!"
        case .assign: text = base + "#" + (stage ?? "")
        case .unassign: text = base + "#" + (stage ?? "") + "!"
        }
        if let counter { text += "#\(counter)" }
        return text
    }

    /// Parses a tag name; nil when it is not a registry tag (GTO ignores those too).
    public init?(parsing name: String) {
        var rest = Substring(name)
        // The trailing counter, when there is one.
        if let hash = rest.lastIndex(of: "#"), hash != rest.startIndex {
            let digits = rest[rest.index(after: hash)...]
            if !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                rest[..<hash].contains(where: { $0 == "@" || $0 == "#" })
            {
                counter = Int(digits)
                rest = rest[..<hash]
            }
        }
        let at = rest.firstIndex(of: "@")
        let hash = rest.firstIndex(of: "#")
        guard let separator = [at, hash].compactMap({ $0 }).min() else { return nil }
        let artifactPart = rest[..<separator]
        var tail = rest[rest.index(after: separator)...]
        guard RegistryTag.isArtifact(artifactPart) else { return nil }
        artifact =
            artifactPart.contains("=") ? artifactPart.replacingOccurrences(of: "=", with: ":") : String(artifactPart)
        let cancelled = tail.hasSuffix("!")
        if rest[separator] == "@" {
            if tail == "deprecated" || tail == "created" {
                action = tail == "deprecated" ? .deprecate : .create
                return
            }
            if cancelled { tail = tail.dropLast() }
            guard SemVer(String(tail)) != nil else { return nil }
            version = String(tail)
            action = cancelled ? .deregister : .register
        } else {
            if cancelled { tail = tail.dropLast() }
            guard RegistryTag.isName(tail) else { return nil }
            stage = String(tail)
            action = cancelled ? .unassign : .assign
        }
    }

    /// GTO's name rule (`ModelName`): letters, digits, '-', '/', '_', starting and ending with a letter or
    /// digit, and no empty segment.
    public static func isName(_ text: Substring) -> Bool { ModelName.isValid(text) }

    /// An artifact in a tag: `name` or `dir=name` (dir: letters, digits, '-', '_', '.', '/').
    static func isArtifact(_ text: Substring) -> Bool {
        guard let equals = text.firstIndex(of: "=") else { return isName(text) }
        let directory = text[..<equals]
        return !directory.isEmpty
            && directory.allSatisfy { isAlphanumeric($0) || "-_./".contains($0) }
            && isName(text[text.index(after: equals)...])
    }

    private static func isAlphanumeric(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber)
    }
}
