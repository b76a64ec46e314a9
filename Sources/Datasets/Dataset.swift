import Config
import Dispatch
import Foundation
import GitOpsMLCore
import Statistics

/// A table read into typed columns, with the file line of each row for messages.
public struct Dataset: Sendable {
    public var file: String
    /// The columns read: all of them, unless `Options.columns` named the ones wanted.
    public private(set) var columns: [Column]
    public var rowLines: RowLines
    /// Every column's name in file order, read or not.
    public var columnNames: [String]
    /// Each column's position in `columns`: a lookup by name is constant-time, so a file of 200,000
    /// columns is not quadratic to judge column by column.
    private let positions: [String: Int]

    public init(file: String, columns: [Column], rowLines: RowLines, columnNames: [String]? = nil) {
        self.file = file
        self.columns = columns
        self.rowLines = rowLines
        self.columnNames = columnNames ?? columns.map(\.name)
        positions = Dictionary(columns.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public var rowCount: Int { rowLines.count }

    public func column(_ name: String) -> Column? { positions[name].map { columns[$0] } }

    public enum Format: String, Sendable { case csv, tsv, jsonl }

    /// Reading options: the delimiter and null tokens, and types that override inference.
    public struct Options: Sendable {
        public var format: Format?
        public var delimiter: UInt8?
        /// pandas' defaults: a file reads as `pandas.read_csv` reads it.
        public var nullTokens: Set<String> = PandasText.nullTokens
        public var types: [String: ColumnType] = [:]
        /// The columns to read, nil for all: the others are scanned past and cost no memory (their names
        /// are kept). Honoured by the columnar reader; quoted CSV and JSON Lines read every column.
        public var columns: Set<String>?

        public init(format: Format? = nil, delimiter: UInt8? = nil) {
            self.format = format
            self.delimiter = delimiter
        }

        /// The options a dataset of gitops-ml.yaml declares. A delimiter written `\t` (single-quoted
        /// YAML keeps the backslash) means a tab.
        public init(_ dataset: ProjectConfig.Dataset) {
            format = dataset.format.flatMap(Format.init(rawValue:))
            if let text = dataset.delimiter, let first = text.utf8.first {
                delimiter = text == "\\t" ? UInt8(ascii: "\t") : first
            }
        }
    }

    /// Reads CSV/TSV (by extension, or `options.format`) or JSON Lines into typed columns.
    public static func read(_ bytes: [UInt8], file: String, options: Options = Options()) throws -> Dataset {
        try read(file: file, options: options) { MemoryStream(bytes) }
    }

    /// Reads the stream `open` returns (called again when a second pass is needed). Files without quotes
    /// — the common case — are read block by block, never whole; quoted CSV and JSON Lines are read whole.
    public static func read(file: String, options: Options = Options(), open: () throws -> ByteStream) throws
        -> Dataset
    {
        let format =
            options.format
            ?? (file.hasSuffix(".jsonl") || file.hasSuffix(".ndjson") ? .jsonl : file.hasSuffix(".tsv") ? .tsv : .csv)
        func whole() throws -> [UInt8] {
            let bytes = try open().readAll()
            guard !bytes.isEmpty else {
                throw GitOpsMLError.configuration("empty file: no header row", at: SourceLocation(file: file, line: 1))
            }
            return bytes
        }
        if format == .jsonl { return try readJSONLines(whole(), file: file, options: options) }
        let delimiter = options.delimiter ?? (format == .tsv ? UInt8(ascii: "\t") : UInt8(ascii: ","))
        if let fast = try ColumnarCSV.read(open, file: file, delimiter: delimiter, options: options) { return fast }
        let bytes = try whole()
        let table = try CSVTable.parse(bytes, file: file, delimiter: delimiter)
        // Columns are typed independently, one per core; numeric columns go straight from bytes to numbers.
        let columns = try Parallel.map(table.header.count) { index throws -> Column in
            let name = table.header[index]
            let forced = options.types[name]
            if forced == nil || forced == .int || forced == .float,
                let numeric = table.numbersIfNumeric(index, nullTokens: options.nullTokens),
                numeric.values.contains(where: { !$0.isNaN })
            {
                let type = forced ?? (numeric.integral ? .int : .float)
                return Column(name: name, type: type, values: numeric.values, strings: [])
            }
            let texts = table.texts(index, nullTokens: options.nullTokens)
            return try Column.build(
                name: name, values: texts, forced: forced, file: file, lines: RowLines(table.rowLines))
        }
        return Dataset(file: file, columns: columns, rowLines: RowLines(table.rowLines))
    }

    /// JSON Lines: each line an object. The lines are parsed on every core (a share each) into one array
    /// of texts per key, keys in the order they first appear; a key absent from a row is a null there.
    static func readJSONLines(_ bytes: [UInt8], file: String, options: Options) throws -> Dataset {
        if let problem = UTF8Check.firstProblem(bytes) {
            throw GitOpsMLError.configuration(problem.message, at: SourceLocation(file: file, line: problem.line))
        }
        // The lines with something on them: where they are and their number.
        var records: [(start: Int, end: Int, line: Int)] = []
        var (start, lineNumber) = (0, 1)
        for index in 0...bytes.count where index == bytes.count || bytes[index] == UInt8(ascii: "\n") {
            if bytes[start..<index].contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) {
                records.append((start, index, lineNumber))
            }
            (start, lineNumber) = (index + 1, lineNumber + 1)
        }
        guard !records.isEmpty else {
            throw GitOpsMLError.configuration("no records", at: SourceLocation(file: file, line: 1))
        }
        struct Share {
            var names: [String] = []
            var columns: [[String?]] = []
            var positions: [String: Int] = [:]
            var rows = 0
        }
        let workers = records.count < 10_000 ? 1 : ProcessInfo.processInfo.activeProcessorCount
        let recordList = records
        // The shares in line order: the first error in the file is the one reported.
        let parts = try Parallel.map(workers) { worker throws -> Share in
            let mine = recordList[(recordList.count * worker / workers)..<(recordList.count * (worker + 1) / workers)]
            var share = Share()
            for record in mine {
                let value: StructuredValue
                do {
                    value = try JSONReader.parse(Array(bytes[record.start..<record.end]), file: file)
                } catch var error as GitOpsMLError {
                    error.location = SourceLocation(file: file, line: record.line)
                    throw error
                }
                guard case .object(let pairs) = value else {
                    throw GitOpsMLError.configuration(
                        "each line must be a JSON object", at: SourceLocation(file: file, line: record.line))
                }
                for (key, item) in pairs {
                    let position =
                        share.positions[key]
                        ?? {
                            share.names.append(key)
                            share.columns.append([String?](repeating: nil, count: share.rows))
                            share.positions[key] = share.columns.count - 1
                            return share.columns.count - 1
                        }()
                    var text: String?
                    switch item {
                    case .null: text = nil
                    case .string(let string): text = options.nullTokens.contains(string) ? nil : string
                    default: text = item.json()
                    }
                    // A key given twice in one object: the last value, as a dictionary would keep.
                    if share.columns[position].count > share.rows {
                        share.columns[position][share.rows] = text
                    } else {
                        share.columns[position].append(text)
                    }
                }
                share.rows += 1
                for position in share.columns.indices where share.columns[position].count < share.rows {
                    share.columns[position].append(nil)
                }
            }
            return share
        }
        var order: [String] = []
        var seen: Set<String> = []
        for part in parts { for name in part.names where seen.insert(name).inserted { order.append(name) } }
        let (names, rowCount) = (order, records.count)
        let rowLines = RowLines(records.map(\.line))
        let columns = try Parallel.map(names.count) { index throws -> Column in
            let name = names[index]
            var values: [String?] = []
            values.reserveCapacity(rowCount)
            for part in parts {
                if let position = part.positions[name] {
                    values += part.columns[position]
                } else {
                    values += [String?](repeating: nil, count: part.rows)
                }
            }
            return try Column.build(
                name: name, values: values, forced: options.types[name], file: file, lines: rowLines)
        }
        return Dataset(file: file, columns: columns, rowLines: rowLines)
    }
}

/// The file line each row starts on: consecutive lines from a first one (the common case, stored as two
/// numbers), or listed when blank lines or quoted newlines break the sequence.
public struct RowLines: Sendable, Equatable {
    public let count: Int
    /// The first row's line (when there are rows).
    public let first: Int
    let listed: [Int32]?

    public init(_ lines: [Int]) {
        count = lines.count
        let start = lines.first ?? 2
        first = start
        let sequential = lines.enumerated().allSatisfy { $0.element == start + $0.offset }
        listed = sequential ? nil : lines.map { Int32(truncatingIfNeeded: $0) }
    }

    init(count: Int, first: Int, listed: [Int32]?) {
        self.count = count
        self.first = first
        self.listed = listed
    }

    public subscript(row: Int) -> Int { listed.map { Int($0[row]) } ?? first + row }
    public var last: Int? { count == 0 ? nil : self[count - 1] }
}

extension RowLines: ExpressibleByArrayLiteral {
    public init(arrayLiteral lines: Int...) { self.init(lines) }
}

public enum ColumnType: String, Sendable, CaseIterable {
    case int, float, bool, string, timestamp

    public var isNumeric: Bool { self == .int || self == .float }
}

/// One column: its inferred (or declared) type, and its values as numbers (int, float, timestamp in
/// seconds since 1970) or as text (string, bool). nil is a null.
public struct Column: Sendable {
    public var name: String
    public var type: ColumnType
    /// Numbers (int, float, timestamp), NaN for nulls: 8 bytes a value where [Double?] takes 16. No
    /// value is NaN otherwise: "NaN" and "nan" read as nulls, the parsers accept decimals and ±∞ (pandas' `inf` spellings).
    public var values: [Double]
    /// Text (string, bool), dictionary-encoded: `dictionary[codes[row]]`, `Column.nullCode` for a null.
    /// A categorical column of a million rows is 4 MB of codes and a few strings.
    public var codes: [UInt32]
    public var dictionary: [String]

    public static let nullCode = UInt32.max

    public init(name: String, type: ColumnType, values: [Double], strings: [String?]) {
        self.name = name
        self.type = type
        self.values = values
        var index: [CodePoints: UInt32] = [:]
        var dictionary: [String] = []
        codes = strings.map { text in
            guard let text else { return Column.nullCode }
            if let code = index[CodePoints(text)] { return code }
            let code = UInt32(dictionary.count)
            index[CodePoints(text)] = code
            dictionary.append(text)
            return code
        }
        self.dictionary = dictionary
    }

    /// `values`: a timestamp column's instants beside its written form (else none).
    public init(name: String, type: ColumnType, codes: [UInt32], dictionary: [String], values: [Double] = []) {
        self.name = name
        self.type = type
        self.values = values
        self.codes = codes
        self.dictionary = dictionary
    }

    /// The text values with nulls as nil (allocates: one String a row).
    public var strings: [String?] { codes.map { $0 == Column.nullCode ? nil : dictionary[Int($0)] } }

    /// The text in `row`, nil for a null.
    @inline(__always) public func text(_ row: Int) -> String? {
        let code = codes[row]
        return code == Column.nullCode ? nil : dictionary[Int(code)]
    }

    /// The numbers with nulls as nil (allocates: for small data and tests).
    public var numbers: [Double?] { values.map { $0.isNaN ? nil : $0 } }

    /// The number in `row`, nil for a null.
    @inline(__always) public func number(_ row: Int) -> Double? {
        let value = values[row]
        return value.isNaN ? nil : value
    }

    public var count: Int { isText ? codes.count : values.count }
    public var isText: Bool { type == .string || type == .bool }
    public func isNull(_ row: Int) -> Bool { isText ? codes[row] == Column.nullCode : values[row].isNaN }
    public var nullCount: Int {
        isText ? codes.lazy.filter { $0 == Column.nullCode }.count : values.lazy.filter { $0.isNaN }.count
    }
    /// The numbers without nulls: the column's own storage when it has none (shared until changed), else
    /// one exact allocation.
    public var nonNullNumbers: [Double] {
        let present = values.count - nullCount
        guard present < values.count else { return values }
        return [Double](unsafeUninitializedCapacity: present) { buffer, count in
            count = 0
            for value in values where !value.isNaN {
                buffer[count] = value
                count += 1
            }
        }
    }

    /// How many times each text occurs (nulls left out), from the codes without building a String a row.
    public var textCounts: [String: Int] {
        guard isText else {
            var counts: [String: Int] = [:]
            for text in texts { if let text { counts[text, default: 0] += 1 } }
            return counts
        }
        var tally = [Int](repeating: 0, count: dictionary.count)
        for code in codes where code != Column.nullCode { tally[Int(code)] += 1 }
        var counts: [String: Int] = [:]
        for (index, count) in tally.enumerated() where count > 0 { counts[dictionary[index], default: 0] += count }
        return counts
    }

    /// Values as text, for categorical statistics (numbers in their shortest form).
    public var texts: [String?] {
        switch type {
        case .string, .bool: return strings
        case .timestamp where !codes.isEmpty: return strings
        case .int: return values.map { $0.isNaN ? nil : String(Int($0)) }
        default: return values.map { $0.isNaN ? nil : StructuredValue.pythonFloat($0) }
        }
    }

    static func build(name: String, values: [String?], forced: ColumnType?, file: String, lines: RowLines) throws
        -> Column
    {
        let type = forced ?? infer(values)
        switch type {
        case .string:
            return Column(name: name, type: .string, values: [], strings: values)
        case .bool:
            let normalized = try values.enumerated().map { row, value -> String? in
                guard let value else { return nil }
                switch value.lowercased() {
                case "true", "1", "yes", "t": return "true"
                case "false", "0", "no", "f": return "false"
                default:
                    throw GitOpsMLError.configuration(
                        "column \"\(name)\": \"\(value)\" is not a boolean",
                        at: SourceLocation(file: file, line: lines[row]))
                }
            }
            return Column(name: name, type: .bool, values: [], strings: normalized)
        case .int, .float, .timestamp:
            func parse(_ text: String) -> Double? { type == .timestamp ? Timestamps.parse(text) : Column.number(text) }
            let numbers = try values.enumerated().map { row, value -> Double in
                guard let value else { return .nan }
                guard let number = parse(value) else {
                    throw GitOpsMLError.configuration(
                        "column \"\(name)\": \"\(value)\" is not \(type == .timestamp ? "a timestamp" : "a number")",
                        at: SourceLocation(file: file, line: lines[row]))
                }
                return number
            }
            // A timestamp keeps its written form too: it is text to pandas, which a regex or a set judges.
            return Column(name: name, type: type, values: numbers, strings: type == .timestamp ? values : [])
        }
    }

    /// A number as pandas reads one: a finite decimal (`DecimalGrammar`: no hex; spaces around it
    /// allowed; `1e400` is text, as it is to pandas), or `inf`/`infinity` in any case with a sign.
    static func number(_ text: String) -> Double? {
        func finite(_ text: String) -> Double? {
            guard DecimalGrammar.matches(text.utf8), let value = Double(text), value.isFinite else { return nil }
            return value
        }
        // Spaces around a number are rare: trimmed (which is slow) only when the text does not read as is.
        if let value = finite(text) ?? PandasText.infinity(text) { return value }
        return finite(text.trimmingCharacters(in: CharacterSet.whitespaces))
    }

    /// int when every value is a whole number, float when every value is a number (infinities included),
    /// bool for true/false, timestamp for ISO 8601 dates and times, else string: pandas' inference, but
    /// for timestamps (which pandas keeps as text unless asked).
    static func infer(_ values: [String?]) -> ColumnType {
        let present = values.compactMap { $0 }
        return present.isEmpty ? .string : inferWithInstants(present).type
    }

    /// `infer` of distinct values, with each one's instant when they are timestamps (parsed once).
    static func inferWithInstants(_ present: [String]) -> (type: ColumnType, instants: [Double]?) {
        guard !present.isEmpty else { return (.string, nil) }
        if present.allSatisfy({ Int($0) ?? Int($0.trimmingCharacters(in: .whitespaces)) != nil }) { return (.int, nil) }
        if present.allSatisfy({ number($0) != nil }) { return (.float, nil) }
        if present.allSatisfy({ ["true", "false", "True", "False", "TRUE", "FALSE"].contains($0) }) {
            return (.bool, nil)
        }
        if let instants = Timestamps.parseAll(present) { return (.timestamp, instants) }
        return (.string, nil)
    }
}

/// ISO 8601 dates (`2026-01-31`) and date-times (`2026-01-31T10:00:00Z`, `2026-01-31 10:00:00+02:00`,
/// fractional seconds allowed; no zone means UTC), as seconds since 1970.
enum Timestamps {
    /// Every text's instant, or nil when one is not a timestamp.
    static func parseAll(_ texts: [String]) -> [Double]? {
        var instants: [Double] = []
        instants.reserveCapacity(texts.count)
        for text in texts {
            guard let instant = parse(text) else { return nil }
            instants.append(instant)
        }
        return instants
    }

    static func parse(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), (1...12).contains(month),
            (1...31).contains(day)
        else { return nil }
        var seconds = Double(CivilDate.days(year: year, month: month, day: day)) * 86_400
        guard bytes.count > 10 else { return seconds }
        guard bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "), bytes.count >= 16,
            let hour = digits(11, 2), let minute = digits(14, 2), bytes[13] == UInt8(ascii: ":"), hour < 24, minute < 60
        else { return nil }
        seconds += Double(hour * 3600 + minute * 60)
        var index = 16
        if index < bytes.count, bytes[index] == UInt8(ascii: ":") {
            guard let second = digits(17, 2), second <= 60 else { return nil }
            seconds += Double(second)
            index = 19
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                var fraction = 0.0
                var scale = 0.1
                index += 1
                while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                    fraction += Double(bytes[index] - 0x30) * scale
                    scale /= 10
                    index += 1
                }
                seconds += fraction
            }
        }
        guard index < bytes.count else { return seconds }
        if bytes[index] == UInt8(ascii: "Z") { return index + 1 == bytes.count ? seconds : nil }
        guard bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"), let hours = digits(index + 1, 2)
        else {
            return nil
        }
        var offset = hours * 3600
        let minutesAt = bytes.count > index + 3 && bytes[index + 3] == UInt8(ascii: ":") ? index + 4 : index + 3
        if let minutes = digits(minutesAt, 2) { offset += minutes * 60 }
        return seconds - Double(bytes[index] == UInt8(ascii: "+") ? offset : -offset)
    }

    /// Seconds since 1970 as an ISO 8601 time in UTC (`2026-01-31T10:00:00Z`, milliseconds when it has them).
    static func format(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e14 else { return StructuredValue.pythonFloat(seconds) }
        let milliseconds = Int((seconds * 1000).rounded())
        let inDay = (milliseconds % 86_400_000 + 86_400_000) % 86_400_000
        let days = (milliseconds - inDay) / 86_400_000
        let (year, month, day) = CivilDate.date(days: days)
        let (hour, minute, second) = (inDay / 3_600_000, inDay / 60_000 % 60, inDay / 1000 % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let fraction = inDay % 1000 == 0 ? "" : "." + String(String(inDay % 1000 + 1000).dropFirst())
        return
            "\(String(format: "%04d", year))-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))\(fraction)Z"
    }
}
