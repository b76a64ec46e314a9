import GitOpsMLCore
import Yams

/// A YAML node of a configuration file, with the file and the dotted path that led to it,
/// so that every error can say `file:line: models.churn.serving: …`.
public struct ConfigNode {
    public let node: Node
    public let file: String
    public let path: String

    public init(_ node: Node, file: String, path: String = "") {
        self.node = node
        self.file = file
        self.path = path
    }

    public var location: SourceLocation { SourceLocation(file: file, line: node.mark?.line, column: node.mark?.column) }

    public func error(_ message: String) -> GitOpsMLError {
        .configuration(path.isEmpty ? message : "\(path): \(message)", at: location)
    }

    public func mapping() throws -> ConfigMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping") }
        return try ConfigMapping(mapping, parent: self)
    }

    public func list() throws -> [ConfigNode] {
        guard case .sequence(let sequence) = node else { throw error("expected a list") }
        return sequence.enumerated().map { ConfigNode($1, file: file, path: "\(path)[\($0)]") }
    }

    public var value: StructuredValue {
        get throws { try YAMLReader.value(of: node, file: file) }
    }

    /// Text that names a file or folder of the repository: relative, no `..` (`RepositoryPath`).
    public func repositoryPath() throws -> String {
        let text = try string()
        do {
            return try RepositoryPath.clean(text)
        } catch let error as GitOpsMLError {
            throw self.error(error.message)
        }
    }

    /// A list of such paths.
    public func repositoryPaths() throws -> [String] {
        try strings().map { text in
            do {
                return try RepositoryPath.clean(text)
            } catch let error as GitOpsMLError {
                throw self.error(error.message)
            }
        }
    }

    public func string() throws -> String {
        guard case .scalar(let scalar) = node, case .string(let text) = YAMLReader.resolve(scalar) else {
            // Numbers and booleans written where text is expected are accepted as written.
            if case .scalar(let scalar) = node, scalar.string != "" { return scalar.string }
            throw error("expected text")
        }
        return text
    }

    public func int() throws -> Int {
        guard case .scalar(let scalar) = node, case .int(let value) = YAMLReader.resolve(scalar) else {
            throw error("expected a whole number")
        }
        return value
    }

    public func double() throws -> Double {
        if case .scalar(let scalar) = node {
            switch YAMLReader.resolve(scalar) {
            case .int(let value): return Double(value)
            case .double(let value) where value.isFinite: return value
            case .double: throw error("expected a finite number, not \(scalar.string)")
            default: break
            }
        }
        throw error("expected a number")
    }

    public func bool() throws -> Bool {
        guard case .scalar(let scalar) = node, case .bool(let value) = YAMLReader.resolve(scalar) else {
            throw error("expected true or false")
        }
        return value
    }

    /// A string or a list of strings.
    public func strings() throws -> [String] {
        if case .sequence = node { return try list().map { try $0.string() } }
        return [try string()]
    }

    /// One of a closed set's cases by its raw value (in declaration order in the error when it is not one).
    public func choice<Choice: RawRepresentable & CaseIterable>(_: Choice.Type = Choice.self) throws -> Choice
    where Choice.RawValue == String {
        let text = try choice(Choice.allCases.map(\.rawValue))
        guard let value = Choice(rawValue: text) else { throw error("unknown value \"\(text)\"") }
        return value
    }

    /// One of `choices`, named in the error when it is not.
    public func choice(_ choices: [String]) throws -> String {
        let text = try string()
        guard choices.contains(text) else {
            throw error("unknown value \"\(text)\" (expected one of: \(choices.joined(separator: ", ")))")
        }
        return text
    }
}

/// The keys of a YAML mapping. Read the keys you know, then `finish()`: any key left unread is an error
/// at its own line.
public final class ConfigMapping {
    public let parent: ConfigNode
    public private(set) var entries: [(key: String, node: ConfigNode)] = []
    private var read: Set<String> = []

    init(_ mapping: Node.Mapping, parent: ConfigNode) throws {
        self.parent = parent
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                throw ConfigNode(key, file: parent.file, path: parent.path).error("keys must be plain text")
            }
            let childPath = parent.path.isEmpty ? scalar.string : "\(parent.path).\(scalar.string)"
            entries.append((scalar.string, ConfigNode(value, file: parent.file, path: childPath)))
        }
    }

    public func optional(_ key: String) -> ConfigNode? {
        read.insert(key)
        return entries.first { $0.key == key }?.node
    }

    public func required(_ key: String) throws -> ConfigNode {
        guard let node = optional(key) else { throw parent.error("missing required key '\(key)'") }
        return node
    }

    /// Every entry, marked as read (for maps keyed by user-chosen names).
    public func all() -> [(key: String, node: ConfigNode)] {
        entries.forEach { read.insert($0.key) }
        return entries
    }

    /// Fails on the first key that was never read.
    public func finish() throws {
        guard let unknown = entries.first(where: { !read.contains($0.key) }) else { return }
        let known = read.sorted().joined(separator: ", ")
        let keyLine = ConfigNode(unknown.node.node, file: parent.file, path: parent.path)
        let where_ = parent.path.isEmpty ? "" : " in \(parent.path)"
        var error = keyLine.error("")
        error.message = "unknown key '\(unknown.key)'\(where_) (expected one of: \(known))"
        throw error
    }
}
