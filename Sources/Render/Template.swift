import Config
import Foundation
import GitOpsMLCore

/// A value a template can read: text, a number, a flag, a list, a mapping, or nothing.
public enum TemplateValue: Sendable, Equatable {
    case text(String)
    case number(Double)
    case bool(Bool)
    case list([TemplateValue])
    case map([String: TemplateValue])
    case null

    var isTruthy: Bool {
        switch self {
        case .text(let text): return !text.isEmpty
        case .number(let number): return number != 0
        case .bool(let flag): return flag
        case .list(let items): return !items.isEmpty
        case .map(let entries): return !entries.isEmpty
        case .null: return false
        }
    }

    /// JSON text of the value; valid YAML too (flow style, double-quoted strings).
    var json: String {
        switch self {
        case .text(let text): return YAMLText.quoted(text)
        case .number(let number): return TemplateValue.format(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .null: return "null"
        case .list(let items): return "[" + items.map(\.json).joined(separator: ", ") + "]"
        case .map(let entries):
            return "{"
                + entries.sorted { $0.key < $1.key }.map { "\(YAMLText.quoted($0.key)): \($0.value.json)" }
                .joined(separator: ", ") + "}"
        }
    }

    static func format(_ number: Double) -> String {
        if number.rounded() == number && abs(number) < 1e15 { return String(Int64(number)) }
        return "\(number)"
    }

}

/// An error in a template or in what it was given, at the template's file and line.
public struct TemplateError: CategorizedError, Equatable {
    public let template: String
    public let line: Int
    public let message: String
    public var category: ErrorCategory { .configuration }
    public var description: String { "\(template):\(line): \(message)" }
}

/// A small template language that cannot collide with what it renders (YAML, shell, GitHub `${{ }}`
/// expressions, Prometheus and Grafana `{{ }}`): `<@ path @>`, `<@ path | quote @>`, `<@ path | json @>`,
/// `<@ for x in path @>…<@ end @>`, `<@ if [not] path @>…<@ else @>…<@ end @>`. A line holding only a
/// control tag disappears. Unknown variables are errors; a bare `<@ path @>` accepts only text that is
/// safe as a plain YAML scalar or inside a quoted string, so anything else must be asked for explicitly.
public struct Template: Sendable {
    public let name: String
    let nodes: [Node]

    indirect enum Node: Sendable {
        case text(String)
        case value(path: [String], filters: [String], line: Int)
        case loop(variable: String, path: [String], body: [Node], line: Int)
        case condition(path: [String], negated: Bool, then: [Node], otherwise: [Node], line: Int)
    }

    public init(name: String, text: String) throws {
        self.name = name
        var parser = Parser(name: name, tokens: try Template.tokenize(name: name, text: text))
        nodes = try parser.block(until: [])
        if let extra = parser.next() {
            throw TemplateError(template: name, line: extra.line, message: "'\(extra.text)' without a matching block")
        }
    }

    public func render(_ context: [String: TemplateValue]) throws -> String {
        var out = ""
        var scopes = [context]
        try render(nodes, into: &out, scopes: &scopes)
        return out
    }

    private func render(_ nodes: [Node], into out: inout String, scopes: inout [[String: TemplateValue]]) throws {
        for node in nodes {
            switch node {
            case .text(let text): out += text
            case .value(let path, let filters, let line):
                out += try format(try lookup(path, scopes, line), filters: filters, path: path, line: line)
            case .loop(let variable, let path, let body, let line):
                let value = try lookup(path, scopes, line)
                let items: [TemplateValue]
                switch value {
                case .list(let list): items = list
                case .null: items = []
                default: throw error(line, "'\(path.joined(separator: "."))' is not a list")
                }
                for item in items {
                    scopes.append([variable: item])
                    try render(body, into: &out, scopes: &scopes)
                    scopes.removeLast()
                }
            case .condition(let path, let negated, let then, let otherwise, let line):
                let truthy = try lookup(path, scopes, line).isTruthy
                try render(truthy != negated ? then : otherwise, into: &out, scopes: &scopes)
            }
        }
    }

    private func lookup(_ path: [String], _ scopes: [[String: TemplateValue]], _ line: Int) throws -> TemplateValue {
        guard var value = scopes.last(where: { $0[path[0]] != nil })?[path[0]] else {
            throw error(line, "unknown variable '\(path.joined(separator: "."))'")
        }
        for (index, key) in path.enumerated().dropFirst() {
            guard case .map(let entries) = value, let next = entries[key] else {
                throw error(line, "unknown variable '\(path[...index].joined(separator: "."))'")
            }
            value = next
        }
        return value
    }

    private func format(_ value: TemplateValue, filters: [String], path: [String], line: Int) throws -> String {
        let name = path.joined(separator: ".")
        switch filters.last {
        case "json": return value.json
        case "quote":
            switch value {
            case .text(let text): return YAMLText.quoted(text)
            case .number, .bool: return YAMLText.quoted(try format(value, filters: [], path: path, line: line))
            default: throw error(line, "'\(name)' is not text, a number or a flag")
            }
        case nil:
            switch value {
            case .text(let text):
                guard Template.isPlainSafe(text) else {
                    throw error(
                        line,
                        "the value of '\(name)' (\(YAMLText.quoted(text))) is not safe unquoted; use '| quote'")
                }
                return text
            case .number(let number): return TemplateValue.format(number)
            case .bool(let flag): return flag ? "true" : "false"
            default: throw error(line, "'\(name)' is a list, a mapping or empty; use '| json'")
            }
        case let other?: throw error(line, "unknown filter '\(other)' (known: quote, json)")
        }
    }

    /// Text made only of characters that mean nothing to YAML, JSON strings, shells or GitHub expressions.
    static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.utf8.first, first != UInt8(ascii: "-") || text.utf8.count > 1 else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: ":"),
                UInt8(ascii: "@"), UInt8(ascii: "+"), UInt8(ascii: "="):
                return true
            default: return false
            }
        } && !text.hasPrefix("@") && !text.hasSuffix(":") && !text.contains(": ")
    }

    private func error(_ line: Int, _ message: String) -> TemplateError {
        TemplateError(template: name, line: line, message: message)
    }
}

// MARK: - Parsing

extension Template {
    struct Token {
        enum Kind { case text, tag }
        let kind: Kind
        let text: String
        let line: Int
    }

    /// Splits the text into literal text and tags; a line holding only a control tag (for, if, else, end)
    /// and blanks is dropped whole, so that blocks do not leave empty lines behind.
    static func tokenize(name: String, text: String) throws -> [Token] {
        var tokens: [Token] = []
        var line = 1  // the line at rest.startIndex
        var atLineStart = true  // rest.startIndex begins a line
        var rest = Substring(text)
        func newlines(_ text: Substring) -> Int { text.utf8.reduce(0) { $0 + ($1 == 10 ? 1 : 0) } }
        while let open = rest.range(of: "<@") {
            var literal = rest[..<open.lowerBound]
            let tagLine = line + newlines(literal)
            guard let close = rest[open.upperBound...].range(of: "@>") else {
                throw TemplateError(template: name, line: tagLine, message: "unterminated '<@'")
            }
            let tag = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            var after = rest[close.upperBound...]
            if isControl(tag) {
                // Standalone: only blanks between the line's start and the tag, and from it to the newline.
                let lineStart = literal.lastIndex(of: "\n").map { literal.index(after: $0) } ?? literal.startIndex
                let startsLine = lineStart != literal.startIndex || atLineStart
                let blankBefore = literal[lineStart...].allSatisfy { $0 == " " || $0 == "\t" }
                let tail = after.drop { $0 == " " || $0 == "\t" }
                if startsLine && blankBefore && (tail.isEmpty || tail.first == "\n") {
                    literal = literal[..<lineStart]
                    after = tail.isEmpty ? tail : tail.dropFirst()
                }
            }
            atLineStart = after.startIndex > close.upperBound
            if !literal.isEmpty { tokens.append(Token(kind: .text, text: String(literal), line: line)) }
            tokens.append(Token(kind: .tag, text: tag, line: tagLine))
            line += newlines(rest[..<after.startIndex])
            rest = after
        }
        if !rest.isEmpty { tokens.append(Token(kind: .text, text: String(rest), line: line)) }
        return tokens
    }

    static func isControl(_ tag: String) -> Bool {
        tag == "end" || tag == "else" || tag.hasPrefix("for ") || tag.hasPrefix("if ")
    }

    struct Parser {
        let name: String
        let tokens: [Token]
        var position = 0

        init(name: String, tokens: [Token]) {
            self.name = name
            self.tokens = tokens
        }

        mutating func next() -> Token? {
            guard position < tokens.count else { return nil }
            defer { position += 1 }
            return tokens[position]
        }

        /// Nodes up to one of `terminators` (which is left unread), or to the end when there are none.
        mutating func block(until terminators: Set<String>) throws -> [Node] {
            var nodes: [Node] = []
            while position < tokens.count {
                let token = tokens[position]
                if token.kind == .text {
                    position += 1
                    nodes.append(.text(token.text))
                    continue
                }
                if terminators.contains(token.text) { return nodes }
                if token.text == "end" || token.text == "else" {
                    if terminators.isEmpty {
                        throw TemplateError(
                            template: name, line: token.line, message: "'\(token.text)' without a block")
                    }
                    return nodes
                }
                position += 1
                let words = token.text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                if words.first == "for" {
                    guard words.count == 4, words[2] == "in", Parser.isIdentifier(words[1]) else {
                        throw error(token, "expected 'for NAME in PATH'")
                    }
                    let body = try block(until: ["end"])
                    try expect("end", opening: token)
                    nodes.append(
                        .loop(variable: words[1], path: try path(words[3], token), body: body, line: token.line))
                } else if words.first == "if" {
                    let negated = words.count == 3 && words[1] == "not"
                    guard words.count == (negated ? 3 : 2) else { throw error(token, "expected 'if [not] PATH'") }
                    let then = try block(until: ["else", "end"])
                    var otherwise: [Node] = []
                    if position < tokens.count, tokens[position].text == "else" {
                        position += 1
                        otherwise = try block(until: ["end"])
                    }
                    try expect("end", opening: token)
                    nodes.append(
                        .condition(
                            path: try path(words.last ?? "", token), negated: negated, then: then, otherwise: otherwise,
                            line: token.line))
                } else {
                    let parts = token.text.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                    let filters = Array(parts.dropFirst())
                    if let bad = filters.first(where: { $0 != "quote" && $0 != "json" }) {
                        throw error(token, "unknown filter '\(bad)' (known: quote, json)")
                    }
                    nodes.append(.value(path: try path(parts[0], token), filters: filters, line: token.line))
                }
            }
            return nodes
        }

        private mutating func expect(_ word: String, opening: Token) throws {
            guard position < tokens.count, tokens[position].kind == .tag, tokens[position].text == word else {
                throw error(opening, "'\(opening.text)' is never closed with '<@ \(word) @>'")
            }
            position += 1
        }

        private func path(_ text: String, _ token: Token) throws -> [String] {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.allSatisfy(Parser.isIdentifier) else { throw error(token, "'\(text)' is not a variable path") }
            return parts
        }

        static func isIdentifier(_ text: String) -> Bool {
            guard let first = text.unicodeScalars.first, first == "_" || first.properties.isAlphabetic else {
                return false
            }
            return text.unicodeScalars.allSatisfy {
                $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0)
            }
        }

        private func error(_ token: Token, _ message: String) -> TemplateError {
            TemplateError(template: name, line: token.line, message: message)
        }
    }
}
