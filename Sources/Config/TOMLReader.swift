import Foundation
import GitOpsMLCore

/// A TOML 1.0 parser into `StructuredValue` (dates and times are kept as strings). Errors carry `file:line`.
/// It reads Unicode scalars, not Characters: a combining mark right after a quote is content, not part
/// of the quote (as Python's `tomllib` reads it). Arrays and inline tables nest at most 256 deep.
public struct TOMLReader {
    private let chars: [Unicode.Scalar]
    private let file: String
    private var index = 0
    private var line = 1
    private var depth = 0
    /// How deep the table of the last `[header]` lies: its key-values nest below it.
    private var headerDepth = 0
    static let maximumDepth = 256

    /// Tables under construction; a reference type so nested tables can be filled in place.
    private final class Table {
        var pairs: [(key: String, value: Item)] = []
        /// Each key's position in `pairs`: lookups stay constant-time in a table of many keys.
        var positions: [String: Int] = [:]
        /// Defined by a `[header]` or by key/values (cannot be defined twice); inline tables are sealed.
        var defined = false
        var sealed = false

        func get(_ key: String) -> Item? { positions[key].map { pairs[$0].value } }
        func set(_ key: String, _ value: Item) {
            if let position = positions[key] {
                pairs[position].value = value
            } else {
                positions[key] = pairs.count
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
        var reader = TOMLReader(chars: Array(String(decoding: bytes, as: UTF8.self).unicodeScalars), file: file)
        if reader.chars.first == "\u{FEFF}" { reader.index = 1 }
        return try reader.document()
    }

    private init(chars: [Unicode.Scalar], file: String) {
        self.chars = chars
        self.file = file
    }

    private func error(_ message: String) -> GitOpsMLError {
        .configuration("invalid TOML: \(message)", at: SourceLocation(file: file, line: line))
    }

    private var current: Unicode.Scalar? { index < chars.count ? chars[index] : nil }

    /// At a line break: LF, or CR LF.
    private var atNewline: Bool {
        current == "\n" || (current == "\r" && index + 1 < chars.count && chars[index + 1] == "\n")
    }

    private mutating func advance() {
        if current == "\n" { line += 1 }
        index += 1
    }

    /// Steps over a line break (one or two scalars).
    private mutating func skipNewline() {
        if current == "\r" { index += 1 }
        advance()
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private static func isBareKey(_ c: Unicode.Scalar) -> Bool {
        isDigit(c) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A) || c == "_"
            || c == "-"
    }

    private mutating func skipBlanks() {
        while let c = current, c == " " || c == "\t" { advance() }
    }

    private mutating func skipComment() throws {
        guard current == "#" else { return }
        while let c = current, !atNewline {
            if c.value < 0x20 && c != "\t" || c.value == 0x7f { throw error("control character in comment") }
            advance()
        }
    }

    /// Skips blanks and the comment, then requires the end of the line.
    private mutating func endOfLine() throws {
        skipBlanks()
        try skipComment()
        guard let c = current else { return }
        guard atNewline else { throw error("expected the end of the line, found '\(c)'") }
        skipNewline()
    }

    private mutating func document() throws -> StructuredValue {
        let root = Table()
        var table = root
        while current != nil {
            skipBlanks()
            try skipComment()
            guard let c = current else { break }
            if atNewline {
                skipNewline()
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
        // A dotted header nests as deep as it has parts: bounded like arrays and inline tables (50,000
        // parts in 100 KB crashed the reader's recursion).
        guard keys.count <= Self.maximumDepth else {
            throw error("a table name of more than \(Self.maximumDepth) parts")
        }
        headerDepth = keys.count
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
        // Each part of a dotted key is a table level, counted with the arrays, inline tables and header
        // it sits in, so that no document nests deeper than the bound.
        let levels = keys.count - 1 + (depth == 0 ? headerDepth : 0)
        depth += levels
        defer { depth -= levels }
        guard depth <= Self.maximumDepth else {
            throw error("keys and tables nested more than \(Self.maximumDepth) deep")
        }
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
            if chars[index...].starts(with: ["\"", "\"", "\""]) || chars[index...].starts(with: ["'", "'", "'"]) {
                throw error("a key cannot be a multi-line string")
            }
            switch current {
            case "\"": parts.append(try basicString())
            case "'": parts.append(try literalString())
            default:
                var bare = ""
                while let c = current, Self.isBareKey(c) {
                    bare.unicodeScalars.append(c)
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
            while let c = current, !" \t,]}#\n\r".unicodeScalars.contains(c) {
                guard c.value >= 0x20 && c.value != 0x7F else { throw error("control character in a value") }
                token.unicodeScalars.append(c)
                advance()
            }
            // A date and time may have one space between its two halves.
            if current == " ", token.count == 10, token.dropFirst(4).first == "-", index + 1 < chars.count,
                Self.isDigit(chars[index + 1])
            {
                advance()
                token.append("T")
                while let c = current, !" \t,]}#\n\r".unicodeScalars.contains(c) {
                    token.unicodeScalars.append(c)
                    advance()
                }
            }
            return .value(try scalar(token))
        }
    }

    /// Every `_` stands between two digits of `radix`.
    private static func underscoresBetweenDigits(_ text: Substring, radix: Int) -> Bool {
        let scalars = Array(text.unicodeScalars)
        func isDigit(_ index: Int) -> Bool {
            guard scalars.indices.contains(index), let value = Int(String(scalars[index]), radix: radix) else {
                return false
            }
            return value >= 0
        }
        return scalars.indices.allSatisfy { scalars[$0] != "_" || (isDigit($0 - 1) && isDigit($0 + 1)) }
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
        // Only letters, digits and `_+-.:` make a bare value (dates included): a NUL or anything else would
        // end the number early for strtod, which reads "0xc\0…" as 12.
        guard
            token.unicodeScalars.allSatisfy({ $0.isASCII && (Self.isBareKey($0) || "+.:".unicodeScalars.contains($0)) })
        else { throw error("invalid value \(Redaction.quoted(token))") }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where token.hasPrefix(prefix) {
            let body = token.dropFirst(2)
            // Digits and underscores only: `Int(_:radix:)` would also take a sign ("0b-101").
            guard body.first.map({ $0 != "+" && $0 != "-" }) == true, Self.underscoresBetweenDigits(body, radix: radix),
                let value = Int(body.replacingOccurrences(of: "_", with: ""), radix: radix)
            else { throw error("invalid value \(Redaction.quoted(token))") }
            return .int(value)
        }
        let looksLikeDate = token.count >= 8 && (token.dropFirst(4).first == "-" || token.dropFirst(2).first == ":")
        if looksLikeDate {
            guard TOMLDateTime.isValid(token) else { throw error("invalid date or time \(Redaction.quoted(token))") }
            return .string(token)
        }
        guard Self.underscoresBetweenDigits(Substring(token), radix: 10) else {
            throw error("invalid value \(Redaction.quoted(token))")
        }
        let clean = token.replacingOccurrences(of: "_", with: "")
        guard DecimalGrammar.matches(clean.utf8) else { throw error("invalid value \(Redaction.quoted(token))") }
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

    private mutating func nested() throws {
        depth += 1
        guard depth <= Self.maximumDepth else {
            throw error("arrays and tables nested more than \(Self.maximumDepth) deep")
        }
    }

    private mutating func array() throws -> StructuredValue {
        try nested()
        defer { depth -= 1 }
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
            guard atNewline else { return }
            skipNewline()
        }
    }

    private mutating func inlineTable() throws -> Table {
        try nested()
        defer { depth -= 1 }
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
        if multiline, atNewline { skipNewline() }
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
            if atNewline {
                guard multiline else { break }
                skipNewline()
                out.append("\n")  // CRLF too, as tomllib reads it
                continue
            }
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
                        chars[index..<index + width].allSatisfy({ $0.properties.isASCIIHexDigit }),
                        let code = UInt32(String(String.UnicodeScalarView(chars[index..<index + width])), radix: 16),
                        let scalar = Unicode.Scalar(code)
                    else { throw error("invalid unicode escape") }
                    index += width
                    out.unicodeScalars.append(scalar)
                case _ where multiline && [" ", "\t", "\n", "\r"].contains(escape):
                    // A line-ending backslash trims the newline and the whitespace that follows.
                    if escape == "\n" { line += 1 }
                    if escape == " " || escape == "\t" {
                        skipBlanks()
                        guard atNewline else { throw error("invalid escape '\\ '") }
                    } else if escape == "\r" {
                        guard current == "\n" else { throw error("invalid escape '\\\\r'") }
                    }
                    while let w = current, w == " " || w == "\t" || w == "\n" || w == "\r" { advance() }
                default: throw error("invalid escape '\\\(escape)'")
                }
                continue
            }
            if c.value < 0x20 && c != "\t" || c.value == 0x7f { throw error("control character in a string") }
            out.unicodeScalars.append(c)
            advance()
        }
        throw error("unterminated string")
    }

    private mutating func literalString() throws -> String {
        let multiline = chars[index...].starts(with: ["'", "'", "'"])
        index += multiline ? 3 : 1
        if multiline, atNewline { skipNewline() }
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
            if atNewline {
                guard multiline else { break }
                skipNewline()
                out.append("\n")  // CRLF too, as tomllib reads it
                continue
            }
            if c.value < 0x20 && c != "\t" || c.value == 0x7f { throw error("control character in a string") }
            out.unicodeScalars.append(c)
            advance()
        }
        throw error("unterminated string")
    }
}

/// TOML dates and times as tomllib reads them: a local time `HH:MM:SS[.frac]`, or a date `YYYY-MM-DD`
/// optionally followed by `T`, `t` or a space, a time and an offset (`Z`, `z`, `±HH:MM`), with real
/// months, days of the month (leap years included), hours and minutes. Kept as text.
enum TOMLDateTime {
    static func isValid(_ token: String) -> Bool {
        let scalars = Array(token.unicodeScalars)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= scalars.count else { return nil }
            var value = 0
            for scalar in scalars[index..<index + width] {
                guard scalar.value >= 0x30 && scalar.value <= 0x39 else { return nil }
                value = value * 10 + Int(scalar.value - 0x30)
            }
            index += width
            return value
        }
        func expect(_ scalar: Unicode.Scalar) -> Bool {
            guard index < scalars.count, scalars[index] == scalar else { return false }
            index += 1
            return true
        }
        func time() -> Bool {
            guard let hour = number(2), hour < 24, expect(":"), let minute = number(2), minute < 60, expect(":"),
                let second = number(2), second < 60
            else { return false }
            if index < scalars.count, scalars[index] == "." {
                index += 1
                let start = index
                while index < scalars.count, scalars[index].value >= 0x30 && scalars[index].value <= 0x39 { index += 1 }
                if index == start { return false }
            }
            return true
        }
        if scalars.count > 2, scalars[2] == ":" { return time() && index == scalars.count }
        guard let year = number(4), expect("-"), let month = number(2), (1...12).contains(month), expect("-"),
            let day = number(2), day >= 1
        else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        guard day <= days else { return false }
        guard index < scalars.count else { return true }
        guard ["T", "t", " "].contains(scalars[index]) else { return false }
        index += 1
        guard time() else { return false }
        guard index < scalars.count else { return true }
        if scalars[index] == "Z" || scalars[index] == "z" { return index + 1 == scalars.count }
        guard scalars[index] == "+" || scalars[index] == "-" else { return false }
        index += 1
        guard let hour = number(2), hour < 24, expect(":"), let minute = number(2), minute < 60 else { return false }
        return index == scalars.count
    }
}
