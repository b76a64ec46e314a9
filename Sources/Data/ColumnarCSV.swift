import Dispatch
import Foundation
import GitOpsMLCore

/// The fast reader of delimited files without quotes (by far the common case): one pass per chunk of
/// rows, one chunk per core, every field parsed straight into its typed column — numbers into doubles,
/// text into dictionary codes — with no per-field index and no per-row allocation. Types come from the
/// first rows; a column whose later values contradict them is read again as text. Files with quotes
/// (embedded delimiters, newlines) go through `CSVTable`'s RFC 4180 scanner instead.
enum ColumnarCSV {
    enum Kind { case number, timestamp, text }

    /// One chunk's columns, in buffers of exactly the chunk's row capacity (its newlines + 1); the merge
    /// copies them once into the final columns and frees them.
    struct Part: @unchecked Sendable {
        var numbers: [UnsafeMutablePointer<Double>?]
        var codes: [UnsafeMutablePointer<UInt32>?]
        var dictionaries: [[String]]
        var integral: [Bool]
        /// Columns with a value their kind could not read (read again as text).
        var contradicted: Set<Int> = []
        var rows = 0
        /// The line of each row, kept only once a blank line broke the sequence.
        var lines: [Int32]?

        func free() {
            for pointer in numbers { pointer?.deallocate() }
            for pointer in codes { pointer?.deallocate() }
        }

    }

    /// nil when the file has quotes: the caller falls back to `CSVTable`.
    static func read(
        _ bytes: [UInt8], file: String, delimiter: UInt8, options: Dataset.Options
    ) throws -> Dataset? {
        let hasQuotes = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { memchr($0, 0x22, buffer.count) != nil } ?? false
        }
        guard !hasQuotes else { return nil }
        @Sendable func fail(_ message: String, _ line: Int) -> GitOpsMLError {
            .configuration(message, at: SourceLocation(file: file, line: line))
        }
        guard bytes.count < Int(Int32.max) else { throw fail("larger than 2 GiB", 1) }

        // The header, and up to 1,000 rows to decide each column's type.
        var scanner = RecordScanner(bytes: bytes, delimiter: delimiter)
        let names = try CSVTable.header(&scanner, fail)
        let bodyStart = scanner.index
        let firstLine = scanner.line
        var sample = [[String?]](repeating: [], count: names.count)
        while sample[0].count < 1000, let record = try scanner.record(fail) {
            guard record.fields.count == names.count else { continue }  // the full pass reports it
            for (index, field) in record.fields.enumerated() {
                let text = CSVTable.decode(bytes, field)
                sample[index].append(options.nullTokens.contains(text) ? nil : text)
            }
        }
        // A column whose sample is all nulls starts as numbers: any text in it sends it to the slow path.
        let kinds: [Kind] = names.indices.map { index in
            let sampled = sample[index].contains { $0 != nil }
            switch options.types[names[index]] ?? (sampled ? Column.infer(sample[index]) : .float) {
            case .int, .float: return .number
            case .timestamp: return .timestamp
            case .string, .bool: return .text
            }
        }

        // Chunks end at newlines; with no quotes a newline always ends a row.
        let workers = bytes.count < 1 << 20 ? 1 : max(1, ProcessInfo.processInfo.activeProcessorCount)
        var bounds = [bodyStart]
        for worker in 1..<workers {
            var cut = bodyStart + (bytes.count - bodyStart) * worker / workers
            while cut < bytes.count && bytes[cut - 1] != UInt8(ascii: "\n") { cut += 1 }
            if cut > (bounds.last ?? 0) && cut < bytes.count { bounds.append(cut) }
        }
        bounds.append(bytes.count)
        // Per chunk, in parallel: UTF-8 validity (no multi-byte sequence contains a newline, so chunks can
        // be checked apart) and the newlines, which give each chunk's first line.
        let scanBounds = [0] + Array(bounds.dropFirst())
        let scans = Mutex<[Int: (problem: (message: String, offset: Int)?, newlines: Int)]>([:])
        DispatchQueue.concurrentPerform(iterations: scanBounds.count - 1) { chunk in
            let result = bytes.withUnsafeBufferPointer { buffer in
                UTF8Check.scan(buffer, from: scanBounds[chunk], to: scanBounds[chunk + 1])
            }
            scans.withLock { $0[chunk] = result }
        }
        let scanned = scans.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        if let (chunk, bad) = scanned.enumerated().first(where: { $0.element.problem != nil }).map({
            ($0.offset, $0.element)
        }),
            let problem = bad.problem
        {
            let before = scanned[..<chunk].reduce(0) { $0 + $1.newlines }
            let within = bytes[scanBounds[chunk]..<problem.offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw fail(problem.message, 1 + before + within)
        }
        var chunkLines = [firstLine]
        for chunk in 1..<max(1, bounds.count - 1) {
            // Lines before chunk k: those of the scan chunks before it, minus the header's.
            chunkLines.append(1 + scanned[..<chunk].reduce(0) { $0 + $1.newlines })
        }
        // Each chunk's rows are its newlines (plus an unterminated last line): columns are reserved exactly.
        let capacities = (0..<(bounds.count - 1)).map { chunk in
            (chunk == 0 ? scanned[0].newlines - (firstLine - 1) : scanned[chunk].newlines) + 1
        }
        let nullTokens = options.nullTokens
        let results = Mutex<[Int: Result<Part, Error>]>([:])
        let (chunkBounds, startLines) = (bounds, chunkLines)
        DispatchQueue.concurrentPerform(iterations: bounds.count - 1) { chunk in
            let result = Result {
                try parse(
                    bytes, from: chunkBounds[chunk], to: chunkBounds[chunk + 1], line: startLines[chunk],
                    kinds: kinds, delimiter: delimiter, nullTokens: nullTokens, capacity: capacities[chunk], fail: fail)
            }
            results.withLock { $0[chunk] = result }
        }
        let finished = results.withLock { $0 }.sorted { $0.key < $1.key }.map(\.value)
        // Each column's chunk buffers are freed as soon as the column is built; whatever is left on an
        // error is freed here.
        var freed = Set<Int>()
        defer {
            for case .success(let part) in finished {
                for column in part.numbers.indices where !freed.contains(column) {
                    part.numbers[column]?.deallocate()
                    part.codes[column]?.deallocate()
                }
            }
        }
        let parts = try finished.map { try $0.get() }
        let rowCount = parts.reduce(0) { $0 + $1.rows }

        // Row lines: a range, unless a blank line broke it.
        var listed: [Int32]?
        if parts.contains(where: { $0.lines != nil }) {
            var all: [Int32] = []
            all.reserveCapacity(rowCount)
            for (chunk, part) in parts.enumerated() {
                all += part.lines ?? (0..<part.rows).map { Int32(startLines[chunk] + $0) }
            }
            listed = all
        }
        let rowLines = RowLines(count: rowCount, first: firstLine, listed: listed)
        let contradicted = parts.reduce(into: Set<Int>()) { $0.formUnion($1.contradicted) }

        var columns: [Column] = []
        for index in names.indices {
            defer {
                for part in parts {
                    part.numbers[index]?.deallocate()
                    part.codes[index]?.deallocate()
                }
                freed.insert(index)
            }
            let name = names[index]
            if contradicted.contains(index) {
                // Read again as text, then typed by all its values (a later row said it was not a number).
                let texts = try projectedTexts(
                    bytes, column: index, bounds: bounds, delimiter: delimiter, nullTokens: nullTokens)
                columns.append(
                    try Column.build(
                        name: name, values: texts, forced: options.types[name], file: file, lines: rowLines))
                continue
            }
            switch kinds[index] {
            case .number, .timestamp:
                var values: [Double] = []
                values.reserveCapacity(rowCount)
                for part in parts {
                    if let pointer = part.numbers[index] {
                        values += UnsafeBufferPointer(start: pointer, count: part.rows)
                    }
                }
                if kinds[index] == .number, options.types[name] == nil, !values.contains(where: { !$0.isNaN }) {
                    // Nothing but nulls: a text column of nulls, as inference says.
                    columns.append(
                        Column(
                            name: name, type: .string, codes: [UInt32](repeating: Column.nullCode, count: rowCount),
                            dictionary: []))
                    continue
                }
                let type: ColumnType =
                    kinds[index] == .timestamp
                    ? .timestamp
                    : options.types[name] ?? (parts.allSatisfy { $0.integral[index] } ? .int : .float)
                columns.append(Column(name: name, type: type, values: values, strings: []))
            case .text:
                // Merge the chunks' dictionaries into one, recoding the later chunks.
                var dictionary: [String] = []
                var lookup: [String: UInt32] = [:]
                var codes: [UInt32] = []
                codes.reserveCapacity(rowCount)
                for part in parts {
                    let remap = part.dictionaries[index].map { text -> UInt32 in
                        if let code = lookup[text] { return code }
                        let code = UInt32(dictionary.count)
                        lookup[text] = code
                        dictionary.append(text)
                        return code
                    }
                    if let pointer = part.codes[index] {
                        codes += UnsafeBufferPointer(start: pointer, count: part.rows).lazy.map {
                            $0 == Column.nullCode ? $0 : remap[Int($0)]
                        }
                    }
                }
                // The type from every distinct value (inference is "all values are …", so the dictionary decides).
                let type = options.types[name] ?? Column.infer(dictionary)
                if type == .string {
                    columns.append(Column(name: name, type: .string, codes: codes, dictionary: dictionary))
                } else {
                    // bool (or a column that looked like text in its first rows but is not): built from
                    // its rows, so that a value that does not convert is reported at its own line.
                    let texts = codes.map { $0 == Column.nullCode ? nil : dictionary[Int($0)] }
                    columns.append(
                        try Column.build(name: name, values: texts, forced: type, file: file, lines: rowLines))
                }
            }
        }
        return Dataset(file: file, columns: columns, rowLines: rowLines)
    }

    /// One chunk: rows of fields, each parsed by its column's kind straight into the chunk's buffers.
    static func parse(
        _ bytes: [UInt8], from start: Int, to end: Int, line firstLine: Int, kinds: [Kind], delimiter: UInt8,
        nullTokens: Set<String>, capacity: Int, fail: (String, Int) -> GitOpsMLError
    ) throws -> Part {
        let columnCount = kinds.count
        let numbers = kinds.map { $0 == .text ? nil : UnsafeMutablePointer<Double>.allocate(capacity: capacity) }
        let codes = kinds.map { $0 == .text ? UnsafeMutablePointer<UInt32>.allocate(capacity: capacity) : nil }
        var part = Part(
            numbers: numbers, codes: codes, dictionaries: [[String]](repeating: [], count: columnCount),
            integral: [Bool](repeating: true, count: columnCount))
        var lookups = [ByteDictionary](repeating: ByteDictionary(), count: columnCount)
        let nullBytes = nullTokens.map { Array($0.utf8) }
        let longestNull = nullBytes.map(\.count).max() ?? 0
        var integral = part.integral
        var contradicted = Set<Int>()
        do {
            try bytes.withUnsafeBufferPointer { buffer in
                func isNullToken(_ fieldStart: Int, _ fieldEnd: Int) -> Bool {
                    let length = fieldEnd - fieldStart
                    guard length > 0 else { return true }
                    guard length <= longestNull else { return false }
                    return nullBytes.contains { token in
                        token.count == length && token.indices.allSatisfy { buffer[fieldStart + $0] == token[$0] }
                    }
                }
                var index = start
                var line = firstLine
                var row = 0
                while index < end {
                    // A blank line (or a lone CR before LF) is skipped, and from then on lines are listed.
                    if buffer[index] == 0x0A || (buffer[index] == 0x0D && index + 1 < end && buffer[index + 1] == 0x0A)
                    {
                        if part.lines == nil { part.lines = (0..<row).map { Int32(firstLine + $0) } }
                        index += buffer[index] == 0x0D ? 2 : 1
                        line += 1
                        continue
                    }
                    guard row < capacity else { throw fail("internal: more rows than lines", line) }
                    var column = 0
                    while true {
                        let fieldStart = index
                        while index < end {
                            let byte = buffer[index]
                            if byte == delimiter || byte == 0x0A || byte == 0x0D { break }
                            index += 1
                        }
                        let fieldEnd = index
                        guard column < columnCount else {
                            throw fail("expected \(columnCount) fields, found more", line)
                        }
                        switch kinds[column] {
                        case .number:
                            // Numbers first: a null token is never a number ("NaN" and "nan" are refused).
                            let target = numbers[column].unsafelyUnwrapped
                            if let value = DecimalText.parse(buffer, fieldStart, fieldEnd) {
                                target[row] = value
                                if integral[column] && !isInteger(buffer, fieldStart, fieldEnd) {
                                    integral[column] = false
                                }
                            } else {
                                if !isNullToken(fieldStart, fieldEnd) { contradicted.insert(column) }
                                target[row] = .nan
                            }
                        case .timestamp:
                            let target = numbers[column].unsafelyUnwrapped
                            if isNullToken(fieldStart, fieldEnd) {
                                target[row] = .nan
                            } else if let value = Timestamps.parse(
                                String(decoding: buffer[fieldStart..<fieldEnd], as: UTF8.self))
                            {
                                target[row] = value
                            } else {
                                contradicted.insert(column)
                                target[row] = .nan
                            }
                        case .text:
                            let target = codes[column].unsafelyUnwrapped
                            if isNullToken(fieldStart, fieldEnd) {
                                target[row] = Column.nullCode
                            } else {
                                let code = lookups[column].code(buffer, fieldStart, fieldEnd) {
                                    part.dictionaries[column].append(
                                        String(decoding: buffer[fieldStart..<fieldEnd], as: UTF8.self))
                                    return UInt32(part.dictionaries[column].count - 1)
                                }
                                target[row] = code
                            }
                        }
                        column += 1
                        guard index < end, buffer[index] == delimiter else { break }
                        index += 1
                    }
                    guard column == columnCount else {
                        throw fail("expected \(columnCount) fields, found \(column)", line)
                    }
                    // The end of the row: CRLF or LF (or the end of the chunk).
                    if index < end && buffer[index] == 0x0D { index += 1 }
                    if index < end && buffer[index] == 0x0A { index += 1 }
                    part.lines?.append(Int32(line))
                    row += 1
                    line += 1
                }
                part.rows = row
            }
        } catch {
            part.free()
            throw error
        }
        part.integral = integral
        part.contradicted = contradicted
        return part
    }

    /// One column's fields as text, read again from the bytes.
    static func projectedTexts(
        _ bytes: [UInt8], column: Int, bounds: [Int], delimiter: UInt8, nullTokens: Set<String>
    ) throws -> [String?] {
        var texts: [String?] = []
        bytes.withUnsafeBufferPointer { buffer in
            var index = bounds[0]
            let end = bounds[bounds.count - 1]
            while index < end {
                if buffer[index] == 0x0A || (buffer[index] == 0x0D && index + 1 < end && buffer[index + 1] == 0x0A) {
                    index += buffer[index] == 0x0D ? 2 : 1
                    continue
                }
                var current = 0
                while true {
                    let fieldStart = index
                    while index < end, buffer[index] != delimiter, buffer[index] != 0x0A, buffer[index] != 0x0D {
                        index += 1
                    }
                    if current == column {
                        let text = String(decoding: buffer[fieldStart..<index], as: UTF8.self)
                        texts.append(nullTokens.contains(text) ? nil : text)
                    }
                    current += 1
                    guard index < end, buffer[index] == delimiter else { break }
                    index += 1
                }
                if index < end && buffer[index] == 0x0D { index += 1 }
                if index < end && buffer[index] == 0x0A { index += 1 }
            }
        }
        return texts
    }

    /// An optional sign and digits only (what `Int(text)` accepts): such a column is int, else float.
    @inline(__always)
    static func isInteger(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var index = start
        if buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") { index += 1 }
        guard index < end, end - index <= 18 else { return false }
        while index < end {
            guard buffer[index] >= 0x30 && buffer[index] <= 0x39 else { return false }
            index += 1
        }
        return true
    }
}

/// Text → code for one column of one chunk, keyed by the field's bytes (FNV-1a, open addressing), so a
/// value already seen costs a hash and one comparison, and no String.
struct ByteDictionary {
    private var slots = [Int32](repeating: -1, count: 64)
    private var keys: [UInt8] = []
    private var entries: [(offset: Int, length: Int, code: UInt32)] = []

    mutating func code(
        _ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, insert: () -> UInt32
    ) -> UInt32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in start..<end { hash = (hash ^ UInt64(buffer[index])) &* 0x100_0000_01b3 }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        let length = end - start
        while slots[slot] >= 0 {
            let entry = entries[Int(slots[slot])]
            if entry.length == length {
                var equal = true
                for offset in 0..<length where keys[entry.offset + offset] != buffer[start + offset] {
                    equal = false
                    break
                }
                if equal { return entry.code }
            }
            slot = (slot + 1) & mask
        }
        let code = insert()
        slots[slot] = Int32(entries.count)
        entries.append((keys.count, length, code))
        keys.append(contentsOf: buffer[start..<end])
        if entries.count * 2 > slots.count { grow() }
        return code
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for (position, entry) in entries.enumerated() {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for index in entry.offset..<(entry.offset + entry.length) {
                hash = (hash ^ UInt64(keys[index])) &* 0x100_0000_01b3
            }
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(position)
        }
    }
}
