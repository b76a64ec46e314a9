import Foundation
import GitOpsMLCore

/// A strict JSON parser that keeps ints apart from floats and reports errors as `file:line`.
/// Accepts `NaN`, `Infinity` and `-Infinity` as Python's `json` module does.
public struct JSONReader {
    private let bytes: [UInt8]
    private let file: String
    private var index = 0
    private var line = 1
    private var depth = 0

    public static func parse(_ bytes: [UInt8], file: String) throws -> StructuredValue {
        try checkUTF8(bytes, file: file)
        var reader = JSONReader(bytes: bytes, file: file)
        // A UTF-8 byte order mark is tolerated.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { reader.index = 3 }
        reader.skipSpace()
        let value = try reader.value()
        reader.skipSpace()
        guard reader.index == bytes.count else { throw reader.error("unexpected content after the JSON value") }
        return value
    }

    private init(bytes: [UInt8], file: String) {
        self.bytes = bytes
        self.file = file
    }

    private func error(_ message: String) -> GitOpsMLError {
        .configuration("invalid JSON: \(message)", at: SourceLocation(file: file, line: line))
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x0A: line += 1
            case 0x20, 0x09, 0x0D: break
            default: return
            }
            index += 1
        }
    }

    private mutating func value() throws -> StructuredValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
        case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(bytes[index])))'")
        }
    }

    private mutating func literal(_ word: String, _ value: StructuredValue) throws -> StructuredValue {
        let utf8 = Array(word.utf8)
        guard bytes[index...].starts(with: utf8) else { throw error("unexpected token") }
        index += utf8.count
        return value
    }

    private mutating func nested<T>(_ body: (inout JSONReader) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 512 else { throw error("nested more than 512 levels deep") }
        return try body(&self)
    }

    private mutating func object() throws -> StructuredValue {
        try nested { reader in
            reader.index += 1
            var pairs: [(key: String, value: StructuredValue)] = []
            var positions: [String: Int] = [:]
            reader.skipSpace()
            if reader.peek(UInt8(ascii: "}")) { return .object([]) }
            while true {
                reader.skipSpace()
                guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "\"") else {
                    throw reader.error("expected a quoted key")
                }
                let key = try reader.string()
                reader.skipSpace()
                guard reader.peek(UInt8(ascii: ":")) else { throw reader.error("expected ':' after key \"\(key)\"") }
                reader.skipSpace()
                let value = try reader.value()
                // A key given twice is an error, as in YAML (Python's json would keep the last silently).
                guard positions[key] == nil else { throw reader.error("duplicate key \"\(key.prefix(200))\"") }
                positions[key] = pairs.count
                pairs.append((key, value))
                reader.skipSpace()
                if reader.peek(UInt8(ascii: ",")) { continue }
                if reader.peek(UInt8(ascii: "}")) { return .object(pairs) }
                throw reader.error("expected ',' or '}'")
            }
        }
    }

    private mutating func array() throws -> StructuredValue {
        try nested { reader in
            reader.index += 1
            var values: [StructuredValue] = []
            reader.skipSpace()
            if reader.peek(UInt8(ascii: "]")) { return .array([]) }
            while true {
                reader.skipSpace()
                values.append(try reader.value())
                reader.skipSpace()
                if reader.peek(UInt8(ascii: ",")) { continue }
                if reader.peek(UInt8(ascii: "]")) { return .array(values) }
                throw reader.error("expected ',' or ']'")
            }
        }
    }

    /// Consumes `byte` if it is next.
    private mutating func peek(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func string() throws -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var start = index
        func flush(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[start..<end], as: UTF8.self).unicodeScalars)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                flush(index)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte == UInt8(ascii: "\\") {
                flush(index)
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): scalars.append("\"")
                case UInt8(ascii: "\\"): scalars.append("\\")
                case UInt8(ascii: "/"): scalars.append("/")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{c}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), bytes[index...].starts(with: [0x5C, 0x75]) {
                        index += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
                }
                start = index
                continue
            }
            index += 1
        }
        throw error("unterminated string")
    }

    /// Four hex digits exactly: `UInt32(_:radix:)` alone would also take a sign ("\u+0e9").
    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("invalid \\u escape") }
        let digits = bytes[index..<index + 4]
        guard digits.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
            let code = UInt32(String(decoding: digits, as: UTF8.self), radix: 16)
        else { throw error("invalid \\u escape") }
        index += 4
        return code
    }

    private mutating func number() throws -> StructuredValue {
        let start = index
        if peek(UInt8(ascii: "-")), bytes[index...].starts(with: Array("Infinity".utf8)) {
            index += 8
            return .double(-.infinity)
        }
        var isFloat = false
        func digits() -> Int {
            let from = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            return index - from
        }
        let integerDigits = digits()
        guard integerDigits > 0 else { throw error("invalid number") }
        if integerDigits > 1 && bytes[index - integerDigits] == 0x30 { throw error("leading zero in number") }
        if peek(UInt8(ascii: ".")) {
            isFloat = true
            guard digits() > 0 else { throw error("invalid number") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isFloat = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits() > 0 else { throw error("invalid number") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if !isFloat, let integer = Int(text) { return .int(integer) }
        guard let double = Double(text) else { throw error("invalid number \(text)") }
        return .double(double)
    }
}

/// Rejects bytes that are not UTF-8, naming the line of the first bad byte.
func checkUTF8(_ bytes: [UInt8], file: String) throws {
    var decoder = UTF8()
    var iterator = bytes.makeIterator()
    var line = 1
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
        case .emptyInput: return
        case .error:
            throw GitOpsMLError.configuration("not valid UTF-8", at: SourceLocation(file: file, line: line))
        }
    }
}
