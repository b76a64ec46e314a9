import Foundation
import GitOpsMLCore

/// A delimited text file (RFC 4180: quoted fields, doubled quotes, embedded newlines, CRLF, a UTF-8 BOM)
/// scanned into columns. Fields stay as byte ranges of the file until a column is asked for as text or
/// numbers, so a numeric column never becomes strings. Errors name the file and the line.
public struct CSVTable: Sendable {
    public let file: String
    public let header: [String]
    /// The file line each row starts on (for messages about a row).
    public let rowLines: [Int]
    let bytes: [UInt8]
    /// `fields[column][row]`.
    let fields: [[Field]]

    /// A field's place in `bytes`; quoted fields keep their quotes (and may hold doubled quotes).
    struct Field: Sendable {
        var start: UInt32
        var end: UInt32
        var isQuoted: Bool
    }

    public var rowCount: Int { rowLines.count }

    public func hasColumn(_ name: String) -> Bool { header.contains(name) }

    /// The column's values as text.
    public func strings(_ name: String) throws -> [String] {
        let index = try columnIndex(name)
        return fields[index].map(text)
    }

    /// The column's values as numbers; an empty field or one of `missing` is nil; anything else that is
    /// not a number is an error naming the line.
    public func numbers(_ name: String, missing: Set<String> = ["", "NA", "NaN", "nan", "null", "None"]) throws
        -> [Double?]
    {
        let index = try columnIndex(name)
        var result = [Double?]()
        result.reserveCapacity(rowCount)
        for (row, field) in fields[index].enumerated() {
            if let value = number(field) {
                result.append(value)
                continue
            }
            let value = text(field)
            guard missing.contains(value.trimmingCharacters(in: .whitespaces)) else {
                throw GitOpsMLError.configuration(
                    "column \"\(name)\": \"\(value)\" is not a number",
                    at: SourceLocation(file: file, line: rowLines[row]))
            }
            result.append(nil)
        }
        return result
    }

    private func columnIndex(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw GitOpsMLError.configuration(
                "no column \"\(name)\" (columns: \(header.joined(separator: ", ")))",
                at: SourceLocation(file: file, line: 1))
        }
        return index
    }

    private func text(_ field: Field) -> String {
        let start = Int(field.start)
        let end = Int(field.end)
        guard field.isQuoted else { return String(decoding: bytes[start..<end], as: UTF8.self) }
        let inner = String(decoding: bytes[(start + 1)..<(end - 1)], as: UTF8.self)
        return inner.replacingOccurrences(of: "\"\"", with: "\"")
    }

    /// Parses an unquoted decimal number straight from the bytes (strtod on a small copy).
    private func number(_ field: Field) -> Double? {
        let start = Int(field.start)
        let end = Int(field.end)
        let count = end - start
        guard !field.isQuoted, count > 0, count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { buffer -> Double? in
            for offset in 0..<count { buffer[offset] = CChar(bitPattern: bytes[start + offset]) }
            buffer[count] = 0
            guard let base = buffer.baseAddress else { return nil }
            var endPointer: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &endPointer)
            guard let endPointer, endPointer - base == count else { return nil }
            // strtod also reads "inf", "nan" and hex floats; a data file means the decimal forms only.
            let first = UInt8(bitPattern: base[0])
            let isDecimal =
                (0x30...0x39).contains(first) || first == UInt8(ascii: "-") || first == UInt8(ascii: "+")
                || first == UInt8(ascii: ".")
            return isDecimal && value.isFinite ? value : nil
        }
    }

    /// Scans `bytes` read from `file`. The first record is the header; a column named twice, a row with
    /// another number of fields, an unterminated quote, a NUL byte or bytes that are not UTF-8 are errors.
    public static func parse(_ bytes: [UInt8], file: String, delimiter: UInt8 = UInt8(ascii: ",")) throws -> CSVTable {
        func fail(_ message: String, _ line: Int) -> GitOpsMLError {
            .configuration(message, at: SourceLocation(file: file, line: line))
        }
        guard bytes.count < Int(UInt32.max) else { throw fail("larger than 4 GiB", 1) }
        if let problem = UTF8Check.firstProblem(bytes) { throw fail(problem.message, problem.line) }
        var scanner = Scanner(bytes: bytes, delimiter: delimiter)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.index = 3 }
        guard let header = try scanner.record(fail) else { throw fail("empty file: no header row", 1) }
        var names: [String] = []
        for (index, field) in header.fields.enumerated() {
            let name = CSVTable.decode(bytes, field)
            if let first = names.firstIndex(of: name) {
                throw fail("column \"\(name)\" appears twice (columns \(first + 1) and \(index + 1))", header.line)
            }
            names.append(name)
        }
        var columns = [[Field]](repeating: [], count: names.count)
        var lines: [Int] = []
        // Rows are usually about as long as the header: reserve for that many, to avoid regrowing.
        let estimatedRows = bytes.count / max(scanner.index, 8)
        for index in columns.indices { columns[index].reserveCapacity(estimatedRows) }
        lines.reserveCapacity(estimatedRows)
        while let record = try scanner.record(fail) {
            if record.fields.count == 1 && record.fields[0].start == record.fields[0].end && names.count > 1 {
                continue  // a blank line
            }
            guard record.fields.count == names.count else {
                throw fail("expected \(names.count) fields, found \(record.fields.count)", record.line)
            }
            for (index, field) in record.fields.enumerated() { columns[index].append(field) }
            lines.append(record.line)
        }
        return CSVTable(file: file, header: names, rowLines: lines, bytes: bytes, fields: columns)
    }

    static func decode(_ bytes: [UInt8], _ field: Field) -> String {
        let start = Int(field.start)
        let end = Int(field.end)
        guard field.isQuoted else { return String(decoding: bytes[start..<end], as: UTF8.self) }
        return String(decoding: bytes[(start + 1)..<(end - 1)], as: UTF8.self).replacingOccurrences(
            of: "\"\"", with: "\"")
    }
}

/// Splits bytes into records of fields, following RFC 4180.
private struct Scanner {
    let bytes: [UInt8]
    let delimiter: UInt8
    var index = 0
    var line = 1

    static let quote = UInt8(ascii: "\"")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    init(bytes: [UInt8], delimiter: UInt8) {
        self.bytes = bytes
        self.delimiter = delimiter
    }

    mutating func record(_ fail: (String, Int) -> GitOpsMLError) throws -> (line: Int, fields: [CSVTable.Field])? {
        guard index < bytes.count else { return nil }
        let startLine = line
        var fields: [CSVTable.Field] = []
        while true {
            let start = index
            if index < bytes.count && bytes[index] == Scanner.quote {
                index += 1
                while true {
                    guard index < bytes.count else { throw fail("unterminated quoted field", startLine) }
                    let byte = bytes[index]
                    if byte == Scanner.quote {
                        if index + 1 < bytes.count && bytes[index + 1] == Scanner.quote {
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    if byte == Scanner.newline { line += 1 }
                    index += 1
                }
                fields.append(CSVTable.Field(start: UInt32(start), end: UInt32(index), isQuoted: true))
                if index < bytes.count, bytes[index] != delimiter, bytes[index] != Scanner.newline,
                    bytes[index] != Scanner.carriageReturn
                {
                    throw fail("unexpected text after a quoted field", line)
                }
            } else {
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == delimiter || byte == Scanner.newline || byte == Scanner.carriageReturn { break }
                    if byte == Scanner.quote { throw fail("a quote inside an unquoted field", line) }
                    index += 1
                }
                fields.append(CSVTable.Field(start: UInt32(start), end: UInt32(index), isQuoted: false))
            }
            guard index < bytes.count else { return (startLine, fields) }
            let byte = bytes[index]
            index += 1
            if byte == delimiter { continue }
            if byte == Scanner.carriageReturn && index < bytes.count && bytes[index] == Scanner.newline { index += 1 }
            line += 1
            return (startLine, fields)
        }
    }
}

/// Finds the first NUL byte or invalid UTF-8 sequence, with its line.
enum UTF8Check {
    static func firstProblem(_ bytes: [UInt8]) -> (message: String, line: Int)? {
        var line = 1
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte < 0x80 {
                if byte == 0 { return ("a NUL byte: this looks like a binary file, not text", line) }
                if byte == 0x0A { line += 1 }
                index += 1
                continue
            }
            let length: Int
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return ("not valid UTF-8", line)
            }
            guard index + length <= count else { return ("not valid UTF-8", line) }
            for offset in 1..<length where bytes[index + offset] & 0xC0 != 0x80 {
                return ("not valid UTF-8", line)
            }
            index += length
        }
        return nil
    }
}
