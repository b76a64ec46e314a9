import Foundation
import GitOpsMLCore
import Yams

/// YAML parsing with the YAML 1.2 core schema (as ruamel.yaml, which DVC uses): `yes`, `no`, `on`
/// and `off` are strings, not booleans. Errors carry `file:line`.
public enum YAMLReader {
    /// The first document's root node, or nil for an empty document.
    public static func compose(_ bytes: [UInt8], file: String) throws -> Node? {
        try checkUTF8(bytes, file: file)
        try checkNesting(bytes, file: file)
        let text = String(
            decoding: bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes, as: UTF8.self)
        do {
            return try Yams.compose(yaml: text, .basic)
        } catch let error as YamlError {
            throw translate(error, file: file)
        }
    }

    /// Every document's root node (a `---`-separated stream).
    public static func composeAll(_ text: String, file: String) throws -> [Node] {
        try checkNesting(Array(text.utf8), file: file)
        do {
            // Parser.nextRoot throws on a malformed document; compose_all's sequence would just end there.
            let parser = try Parser(yaml: text, resolver: .basic)
            var nodes: [Node] = []
            while let node = try parser.nextRoot() { nodes.append(node) }
            return nodes
        } catch let error as YamlError {
            throw translate(error, file: file)
        }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> StructuredValue {
        guard let root = try compose(bytes, file: file) else { return .null }
        var budget = max(defaultBudget, bytes.count)
        return try value(of: root, file: file, budget: &budget)
    }

    /// Values a document may expand to through its aliases (a "billion laughs" file of a few hundred
    /// bytes names 10⁹ of them): beyond it, an error in milliseconds instead of a hang.
    static let defaultBudget = 1_000_000
    /// The deepest nesting a document may have (as a bound: indentation columns plus block indicators
    /// on the line plus open flow brackets), checked before it is parsed at all.
    static let maximumNesting = 1000

    /// Refuses documents nested deeper than `maximumNesting` before the YAML parser sees them: its
    /// recursion is not bounded, and very deep flow collections take it quadratic time.
    static func checkNesting(_ bytes: [UInt8], file: String) throws {
        var line = 1
        var flow = 0
        var quote: UInt8 = 0
        var index = 0
        while index < bytes.count {
            // The start of a line: indentation and block indicators ("- - - x", "? ").
            var bound = flow
            while index < bytes.count && bytes[index] == UInt8(ascii: " ") {
                bound += 1
                index += 1
            }
            while index + 1 < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "?"))
                && bytes[index + 1] == UInt8(ascii: " ")
            {
                bound += 2
                index += 2
            }
            while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
                let byte = bytes[index]
                if quote != 0 {
                    if byte == quote { quote = 0 }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: "#") && (index == 0 || bytes[index - 1] == UInt8(ascii: " ")) {
                    while index < bytes.count && bytes[index] != UInt8(ascii: "\n") { index += 1 }
                    break
                } else if byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") {
                    flow += 1
                } else if byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") {
                    flow = max(0, flow - 1)
                } else if byte == UInt8(ascii: ":") {
                    bound += 1
                }
                if max(bound, flow) > maximumNesting {
                    throw GitOpsMLError.configuration(
                        "invalid YAML: nested more than \(maximumNesting) levels deep",
                        at: SourceLocation(file: file, line: line))
                }
                index += 1
            }
            if max(bound, flow) > maximumNesting {
                throw GitOpsMLError.configuration(
                    "invalid YAML: nested more than \(maximumNesting) levels deep",
                    at: SourceLocation(file: file, line: line))
            }
            index += 1
            line += 1
        }
    }

    static func translate(_ error: YamlError, file: String) -> GitOpsMLError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .configuration(
                "invalid YAML: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return .configuration(
                "invalid YAML: duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", "))",
                at: SourceLocation(file: file, line: context.mark.line))
        case .reader(let problem, _, _, _):
            return .configuration("invalid YAML: \(problem)", at: SourceLocation(file: file))
        default:
            return .configuration("invalid YAML: \(error)", at: SourceLocation(file: file))
        }
    }

    public static func value(of node: Node, file: String) throws -> StructuredValue {
        var budget = defaultBudget
        return try value(of: node, file: file, budget: &budget)
    }

    static func value(of node: Node, file: String, budget: inout Int) throws -> StructuredValue {
        // A value costs one, and a scalar one more per 64 bytes: aliases of aliases of one long string
        // (100 KB naming 10,000 copies of 100,000 characters, probed: 566 s and 3 GB) are charged their size.
        if case .scalar(let scalar) = node { budget -= scalar.string.utf8.count / 64 }
        budget -= 1
        guard budget >= 0 else {
            throw GitOpsMLError.configuration(
                "invalid YAML: it expands to more than \(defaultBudget) values (aliases of aliases?)",
                at: SourceLocation(file: file, line: node.mark?.line))
        }
        switch node {
        case .scalar(let scalar): return resolve(scalar)
        case .sequence(let sequence):
            var items: [StructuredValue] = []
            for item in sequence { items.append(try value(of: item, file: file, budget: &budget)) }
            return .array(items)
        case .mapping(let mapping):
            var pairs: [(key: String, value: StructuredValue)] = []
            for (key, item) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw GitOpsMLError.configuration(
                        "complex mapping keys are not supported", at: SourceLocation(file: file, line: key.mark?.line))
                }
                pairs.append((keyScalar.string, try value(of: item, file: file, budget: &budget)))
            }
            return .object(pairs)
        case .alias(let alias):
            throw GitOpsMLError.configuration(
                "unresolved alias", at: SourceLocation(file: file, line: alias.mark?.line))
        }
    }

    /// YAML 1.2 core schema resolution of a scalar (quoted scalars are always strings).
    public static func resolve(_ scalar: Node.Scalar) -> StructuredValue {
        let text = scalar.string
        guard scalar.style == .plain || scalar.style == .any else { return .string(text) }
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        return number(text) ?? .string(text)
    }

    /// Ints (decimal, 0x, 0o) and floats in YAML 1.2 form; underscores between digits allowed.
    static func number(_ text: String) -> StructuredValue? {
        if text.hasPrefix("0x"), let value = Int(text.dropFirst(2), radix: 16) { return .int(value) }
        if text.hasPrefix("0o"), let value = Int(text.dropFirst(2), radix: 8) { return .int(value) }
        var body = Substring(text)
        if body.first == "+" || body.first == "-" { body = body.dropFirst() }
        guard let first = body.first, first.isASCII, first.isNumber || first == "." else { return nil }
        let allowed = Set("0123456789._eE+-")
        guard body.allSatisfy({ allowed.contains($0) }), !body.hasSuffix("_") else { return nil }
        let clean = text.replacingOccurrences(of: "_", with: "")
        if clean.allSatisfy({ $0.isNumber || $0 == "+" || $0 == "-" }) {
            if let value = Int(clean) { return .int(value) }
            return Double(clean).map { .double($0) }
        }
        let mantissa = clean.split(whereSeparator: { $0 == "e" || $0 == "E" }).first ?? ""
        guard mantissa.contains(where: { $0.isNumber }) else { return nil }
        return Double(clean).map { .double($0) }
    }
}
