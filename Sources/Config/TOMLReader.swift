import Foundation
import GitOpsMLCore

/// A TOML 1.0 parser into `StructuredValue` (dates and times are kept as strings). Errors carry `file:line`.
public struct TOMLReader {
    private let chars: [Character]
    private let file: String
    private var index = 0
    private var line = 1

    /// Tables under construction; a reference type so nested tables can be filled in place.
    private final class Table {
        var pairs: [(key: String, value: Item)] = []
        /// Defined by a `[header]` or by key/values (cannot be defined twice); inline tables are sealed.
        var defined = false
        var sealed = false

        func get(_ key: String) -> Item? { pairs.first { $0.key == key }?.value }
        func set(_ key: String, _ value: Item) {
            if let position = pairs.firstIndex(where: { $0.key == key }) {
                pairs[position].value = value
            } else {
                pairs.append((key, value))
            }
        }
        var value: StructuredValue { .object(pairs.map { ($0.key, $0.value.value) }) }
    }

    private enum Item {
        case value(StructuredValue)
        case table(Table)
        case tables([Table])

        var value: StructuredValue {
            switch self {
            case .value(let value): return value
            case .table(let table): return table.value
            case .tables(let tables): return .array(tables.map(\.value))
            }
        }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> StructuredValue {
        try checkUTF8(bytes, file: file)
        var reader = TOMLReader(chars: Array(String(decoding: bytes, as: UTF8.self)), file: file)
        if reader.chars.first == "\u{FEFF}" { reader.index = 1 }
        return try reader.document()
    }

    private init(chars: [Character], file: String) {
        self.chars = chars
        self.file = file
    }

    private func error(_ message: String) -> GitOpsMLError {
        .configuration("invalid TOML: \(message)", at: SourceLocation(file: file, line: line))
    }

    private var current: Character? { index < chars.count ? chars[index] : nil }

    private mutating func advance() {
        if current == "\n" || current == "\r\n" { line += 1 }
        index += 1
    }

    private mutating func skipBlanks() {
        while let c = current, c == " " || c == "\t" { advance() }
    }

    private mutating func skipComment() throws {
        guard current == "#" else { return }
        while let c = current, c != "\n" && c != "\r\n" {
            if c.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f }) {
                throw error("control character in comment")
            }
            advance()
        }
    }

    /// Skips blanks and the comment, then requires the end of the line.
    private mutating func endOfLine() throws {
        skipBlanks()
        try skipComment()
        guard let c = current else { return }
        guard c == "\n" || c == "\r\n" else { throw error("expected the end of the line, found '\(c)'") }
        advance()
    }

    private mutating func document() throws -> StructuredValue {
        let root = Table()
        var table = root
        while current != nil {
            skipBlanks()
            try skipComment()
            guard let c = current else { break }
            if c == "\n" || c == "\r\n" {
                advance()
                continue
            }
            if c == "[" {
                table = try header(root)
            } else {
                try keyValue(into: table)
            }
            try endOfLine()
        }
        return root.value
    }

    private mutating func header(_ root: Table) throws -> Table {
        advance()
        let isArray = current == "["
        if isArray { advance() }
        skipBlanks()
        let keys = try key()
        skipBlanks()
        guard current == "]" else { throw error("expected ']'") }
        advance()
        if isArray {
            guard current == "]" else { throw error("expected ']]'") }
            advance()
        }
        var table = root
        for key in keys.dropLast() {
            table = try descend(table, key, header: true)
        }
        guard let last = keys.last else { throw error("empty table name") }
        if isArray {
            let fresh = Table()
            switch table.get(last) {
            case nil: table.set(last, .tables([fresh]))
            case .tables(var list):
                list.append(fresh)
                table.set(last, .tables(list))
            default: throw error("'\(keys.joined(separator: "."))' is already defined and is not an array of tables")
            }
            return fresh
        }
        switch table.get(last) {
        case nil:
            let fresh = Table()
            fresh.defined = true
            table.set(last, .table(fresh))
            return fresh
        case .table(let existing) where !existing.defined && !existing.sealed:
            existing.defined = true
            return existing
        default: throw error("table '\(keys.joined(separator: "."))' is defined twice")
        }
    }

    /// The table at `key` inside `table`, created implicitly when missing.
    private mutating func descend(_ table: Table, _ key: String, header: Bool) throws -> Table {
        switch table.get(key) {
        case nil:
            let fresh = Table()
            table.set(key, .table(fresh))
            return fresh
        case .table(let existing) where !existing.sealed: return existing
        case .tables(let list) where header: return list[list.count - 1]
        default: throw error("key '\(key)' is already defined as a value")
        }
    }

    private mutating func keyValue(into table: Table) throws {
        let keys = try key()
        skipBlanks()
        guard current == "=" else { throw error("expected '=' after key '\(keys.joined(separator: "."))'") }
        advance()
        skipBlanks()
        let value = try self.value()
        var target = table
        for key in keys.dropLast() { target = try descend(target, key, header: false) }
        guard let last = keys.last else { throw error("empty key") }
        guard target.get(last) == nil else { throw error("key '\(keys.joined(separator: "."))' is defined twice") }
        target.set(last, value)
    }

    private mutating func key() throws -> [String] {
        var parts: [String] = []
        while true {
            skipBlanks()
            switch current {
            case "\"": parts.append(try basicString())
            case "'": parts.append(try literalString())
            default:
                var bare = ""
                while let c = current, c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-") {
                    bare.append(c)
                    advance()
                }
                guard !bare.isEmpty else { throw error("expected a key") }
                parts.append(bare)
            }
            skipBlanks()
            guard current == "." else { return parts }
            advance()
        }
    }

    private mutating func value() throws -> Item {
        switch current {
        case "\"": return .value(.string(try basicString()))
        case "'": return .value(.string(try literalString()))
        case "[": return .value(try array())
        case "{": return .table(try inlineTable())
        case nil: throw error("expected a value")
        default:
            var token = ""
            while let c = current, !" \t,]}#\n\r\n".contains(c) {
                token.append(c)
                advance()
            }
            // A date and time may have one space between its two halves.
            if current == " ", token.count == 10, token.dropFirst(4).first == "-", index + 1 < chars.count,
                chars[index + 1].isNumber
            {
                advance()
                token.append("T")
                while let c = current, !" \t,]}#\n\r\n".contains(c) {
                    token.append(c)
                    advance()
                }
            }
            return .value(try scalar(token))
        }
    }

    private func scalar(_ token: String) throws -> StructuredValue {
        switch token {
        case "true": return .bool(true)
        case "false": return .bool(false)
        case "inf", "+inf": return .double(.infinity)
        case "-inf": return .double(-.infinity)
        case "nan", "+nan", "-nan": return .double(.nan)
        default: break
        }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where token.hasPrefix(prefix) {
            guard let value = Int(token.dropFirst(2).replacingOccurrences(of: "_", with: ""), radix: radix) else {
                break
            }
            return .int(value)
        }
        let isDate = token.count >= 8 && (token.dropFirst(4).first == "-" || token.dropFirst(2).first == ":")
        if isDate { return .string(token) }
        guard !token.contains("__"), !token.hasPrefix("_"), !token.hasSuffix("_") else {
            throw error("invalid value '\(token)'")
        }
        let clean = token.replacingOccurrences(of: "_", with: "")
        let unsigned = clean.hasPrefix("+") || clean.hasPrefix("-") ? clean.dropFirst() : Substring(clean)
        if unsigned.count > 1 && unsigned.hasPrefix("0") && unsigned.dropFirst().first?.isNumber == true {
            throw error("leading zeros are not allowed in '\(token)'")
        }
        if unsigned.allSatisfy(\.isNumber), !unsigned.isEmpty {
            guard let value = Int(clean) else { throw error("integer out of range '\(token)'") }
            return .int(value)
        }
        if unsigned.first?.isNumber == true, !unsigned.hasSuffix("."), !unsigned.contains(".e"),
            !unsigned.contains(".E"),
            let value = Double(clean)
        {
            return .double(value)
        }
        throw error("invalid value '\(token)'")
    }

    private mutating func array() throws -> StructuredValue {
        advance()
        var values: [StructuredValue] = []
        while true {
            try skipSpaceCommentsAndNewlines()
            if current == "]" {
                advance()
                return .array(values)
            }
            values.append(try value().value)
            try skipSpaceCommentsAndNewlines()
            if current == "," {
                advance()
            } else if current != "]" {
                throw error("expected ',' or ']' in array")
            }
        }
    }

    private mutating func skipSpaceCommentsAndNewlines() throws {
        while true {
            skipBlanks()
            try skipComment()
            guard current == "\n" || current == "\r\n" else { return }
            advance()
        }
    }

    private mutating func inlineTable() throws -> Table {
        advance()
        let table = Table()
        skipBlanks()
        if current == "}" {
            advance()
            table.sealed = true
            return table
        }
        while true {
            try keyValue(into: table)
            skipBlanks()
            if current == "}" {
                advance()
                table.sealed = true
                return table
            }
            guard current == "," else { throw error("expected ',' or '}' in inline table") }
            advance()
        }
    }

    private mutating func basicString() throws -> String {
        let multiline = chars[index...].starts(with: ["\"", "\"", "\""])
        index += multiline ? 3 : 1
        if multiline, current == "\n" || current == "\r\n" { advance() }
        var out = ""
        while let c = current {
            if c == "\"" {
                if !multiline {
                    advance()
                    return out
                }
                if chars[index...].starts(with: ["\"", "\"", "\""]) {
                    index += 3
                    // Up to two quotes may end the content right before the closing delimiter.
                    while current == "\"" {
                        out.append("\"")
                        advance()
                    }
                    return out
                }
            }
            if (c == "\n" || c == "\r\n") && !multiline { break }
            if c == "\\" {
                advance()
                guard let escape = current else { break }
                advance()
                switch escape {
                case "b": out.append("\u{8}")
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "f": out.append("\u{c}")
                case "r": out.append("\r")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "u", "U":
                    let width = escape == "u" ? 4 : 8
                    guard index + width <= chars.count,
                        let code = UInt32(String(chars[index..<index + width]), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else { throw error("invalid unicode escape") }
                    index += width
                    out.unicodeScalars.append(scalar)
                case _ where multiline && [" ", "\t", "\n", "\r\n"].contains(escape):
                    // A line-ending backslash trims the newline and the whitespace that follows.
                    if escape == " " || escape == "\t" {
                        skipBlanks()
                        guard current == "\n" || current == "\r\n" else { throw error("invalid escape '\\ '") }
                    }
                    while let w = current, w == " " || w == "\t" || w == "\n" || w == "\r\n" { advance() }
                default: throw error("invalid escape '\\\(escape)'")
                }
                continue
            }
            out.append(c)
            advance()
        }
        throw error("unterminated string")
    }

    private mutating func literalString() throws -> String {
        let multiline = chars[index...].starts(with: ["'", "'", "'"])
        index += multiline ? 3 : 1
        if multiline, current == "\n" || current == "\r\n" { advance() }
        var out = ""
        while let c = current {
            if c == "'" {
                if !multiline {
                    advance()
                    return out
                }
                if chars[index...].starts(with: ["'", "'", "'"]) {
                    index += 3
                    while current == "'" {
                        out.append("'")
                        advance()
                    }
                    return out
                }
            }
            if (c == "\n" || c == "\r\n") && !multiline { break }
            out.append(c)
            advance()
        }
        throw error("unterminated string")
    }
}
