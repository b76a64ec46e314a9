import Dispatch
import Foundation
import GitOpsMLCore
import Statistics
import Synchronization

/// The fast reader of delimited files without quotes (by far the common case): the file streams in blocks
/// of whole lines, the blocks are parsed on every core, each field straight into its typed column —
/// numbers into doubles, text into dictionary codes — with no per-field index and no per-row allocation.
/// Types come from the first rows; a column whose later values contradict them is read again as text.
/// Files with quotes (embedded delimiters, newlines) go through `CSVTable`'s RFC 4180 scanner instead.
enum ColumnarCSV {
    enum Kind { case number, text, skipped }

    /// One block's columns, in buffers of the block's row capacity (its newlines + 1); the merge copies
    /// them once into the final columns and frees them.
    struct Part: @unchecked Sendable {
        var numbers: [UnsafeMutablePointer<Double>?]
        var codes: [UnsafeMutablePointer<UInt32>?]
        var dictionaries: [[String]]
        var integral: [Bool]
        /// Columns with a value their kind could not read (read again as text).
        var contradicted: Set<Int> = []
        var rows = 0
        /// The line of the block's first row.
        var firstLine = 0
        /// The line of each row, kept only once a blank line broke the sequence.
        var lines: [Int32]?
        /// Where the column buffers go back to.
        let pool: BufferPool

        func free() {
            for pointer in numbers { pointer.map { pool.give(UnsafeMutableRawPointer($0)) } }
            for pointer in codes { pointer.map { pool.give(UnsafeMutableRawPointer($0)) } }
        }
    }

    /// Bytes a worker parses at a time (a block is extended to the end of its last line).
    static let blockSize = 1 << 21

    /// Reads the stream `open` returns block by block: this thread reads a block and checks it (UTF-8,
    /// newlines, quotes) while the workers parse the blocks before it, so only the blocks in flight and
    /// the columns are ever in memory. nil when the file has quotes: the caller falls back to `CSVTable`.
    static func read(
        _ open: () throws -> ByteStream, file: String, delimiter: UInt8, options: Dataset.Options,
        blockSize: Int = blockSize
    ) throws -> Dataset? {
        @Sendable func fail(_ message: String, _ line: Int) -> GitOpsMLError {
            .configuration(message, at: SourceLocation(file: file, line: line))
        }
        var blocks = LineBlocks(try open(), size: blockSize)
        func nextBlock(at line: Int) throws -> Block? {
            do { return try blocks.next() } catch is LineBlocks.TooLong { throw fail(LineBlocks.tooLong, line) }
        }
        guard var block = try nextBlock(at: 1) else { throw fail("empty file: no header row", 1) }
        var unparsed: Block? = block
        defer { unparsed?.free() }
        var scan = UTF8Check.scan(block.bytes, from: 0, to: block.count)
        if let problem = scan.problem { throw fail(problem.message, block.line(of: problem.offset, from: 1)) }
        guard !scan.quotes else { return nil }

        // The header, and up to 1,000 rows of the first block to decide each column's type.
        let head = Array(block.bytes)
        var scanner = RecordScanner(bytes: head, delimiter: delimiter)
        let names = try CSVTable.header(&scanner, fail)
        let bodyStart = scanner.index
        let firstLine = scanner.line
        var sample = [[String?]](repeating: [], count: names.count)
        while sample[0].count < 1000, let record = try scanner.record(fail) {
            guard record.fields.count == names.count else { continue }  // the full pass reports it
            for (index, field) in record.fields.enumerated() {
                let text = CSVTable.decode(head, field)
                sample[index].append(options.nullTokens.contains(text) ? nil : text)
            }
        }
        // A column whose sample is all nulls starts as numbers: any text in it sends it to the slow path.
        let kinds: [Kind] = names.indices.map { index in
            if let wanted = options.columns, !wanted.contains(names[index]) { return .skipped }
            let sampled = sample[index].contains { $0 != nil }
            switch options.types[names[index]] ?? (sampled ? Column.infer(sample[index]) : .float) {
            case .int, .float: return .number
            // Timestamps are scanned as text: their written form is kept (pandas' value: a regex or a set
            // judges it) and each distinct one parsed once, when the column's type is inferred.
            case .string, .bool, .timestamp: return .text
            }
        }

        // The columns grow in file order: a block's part is appended and freed once the blocks before it
        // are in, so only the blocks in flight are ever held twice. Reserved from the size and the first
        // block's rows (pages reserved but never written cost no memory).
        let bodyLines = max(1, scan.newlines - (firstLine - 1))
        let estimate = blocks.stream.size.map { size in
            Int(Double(max(0, size - bodyStart)) / Double(max(1, block.count - bodyStart)) * Double(bodyLines) * 1.05)
                + 64
        }
        var columns = Columns(
            kinds: kinds, nullTokens: options.nullTokens, firstLine: firstLine, reserve: estimate ?? 0)
        let results = Locked<[Int: Result<Part, Error>]>([:])
        defer {
            for case .success(let part) in results.withLock({ $0 }).values { part.free() }
        }
        let group = DispatchGroup()
        defer { group.wait() }
        let pool = BufferPool()
        var appended = 0
        /// Appends the finished parts that come next in file order; throws the first error in that order.
        func appendFinished() throws {
            while let result = results.withLock({ $0.removeValue(forKey: appended) }) {
                columns.append(try result.get())
                appended += 1
            }
        }
        // At most one block read ahead per worker, plus the one being read.
        let slots = DispatchSemaphore(value: ProcessInfo.processInfo.activeProcessorCount + 1)
        let nullTokens = options.nullTokens
        var (index, from, startLine, lineAtBlock) = (0, bodyStart, firstLine, 1)
        while true {
            // Each block's rows are at most its newlines (plus an unterminated last line).
            let (task, taskIndex, taskFrom, taskLine, capacity) = (block, index, from, startLine, scan.newlines + 1)
            unparsed = nil
            slots.wait()
            DispatchQueue.global().async(group: group) {
                let result = Result {
                    try parse(
                        task.bytes, from: taskFrom, line: taskLine, kinds: kinds, delimiter: delimiter,
                        nullTokens: nullTokens, capacity: capacity, pool: pool, fail: fail)
                }
                task.free()
                results.withLock { $0[taskIndex] = result }
                slots.signal()
            }
            lineAtBlock += scan.newlines
            index += 1
            try appendFinished()
            // A block that failed to parse ends the reading (the first error in file order is reported).
            if results.withLock({ $0.values.contains { if case .failure = $0 { true } else { false } } }) { break }
            // The workers still run: an error here is recorded in file order like theirs, not thrown past them.
            let following: Block?
            do {
                following = try nextBlock(at: lineAtBlock)
            } catch {
                results.withLock { $0[index] = .failure(error) }
                break
            }
            guard let next = following else { break }
            (block, unparsed) = (next, next)
            scan = UTF8Check.scan(block.bytes, from: 0, to: block.count)
            if let problem = scan.problem {
                let error = fail(problem.message, block.line(of: problem.offset, from: lineAtBlock))
                results.withLock { $0[index] = .failure(error) }
                break
            }
            guard !scan.quotes else { return nil }
            (from, startLine) = (0, lineAtBlock)
        }
        group.wait()
        try appendFinished()
        let rowLines = RowLines(count: columns.rows, first: firstLine, listed: columns.lines)
        var built: [Column] = []
        for index in names.indices where kinds[index] != .skipped {
            let name = names[index]
            if columns.contradicted.contains(index) {
                // Read again as text, then typed by all its values (a later row said it was not a number).
                let texts = try projectedTexts(
                    open, column: index, bodyStart: bodyStart, delimiter: delimiter, nullTokens: nullTokens,
                    blockSize: blockSize)
                built.append(
                    try Column.build(
                        name: name, values: texts, forced: options.types[name], file: file, lines: rowLines))
                continue
            }
            let forced = options.types[name]
            switch kinds[index] {
            case .number:
                let values = columns.numbers[index]
                columns.numbers[index] = []
                if forced == nil, !values.contains(where: { !$0.isNaN }) {
                    // Nothing but nulls: a text column of nulls, as inference says.
                    built.append(
                        Column(
                            name: name, type: .string,
                            codes: [UInt32](repeating: Column.nullCode, count: columns.rows), dictionary: []))
                    continue
                }
                let type: ColumnType = forced ?? (columns.integral[index] ? .int : .float)
                built.append(Column(name: name, type: type, values: values, strings: []))
            case .skipped: continue
            case .text:
                let (codes, dictionary) = (columns.codes[index], columns.dictionaries[index])
                columns.codes[index] = []
                // The type from every distinct value (inference is "all values are …", so the dictionary
                // decides); a timestamp's instants are parsed once, by the inference.
                let (type, instants) =
                    forced.map { ($0, $0 == .timestamp ? Timestamps.parseAll(dictionary) : nil) }
                    ?? Column.inferWithInstants(dictionary)
                if type == .string {
                    built.append(Column(name: name, type: .string, codes: codes, dictionary: dictionary))
                } else if type == .timestamp, let instants {
                    let values = codes.map { $0 == Column.nullCode ? .nan : instants[Int($0)] }
                    built.append(
                        Column(name: name, type: .timestamp, codes: codes, dictionary: dictionary, values: values))
                } else {
                    // bool (or a column that looked like text in its first rows but is not): built from
                    // its rows, so that a value that does not convert is reported at its own line.
                    let texts = codes.map { $0 == Column.nullCode ? nil : dictionary[Int($0)] }
                    built.append(try Column.build(name: name, values: texts, forced: type, file: file, lines: rowLines))
                }
            }
        }
        return Dataset(file: file, columns: built, rowLines: rowLines, columnNames: names)
    }

    /// The columns as they grow, block after block.
    struct Columns {
        let kinds: [Kind]
        let nullTokens: Set<String>
        let longestNull: Int
        var numbers: [[Double]]
        var codes: [[UInt32]]
        var dictionaries: [[String]]
        /// The merged dictionary's codes by bytes (code-point equality, as pandas compares).
        var lookups: [ByteDictionary]
        var integral: [Bool]
        var contradicted: Set<Int> = []
        var rows = 0
        let firstLine: Int
        /// Each row's line, once a blank line broke the sequence.
        var lines: [Int32]?

        init(kinds: [Kind], nullTokens: Set<String>, firstLine: Int, reserve: Int) {
            self.kinds = kinds
            self.nullTokens = nullTokens
            longestNull = nullTokens.map(\.utf8.count).max() ?? 0
            self.firstLine = firstLine
            numbers = kinds.map {
                $0 == .number ? HugePages.reserved(reserve, of: Double.self) : []
            }
            codes = kinds.map { $0 == .text ? HugePages.reserved(reserve, of: UInt32.self) : [] }
            dictionaries = Array(repeating: [], count: kinds.count)
            lookups = Array(repeating: ByteDictionary(), count: kinds.count)
            integral = Array(repeating: true, count: kinds.count)
        }

        /// Copies a block's part in (text recoded into the merged dictionary, null tokens to nulls) and frees it.
        mutating func append(_ part: Part) {
            defer { part.free() }
            if lines == nil && (part.lines != nil || part.firstLine != firstLine + rows) {
                lines = (0..<rows).map { Int32(firstLine + $0) }
            }
            lines? += part.lines ?? (0..<part.rows).map { Int32(part.firstLine + $0) }
            rows += part.rows
            contradicted.formUnion(part.contradicted)
            for column in kinds.indices where !contradicted.contains(column) {
                if let pointer = part.numbers[column] {
                    numbers[column] += UnsafeBufferPointer(start: pointer, count: part.rows)
                    integral[column] = integral[column] && part.integral[column]
                }
                if let pointer = part.codes[column] {
                    let remap = part.dictionaries[column].map { text -> UInt32 in
                        // (A null token is short: a longer text is not looked up as one.)
                        if text.utf8.count <= longestNull, nullTokens.contains(text) { return Column.nullCode }
                        var bytesOf = text
                        return bytesOf.withUTF8 { bytes in
                            lookups[column].code(
                                bytes, 0, bytes.count, hash: bytes.reduce(ByteDictionary.seed, ByteDictionary.mix)
                            ) {
                                dictionaries[column].append(text)
                                return UInt32(dictionaries[column].count - 1)
                            }
                        }
                    }
                    codes[column] += UnsafeBufferPointer(start: pointer, count: part.rows).lazy.map { remap[Int($0)] }
                }
            }
        }
    }

    /// One block: rows of fields, each parsed by its column's kind straight into the block's buffers.
    /// Numbers are read as the field is scanned (sign, digits, one point); anything else — exponents,
    /// long mantissas, null tokens, text — goes the general way once the field's end is found.
    static func parse(
        _ buffer: UnsafeBufferPointer<UInt8>, from start: Int, line firstLine: Int, kinds: [Kind], delimiter: UInt8,
        nullTokens: Set<String>, capacity: Int, pool: BufferPool, fail: (String, Int) -> GitOpsMLError
    ) throws -> Part {
        let end = buffer.count
        let columnCount = kinds.count
        let numbers = kinds.map { $0 == .number ? pool.take(capacity, of: Double.self) : nil }
        let codes = kinds.map { $0 == .text ? pool.take(capacity, of: UInt32.self) : nil }
        var part = Part(
            numbers: numbers, codes: codes, dictionaries: [[String]](repeating: [], count: columnCount),
            integral: [Bool](repeating: true, count: columnCount), firstLine: firstLine, pool: pool)
        var lookups = [ByteDictionary](repeating: ByteDictionary(), count: columnCount)
        let nullBytes = nullTokens.map { Array($0.utf8) }
        let longestNull = nullBytes.map(\.count).max() ?? 0
        var contradicted = Set<Int>()
        let powers = DecimalText.powersOfTen
        let tens = DecimalText.integerPowersOfTen
        func isNullToken(_ fieldStart: Int, _ fieldEnd: Int) -> Bool {
            let length = fieldEnd - fieldStart
            guard length > 0 else { return true }
            guard length <= longestNull else { return false }
            return nullBytes.contains { token in
                token.count == length && token.indices.allSatisfy { buffer[fieldStart + $0] == token[$0] }
            }
        }
        @inline(__always) func endsField(_ byte: UInt8) -> Bool { byte == delimiter || byte == 0x0A || byte == 0x0D }
        // The per-column tables of the inner loop as plain pointers (no bounds checks, no copy-on-write).
        let kindOf = UnsafeMutableBufferPointer<Kind>.allocate(capacity: columnCount)
        let numberTargets = UnsafeMutableBufferPointer<UnsafeMutablePointer<Double>?>.allocate(capacity: columnCount)
        let codeTargets = UnsafeMutableBufferPointer<UnsafeMutablePointer<UInt32>?>.allocate(capacity: columnCount)
        let integralOf = UnsafeMutableBufferPointer<Bool>.allocate(capacity: columnCount)
        integralOf.initialize(repeating: true)
        _ = (
            kindOf.initialize(from: kinds), numberTargets.initialize(from: numbers), codeTargets.initialize(from: codes)
        )
        defer {
            kindOf.deallocate()
            numberTargets.deallocate()
            codeTargets.deallocate()
            integralOf.deallocate()
        }
        do {
            var index = start
            var line = firstLine
            var row = 0
            while index < end {
                // A blank line (or a lone CR before LF) is skipped, and from then on lines are listed.
                if buffer[index] == 0x0A || (buffer[index] == 0x0D && index + 1 < end && buffer[index + 1] == 0x0A) {
                    if part.lines == nil { part.lines = (0..<row).map { Int32(firstLine + $0) } }
                    index += buffer[index] == 0x0D ? 2 : 1
                    line += 1
                    continue
                }
                guard row < capacity else { throw fail("internal: more rows than lines", line) }
                var column = 0
                while true {
                    guard column < columnCount else { throw fail("expected \(columnCount) fields, found more", line) }
                    let fieldStart = index
                    switch kindOf[column] {
                    case .number:
                        // Numbers first: a null token is never a number ("NaN" and "nan" are refused;
                        // "inf" is a number, as it is to pandas).
                        let target = numberTargets[column].unsafelyUnwrapped
                        var cursor = index
                        var negative = false
                        if cursor < end && (buffer[cursor] == 0x2D || buffer[cursor] == 0x2B) {
                            negative = buffer[cursor] == 0x2D
                            cursor += 1
                        }
                        let scanned = DecimalText.digits(buffer, from: cursor, tens: tens)
                        cursor = scanned.end
                        if cursor == end || endsField(buffer[cursor]),
                            let value = DecimalText.value(scanned, powers: powers)
                        {
                            target[row] = negative ? -value : value
                            if scanned.point >= 0 || scanned.digits > 18 { integralOf[column] = false }
                            index = cursor
                        } else {
                            index = cursor
                            while index < end && !endsField(buffer[index]) { index += 1 }
                            if let value = DecimalText.parse(buffer, fieldStart, index) {
                                target[row] = value
                                if integralOf[column] && !isInteger(buffer, fieldStart, index) {
                                    integralOf[column] = false
                                }
                            } else if let infinity = PandasText.infinity(buffer, fieldStart, index) {
                                target[row] = infinity
                                integralOf[column] = false
                            } else {
                                if !isNullToken(fieldStart, index) { contradicted.insert(column) }
                                target[row] = .nan
                            }
                        }
                    case .text:
                        var hash = ByteDictionary.seed
                        while index < end {
                            let byte = buffer[index]
                            if endsField(byte) { break }
                            hash = ByteDictionary.mix(hash, byte)
                            index += 1
                        }
                        // Null tokens are told apart once per distinct text, when the blocks are merged.
                        let fieldEnd = index
                        codeTargets[column].unsafelyUnwrapped[row] = lookups[column].code(
                            buffer, fieldStart, fieldEnd, hash: hash
                        ) {
                            part.dictionaries[column].append(
                                String(decoding: buffer[fieldStart..<fieldEnd], as: UTF8.self))
                            return UInt32(part.dictionaries[column].count - 1)
                        }
                    case .skipped:
                        while index < end && !endsField(buffer[index]) { index += 1 }
                    }
                    column += 1
                    guard index < end, buffer[index] == delimiter else { break }
                    index += 1
                }
                guard column == columnCount else { throw fail("expected \(columnCount) fields, found \(column)", line) }
                // The end of the row: CRLF or LF (or the end of the block).
                if index < end && buffer[index] == 0x0D { index += 1 }
                if index < end && buffer[index] == 0x0A { index += 1 }
                part.lines?.append(Int32(line))
                row += 1
                line += 1
            }
            part.rows = row
        } catch {
            part.free()
            throw error
        }
        part.integral = Array(integralOf)
        part.contradicted = contradicted
        return part
    }

    /// One column's fields as text, read again from the start of the stream.
    static func projectedTexts(
        _ open: () throws -> ByteStream, column: Int, bodyStart: Int, delimiter: UInt8, nullTokens: Set<String>,
        blockSize: Int
    ) throws -> [String?] {
        var texts: [String?] = []
        var blocks = LineBlocks(try open(), size: blockSize)
        var index = bodyStart
        while let block = try blocks.next() {
            defer { block.free() }
            let buffer = block.bytes
            let end = block.count
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
            index = 0
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

/// Text → code for one column of one block, keyed by the field's bytes (FNV-1a, open addressing), so a
/// value already seen costs a hash and one comparison, and no String.
struct ByteDictionary {
    private var slots = [Int32](repeating: -1, count: 64)
    private var keys: [UInt8] = []
    private var entries: [(offset: Int, length: Int, code: UInt32)] = []

    static let seed: UInt64 = 0xcbf2_9ce4_8422_2325
    @inline(__always) static func mix(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x100_0000_01b3
    }

    /// The code of `buffer[start..<end]`, whose FNV-1a hash is `hash`; `insert` makes a new one.
    mutating func code(
        _ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, hash: UInt64, insert: () -> UInt32
    ) -> UInt32 {
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
            let hash = keys[entry.offset..<(entry.offset + entry.length)].reduce(Self.seed, Self.mix)
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(position)
        }
    }
}

/// A block of whole lines, handed back to its pool once parsed.
struct Block: @unchecked Sendable {
    let storage: UnsafeMutableBufferPointer<UInt8>
    /// The bytes of whole lines (the last block may end without a newline).
    let count: Int
    let pool: BufferPool

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: storage[..<count]) }
    func free() { storage.baseAddress.map { pool.give(UnsafeMutableRawPointer($0)) } }

    /// The line of byte `offset`, the block starting on line `first`.
    func line(of offset: Int, from first: Int) -> Int {
        first + storage[..<offset].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }
}

/// Buffers used again rather than allocated for each block: fresh memory costs a page fault per 4 KiB,
/// about as much as reading the bytes into it. Sizes are rounded up to 64 KiB so that blocks of nearly
/// the same size share buffers.
final class BufferPool: @unchecked Sendable {
    private let free = Locked<[(pointer: UnsafeMutableRawPointer, bytes: Int)]>([])
    private let sizes = Locked<[UnsafeMutableRawPointer: Int]>([:])

    func take<T>(_ count: Int, of type: T.Type) -> UnsafeMutablePointer<T> {
        let wanted = (count * MemoryLayout<T>.stride + 0xFFFF) & ~0xFFFF
        let reused = free.withLock { buffers -> UnsafeMutableRawPointer? in
            buffers.firstIndex { $0.bytes >= wanted }.map { buffers.remove(at: $0).pointer }
        }
        let raw =
            reused
            ?? {
                let fresh = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 16)
                sizes.withLock { $0[fresh] = wanted }
                return fresh
            }()
        return raw.bindMemory(to: T.self, capacity: count)
    }

    /// A byte buffer of at least `count` bytes, all of it usable.
    func block(_ count: Int) -> UnsafeMutableBufferPointer<UInt8> {
        let raw = UnsafeMutableRawPointer(take(count, of: UInt8.self))
        let full = capacity(raw)
        return UnsafeMutableBufferPointer(start: raw.bindMemory(to: UInt8.self, capacity: full), count: full)
    }

    /// The whole capacity of a buffer from `take`.
    func capacity(_ pointer: UnsafeMutableRawPointer) -> Int { sizes.withLock { $0[pointer] ?? 0 } }

    func give(_ pointer: UnsafeMutableRawPointer) {
        let bytes = capacity(pointer)
        free.withLock { $0.append((pointer, bytes)) }
    }

    deinit { sizes.withLock { $0.keys.forEach { $0.deallocate() } } }
}

/// Cuts a stream into blocks of about `size` bytes that end at a newline; a line longer than a block
/// makes its block grow to hold it, up to `maximumLineBytes`.
struct LineBlocks {
    /// The longest line (record) read: a documented bound (docs/data.md), refused with exit 2 at its line.
    /// A 64 MiB field took 23 s and 560 MB and a 1 GiB one did not finish in 180 s; records of real data
    /// sets (a text, an embedding as JSON) stay far below it.
    static let maximumLineBytes = 16 << 20
    static let tooLong = "a line of over 16 MiB: gitops-ml reads lines (records) of at most 16 MiB"
    struct TooLong: Error {}

    let stream: ByteStream
    let size: Int
    private let pool = BufferPool()
    private var carry: [UInt8] = []
    private var ended = false

    init(_ stream: ByteStream, size: Int) {
        self.stream = stream
        self.size = size
    }

    mutating func next() throws -> Block? {
        guard !ended || !carry.isEmpty else { return nil }
        // One standard size (room for the carried line) so that buffers can be used again.
        var capacity = max(carry.count + size, size + size / 8)
        var storage = pool.block(capacity)
        capacity = storage.count
        do {
            var count = carry.withUnsafeBufferPointer {
                UnsafeMutableBufferPointer(rebasing: storage[...]).initialize(fromContentsOf: $0)
            }
            carry = []
            var searched = 0
            while true {
                if !ended {
                    let got = try stream.fill(
                        UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: storage[count...])))
                    count += got
                    if count < capacity { ended = true }
                }
                var last = count - 1
                while last >= searched && storage[last] != 0x0A { last -= 1 }
                if last >= searched {
                    // A block that grew starts with the long line: it ends at the first newline after `searched`.
                    if searched > 0 {
                        var first = searched
                        while storage[first] != 0x0A { first += 1 }
                        guard first <= LineBlocks.maximumLineBytes else { throw TooLong() }
                    }
                    carry = Array(storage[(last + 1)..<count])
                    return Block(storage: storage, count: last + 1, pool: pool)
                }
                if ended {
                    guard count > 0 else {
                        Block(storage: storage, count: 0, pool: pool).free()
                        return nil
                    }
                    guard searched == 0 || count <= LineBlocks.maximumLineBytes else { throw TooLong() }
                    return Block(storage: storage, count: count, pool: pool)
                }
                // No newline yet: a long line; double the block.
                guard count <= LineBlocks.maximumLineBytes else { throw TooLong() }
                searched = count
                capacity *= 2
                let bigger = pool.block(capacity)
                _ = bigger.initialize(fromContentsOf: storage[..<count])
                Block(storage: storage, count: 0, pool: pool).free()
                (storage, capacity) = (bigger, bigger.count)
            }
        } catch {
            Block(storage: storage, count: 0, pool: pool).free()
            throw error
        }
    }
}
