import GitOpsMLCore
import Yams

/// A node of a YAML document read for its values and its line, without Yams' types: what the deploy rules
/// read in rendered manifests and what rendering checks in its own output. Scalars resolve as YAML 1.2's
/// core schema does (`int`, `float`, `bool`); `value` is the node as a `StructuredValue`.
public struct YAMLNode {
    let node: Node
    public let file: String

    init(_ node: Node, file: String) {
        self.node = node
        self.file = file
    }

    /// Every document of `text` (a file that is not YAML is a configuration error at its line).
    public static func documents(_ text: String, file: String) throws -> [YAMLNode] {
        try YAMLReader.composeAll(text, file: file).map { YAMLNode($0, file: file) }
    }

    public subscript(key: String) -> YAMLNode? { node[key].map { YAMLNode($0, file: file) } }

    public var string: String? { node.string }
    public var int: Int? { node.int }
    public var float: Double? { node.float }
    public var bool: Bool? { node.bool }
    public var line: Int? { node.mark?.line }
    public var isMapping: Bool { if case .mapping = node { true } else { false } }

    /// The items of a list; nil for anything else.
    public var items: [YAMLNode]? { node.sequence.map { $0.map { YAMLNode($0, file: file) } } }

    /// The entries of a mapping whose keys are text, in order; nil for anything else.
    public var entries: [(key: String, value: YAMLNode)]? {
        guard case .mapping(let mapping) = node else { return nil }
        return mapping.compactMap { key, value in key.string.map { ($0, YAMLNode(value, file: file)) } }
    }

    public var kindName: String {
        switch node {
        case .mapping: return "mapping"
        case .sequence: return "list"
        case .scalar: return "scalar"
        case .alias: return "alias"
        }
    }

    public var value: StructuredValue {
        get throws { try YAMLReader.value(of: node, file: file) }
    }

    /// A configuration error at this node's line.
    public func error(_ message: String) -> GitOpsMLError { ConfigNode(node, file: file).error(message) }
}
