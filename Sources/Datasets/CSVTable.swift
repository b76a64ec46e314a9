import Dispatch
import Foundation
import GitOpsMLCore
import Statistics

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
    /// 8 bytes a field: the start, and the length with the quoted flag in its top bit.
    struct Field: Sendable {
        var start: UInt32
        private var packed: UInt32

        init(start: UInt32, end: UInt32, isQuoted: Bool) {
            self.start = start
            packed = (end - start) | (isQuoted ? 1 << 31 : 0)
        }

        var end: UInt32 { start + (packed & ~(1 << 31)) }
        var isQuoted: Bool { packed & (1 << 31) != 0 }
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
    public func numbers(_ name: String, missing: Set<String> = PandasText.nullTokens) throws
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

    /// The column as numbers when every field is a decimal number or a null token; nil as soon as one is
    /// not (the caller then reads it as text). Also says whether every number was written as an integer.
    /// Nulls are NaN (see `Column.values`).
    public func numbersIfNumeric(_ index: Int, nullTokens: Set<String>) -> (values: [Double], integral: Bool)? {
        var result = [Double]()
        result.reserveCapacity(rowCount)
        var integral = true
        for field in fields[index] {
            if let value = number(field) {
                if integral {
                    for offset in Int(field.start)..<Int(field.end) {
                        let byte = bytes[offset]
                        if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                            integral = false
                            break
                        }
                    }
                }
                result.append(value)
            } else if field.start == field.end || nullTokens.contains(text(field)) {
                result.append(.nan)
            } else if let infinity = PandasText.infinity(text(field)) {
                integral = false
                result.append(infinity)
            } else {
                return nil
            }
        }
        return (result, integral)
    }

    /// The column's values as text, nulls (per `nullTokens`) as nil.
    public func texts(_ index: Int, nullTokens: Set<String>) -> [String?] {
        fields[index].map { field in
            let value = text(field)
            return nullTokens.contains(value) ? nil : value
        }
    }

    private func columnIndex(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw GitOpsMLError.configuration(
                "no column \"\(name)\" (columns: \(header.joined(separator: ", ")))",
                at: SourceLocation(file: file, line: 1))
        }
        return index
    }

    private func text(_ field: Field) -> String { CSVTable.decode(bytes, field) }

    /// An unquoted field as a decimal number (see `DecimalText`).
    private func number(_ field: Field) -> Double? {
        guard !field.isQuoted else { return nil }
        return bytes.withUnsafeBufferPointer { DecimalText.parse($0, Int(field.start), Int(field.end)) }
    }

    /// Scans `bytes` read from `file`. The first record is the header; a column named twice, a row with
    /// another number of fields, an unterminated quote, a NUL byte or bytes that are not UTF-8 are errors.
    public static func parse(_ bytes: [UInt8], file: String, delimiter: UInt8 = UInt8(ascii: ",")) throws -> CSVTable {
        @Sendable func fail(_ message: String, _ line: Int) -> GitOpsMLError {
            .configuration(message, at: SourceLocation(file: file, line: line))
        }
        guard bytes.count < Int(Int32.max) else { throw fail("larger than 2 GiB", 1) }
        if let problem = UTF8Check.firstProblem(bytes) { throw fail(problem.message, problem.line) }
        var scanner = RecordScanner(bytes: bytes, delimiter: delimiter)
        let names = try header(&scanner, fail)
        // Without quotes, a newline always ends a record: the rest of the file splits into one chunk per
        // core, scanned in parallel. With quotes, one scanner reads it all.
        let bodyStart = scanner.index
        var bounds = [bodyStart]
        let hasQuotes = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { memchr($0, 0x22, buffer.count) != nil } ?? false
        }
        let workers = hasQuotes || bytes.count < 1 << 20 ? 1 : ProcessInfo.processInfo.activeProcessorCount
        for worker in 1..<max(workers, 1) {
            var cut = bodyStart + (bytes.count - bodyStart) * worker / workers
            while cut < bytes.count && bytes[cut - 1] != RecordScanner.newline { cut += 1 }
            if cut > (bounds.last ?? 0) && cut < bytes.count { bounds.append(cut) }
        }
        bounds.append(bytes.count)
        // The line each chunk starts on.
        var firstLines = [scanner.line]
        for chunk in 1..<(bounds.count - 1) {
            let newlines = bytes[bounds[chunk - 1]..<bounds[chunk]].reduce(0) {
                $0 + ($1 == RecordScanner.newline ? 1 : 0)
            }
            firstLines.append(firstLines[chunk - 1] + newlines)
        }
        let columnCount = names.count
        let (chunkBounds, chunkLines) = (bounds, firstLines)
        let parts = try Parallel.map(bounds.count - 1) { chunk throws -> (columns: [[Field]], lines: [Int]) in
            var part = RecordScanner(bytes: bytes, delimiter: delimiter)
            part.index = chunkBounds[chunk]
            part.line = chunkLines[chunk]
            part.end = chunkBounds[chunk + 1]
            var columns = [[Field]](repeating: [], count: columnCount)
            var lines: [Int] = []
            // Rows are usually about as long as the header: reserve for that many, to avoid regrowing.
            let estimatedRows = (chunkBounds[chunk + 1] - chunkBounds[chunk]) / max(bodyStart, 8)
            for index in columns.indices { columns[index].reserveCapacity(estimatedRows) }
            lines.reserveCapacity(estimatedRows)
            while let record = try part.record(fail) {
                if record.fields.count == 1 && record.fields[0].start == record.fields[0].end && columnCount > 1 {
                    continue  // a blank line
                }
                guard record.fields.count == columnCount else {
                    throw fail("expected \(columnCount) fields, found \(record.fields.count)", record.line)
                }
                for (index, field) in record.fields.enumerated() { columns[index].append(field) }
                lines.append(record.line)
            }
            return (columns, lines)
        }
        var columns = parts.first?.columns ?? [[Field]](repeating: [], count: columnCount)
        var lines = parts.first?.lines ?? []
        for part in parts.dropFirst() {
            for index in columns.indices { columns[index] += part.columns[index] }
            lines += part.lines
        }
        return CSVTable(file: file, header: names, rowLines: lines, bytes: bytes, fields: columns)
    }

    /// The header row's names (after a UTF-8 BOM); an empty file or a name given twice is an error.
    /// The widest table read: a documented bound (docs/check.md), refused with exit 2, where 200,000 columns
    /// of 20 rows (9.5 MB) took 92 s and 2.7 GB. 20,000 columns of 20 rows: 3.7 s and 154 MB (debug build).
    public static let maximumColumns = 20_000

    static func header(_ scanner: inout RecordScanner, _ fail: (String, Int) -> GitOpsMLError) throws -> [String] {
        if scanner.bytes.starts(with: [0xEF, 0xBB, 0xBF]) { scanner.index = 3 }
        guard let header = try scanner.record(fail) else { throw fail("empty file: no header row", 1) }
        guard header.fields.count <= maximumColumns else {
            throw fail(
                "\(header.fields.count) columns: gitops-ml reads tables of at most \(maximumColumns) columns",
                header.line)
        }
        var names: [String] = []
        var positions: [String: Int] = [:]
        for (index, field) in header.fields.enumerated() {
            let name = CSVTable.decode(scanner.bytes, field)
            if let first = positions[name] {
                throw fail(
                    "column \(Redaction.quoted(name)) appears twice (columns \(first + 1) and \(index + 1))",
                    header.line)
            }
            positions[name] = index
            names.append(name)
        }
        return names
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
struct RecordScanner {
    let bytes: [UInt8]
    let delimiter: UInt8
    var index = 0
    var line = 1
    /// Where this scanner stops (a chunk's end).
    var end: Int

    static let quote = UInt8(ascii: "\"")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")

    init(bytes: [UInt8], delimiter: UInt8) {
        self.bytes = bytes
        self.delimiter = delimiter
        end = bytes.count
    }

    mutating func record(_ fail: (String, Int) -> GitOpsMLError) throws -> (line: Int, fields: [CSVTable.Field])? {
        guard index < end else { return nil }
        let startLine = line
        let recordStart = index
        var fields: [CSVTable.Field] = []
        while true {
            let start = index
            // A quoted record may hold newlines: the bound is on the record (see LineBlocks).
            guard start - recordStart <= LineBlocks.maximumLineBytes else { throw fail(LineBlocks.tooLong, startLine) }
            if index < end && bytes[index] == RecordScanner.quote {
                index += 1
                while true {
                    guard index < end else { throw fail("unterminated quoted field", startLine) }
                    let byte = bytes[index]
                    if byte == RecordScanner.quote {
                        if index + 1 < end && bytes[index + 1] == RecordScanner.quote {
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    if byte == RecordScanner.newline { line += 1 }
                    index += 1
                }
                guard index - recordStart <= LineBlocks.maximumLineBytes else {
                    throw fail(LineBlocks.tooLong, startLine)
                }
                fields.append(CSVTable.Field(start: UInt32(start), end: UInt32(index), isQuoted: true))
                if index < end, bytes[index] != delimiter, bytes[index] != RecordScanner.newline,
                    bytes[index] != RecordScanner.carriageReturn
                {
                    throw fail("unexpected text after a quoted field", line)
                }
            } else {
                while index < end {
                    let byte = bytes[index]
                    if byte == delimiter || byte == RecordScanner.newline || byte == RecordScanner.carriageReturn {
                        break
                    }
                    if byte == RecordScanner.quote { throw fail("a quote inside an unquoted field", line) }
                    index += 1
                }
                guard index - recordStart <= LineBlocks.maximumLineBytes else {
                    throw fail(LineBlocks.tooLong, startLine)
                }
                fields.append(CSVTable.Field(start: UInt32(start), end: UInt32(index), isQuoted: false))
            }
            guard index < end else { return (startLine, fields) }
            let byte = bytes[index]
            index += 1
            if byte == delimiter { continue }
            if byte == RecordScanner.carriageReturn && index < end && bytes[index] == RecordScanner.newline {
                index += 1
            }
            line += 1
            return (startLine, fields)
        }
    }
}

/// Finds the first NUL byte or invalid UTF-8 sequence, with its line.
enum UTF8Check {
    struct Scan {
        /// The first problem (with its offset), nil when the bytes are valid UTF-8 text.
        var problem: (message: String, offset: Int)?
        var newlines = 0
        /// Whether a double quote was seen (before the problem, if any).
        var quotes = false
    }

    /// Validity, newlines and quotes of `buffer[start..<end]` in one pass.
    static func scan(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Scan {
        var result = Scan()
        var index = start
        let high: UInt64 = 0x8080_8080_8080_8080
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        // Marks the zero bytes of x exactly (no borrow between bytes).
        func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & low7) &+ low7) | x) & high }
        while index < end {
            // Eight bytes at a time while they are ASCII without NUL, counting their newlines (SWAR).
            if let base = UnsafeRawPointer(buffer.baseAddress) {
                var quoteBits: UInt64 = 0
                while index + 8 <= end {
                    let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & high != 0 || zeroBytes(word) != 0 { break }
                    result.newlines &+= zeroBytes(word ^ 0x0A0A_0A0A_0A0A_0A0A).nonzeroBitCount
                    quoteBits |= zeroBytes(word ^ 0x2222_2222_2222_2222)
                    index += 8
                }
                if quoteBits != 0 { result.quotes = true }
            }
            guard index < end else { break }
            // One character the slow way.
            let byte = buffer[index]
            if byte < 0x80 {
                if byte == 0 {
                    result.problem = ("a NUL byte: this looks like a binary file, not text", index)
                    return result
                }
                if byte == 0x0A { result.newlines += 1 }
                if byte == 0x22 { result.quotes = true }
                index += 1
                continue
            }
            let length: Int
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default:
                result.problem = ("not valid UTF-8", index)
                return result
            }
            guard index + length <= end, (1..<length).allSatisfy({ buffer[index + $0] & 0xC0 == 0x80 }) else {
                result.problem = ("not valid UTF-8", index)
                return result
            }
            index += length
        }
        return result
    }

    static func firstProblem(_ bytes: [UInt8]) -> (message: String, line: Int)? {
        let found = bytes.withUnsafeBufferPointer { scan($0, from: 0, to: $0.count) }
        guard let problem = found.problem else { return nil }
        return (problem.message, 1 + bytes[..<problem.offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) })
    }
}
