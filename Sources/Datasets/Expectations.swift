import Config
import Foundation
import GitOpsMLCore
import Statistics

/// The outcome of one expectation on one dataset.
public struct ExpectationResult: Sendable {
    public var type: String
    public var column: String?
    public var success: Bool
    public var message: String
    public var observed: StructuredValue
    public var expected: StructuredValue
    /// File lines of a few failing rows.
    public var failingLines: [Int]
    public var location: SourceLocation
}

/// Great Expectations' vocabulary (with or without the `expect_` prefix), evaluated on typed columns.
/// Column-map expectations ignore nulls and pass when at least `mostly` of the non-null values comply.
public enum Expectations {
    /// For a column of whole numbers spanning at most 2²⁶ values: which rows hold a value that occurs more
    /// than once, by counting into a byte per possible value (linear, no sort); empty when none repeats.
    /// nil for other columns.
    static func repeatedIntegers(_ values: [Double]) -> [Bool]? {
        var low = Double.infinity
        var high = -Double.infinity
        for value in values where !value.isNaN {
            guard value.rounded() == value else { return nil }
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        guard low <= high, high - low < Double(1 << 26) else { return nil }
        var counts = [UInt8](repeating: 0, count: Int(high - low) + 1)
        var repeats = false
        for value in values where !value.isNaN {
            let slot = Int(value - low)
            if counts[slot] < 2 { counts[slot] += 1 }
            if counts[slot] == 2 { repeats = true }
        }
        guard repeats else { return [] }
        return values.map { $0.isNaN ? false : counts[Int($0 - low)] > 1 }
    }

    /// The columns whose values these expectations read (names alone are not values: the table-shape
    /// expectations need none), so that only these are read from the file.
    public static func columnsRead(by expectations: [DataPolicy.Expectation]) -> Set<String> {
        var names = Set(expectations.compactMap(\.column))
        for expectation in expectations where canonical(expectation.type) == "compound_columns_to_be_unique" {
            if case .array(let items)? = expectation.arguments.first(where: { $0.key == "column_list" })?.value {
                for case .string(let name) in items { names.insert(name) }
            }
        }
        return names
    }

    /// The arguments each expectation takes (besides `column` and `mostly`).
    static let catalogue: [String: (needsColumn: Bool, arguments: Set<String>)] = [
        "table_columns_to_match_set": (false, ["column_set", "exact_match"]),
        "table_columns_to_match_ordered_list": (false, ["column_list"]),
        "column_to_exist": (true, []),
        "column_values_to_be_of_type": (true, ["type_"]),
        "column_values_to_not_be_null": (true, []),
        "column_values_to_be_null": (true, []),
        "column_values_to_be_unique": (true, []),
        "compound_columns_to_be_unique": (false, ["column_list"]),
        "column_values_to_be_between": (true, ["min_value", "max_value", "strict_min", "strict_max"]),
        "column_values_to_be_in_set": (true, ["value_set"]),
        "column_values_to_match_regex": (true, ["regex"]),
        "column_value_lengths_to_be_between": (true, ["min_value", "max_value"]),
        "table_row_count_to_be_between": (false, ["min_value", "max_value"]),
        "column_mean_to_be_between": (true, ["min_value", "max_value"]),
        "column_stdev_to_be_between": (true, ["min_value", "max_value"]),
        "column_min_to_be_between": (true, ["min_value", "max_value"]),
        "column_max_to_be_between": (true, ["min_value", "max_value"]),
        "column_median_to_be_between": (true, ["min_value", "max_value"]),
        "column_quantile_values_to_be_between": (true, ["quantile_ranges"]),
        "column_proportion_of_non_null_values_to_be_between": (true, ["min_value", "max_value"]),
        "column_values_to_be_fresh": (true, ["max_age_seconds", "max_age_days", "now"]),
    ]

    /// Checks the expectation's name and arguments: unknown ones are configuration errors at their line.
    public static func validate(_ expectation: DataPolicy.Expectation) throws {
        let name = canonical(expectation.type)
        guard let entry = catalogue[name] else {
            throw GitOpsMLError.configuration(
                "unknown expectation \"\(expectation.type)\" (known: \(catalogue.keys.sorted().joined(separator: ", ")))",
                at: expectation.location)
        }
        if entry.needsColumn && expectation.column == nil {
            throw GitOpsMLError.configuration("\(expectation.type) needs a column", at: expectation.location)
        }
        for argument in expectation.arguments where !entry.arguments.contains(argument.key) {
            throw GitOpsMLError.configuration(
                "\(expectation.type): unknown argument \"\(argument.key)\" (expected: \(entry.arguments.sorted().joined(separator: ", ")))",
                at: expectation.location)
        }
        // NaN compares false with everything and an infinite bound is none: either would pass every row, so
        // `validate` refuses them where the policy is read (`.nan`, `.inf`, `1e999`).
        func finite(_ value: StructuredValue) -> Bool {
            switch value {
            case .double(let number): return number.isFinite
            case .array(let items): return items.allSatisfy(finite)
            case .object(let pairs): return pairs.allSatisfy { finite($0.value) }
            default: return true
            }
        }
        for argument in expectation.arguments where !finite(argument.value) {
            throw GitOpsMLError.configuration(
                "\(expectation.type): \(argument.key) must be a finite number", at: expectation.location)
        }
    }

    public static func canonical(_ name: String) -> String {
        name.hasPrefix("expect_") ? String(name.dropFirst(7)) : name
    }

    public static func evaluate(_ expectation: DataPolicy.Expectation, on data: Dataset, now: Date = Date()) throws
        -> ExpectationResult
    {
        try validate(expectation)
        let name = canonical(expectation.type)
        let arguments = Arguments(pairs: expectation.arguments, location: expectation.location, name: expectation.type)
        var result = ExpectationResult(
            type: "expect_" + name, column: expectation.column, success: true, message: "", observed: .null,
            expected: .null,
            failingLines: [], location: expectation.location)
        func finish(
            _ success: Bool, _ message: String, observed: StructuredValue, expected: StructuredValue, lines: [Int] = []
        ) -> ExpectationResult {
            result.success = success
            result.message = message
            result.observed = observed
            result.expected = expected
            result.failingLines = Array(lines.prefix(5))
            return result
        }
        let mostly = expectation.mostly ?? 1

        // Table-level expectations.
        switch name {
        case "table_columns_to_match_set":
            let wanted = try arguments.strings("column_set")
            let exact = try arguments.bool("exact_match") ?? true
            let missing = wanted.filter { !data.columnNames.contains($0) }
            let extra = data.columnNames.filter { !wanted.contains($0) }
            let ok = missing.isEmpty && (!exact || extra.isEmpty)
            return finish(
                ok, ok ? "columns match" : "missing \(missing), unexpected \(exact ? extra : [])",
                observed: .array(data.columnNames.map(StructuredValue.string)),
                expected: .array(wanted.map(StructuredValue.string)))
        case "table_columns_to_match_ordered_list":
            let wanted = try arguments.strings("column_list")
            let ok = wanted == data.columnNames
            return finish(
                ok, ok ? "columns are in order" : "columns are \(data.columnNames), expected \(wanted)",
                observed: .array(data.columnNames.map(StructuredValue.string)),
                expected: .array(wanted.map(StructuredValue.string)))
        case "table_row_count_to_be_between":
            let (low, high) = (try arguments.double("min_value"), try arguments.double("max_value"))
            let ok = within(Double(data.rowCount), low, high)
            return finish(
                ok, "\(data.rowCount) rows\(ok ? "" : ", expected \(range(low, high))")", observed: .int(data.rowCount),
                expected: rangeValue(low, high))
        case "compound_columns_to_be_unique":
            let names = try arguments.strings("column_list")
            let columns = try names.map { try Expectations.column($0, in: data, expectation.location) }
            // Great Expectations' count: every row whose combination occurs more than once (pandas'
            // `duplicated(keep=False)`), nulls equal to nulls, rows null in every column left out.
            // Keys from the codes and number bits: no String a row.
            func key(_ row: Int) -> [UInt64]? {
                let parts = columns.map { column -> UInt64? in
                    if column.isText {
                        let code = column.codes[row]
                        return code == Column.nullCode ? nil : UInt64(code)
                    }
                    let value = column.values[row]
                    return value.isNaN ? nil : (value == 0 ? 0 : value.bitPattern)
                }
                guard parts.contains(where: { $0 != nil }) else { return nil }
                return parts.flatMap { [$0 == nil ? 1 : 0, $0 ?? 0] }
            }
            let keys = (0..<data.rowCount).map(key)
            var occurrences: [[UInt64]: Int] = [:]
            for case let key? in keys { occurrences[key, default: 0] += 1 }
            let total = keys.lazy.filter { $0 != nil }.count
            let lines = keys.indices.filter { keys[$0].map { (occurrences[$0] ?? 0) > 1 } ?? false }
                .map { data.rowLines[$0] }
            let share = total == 0 ? 1 : Double(total - lines.count) / Double(total)
            let ok = share >= mostly
            return finish(
                ok,
                lines.isEmpty
                    ? "\(names.joined(separator: ", ")) are unique together"
                    : "\(lines.count) of \(total) rows repeat a combination of \(names.joined(separator: ", "))",
                observed: .object([
                    ("unexpected_count", .int(lines.count)), ("element_count", .int(total)),
                    ("compliant_share", .double(share)),
                ]), expected: .object([("mostly", .double(mostly))]), lines: lines)
        default: break
        }

        guard let columnName = expectation.column else {
            return finish(false, "no column", observed: .null, expected: .null)
        }
        if name == "column_to_exist" {
            let ok = data.columnNames.contains(columnName)
            return finish(
                ok, ok ? "column \(columnName) exists" : "no column \(columnName)", observed: .bool(ok),
                expected: .bool(true))
        }
        let column = try Expectations.column(columnName, in: data, expectation.location)

        // Column-map expectations: a verdict per row.
        @inline(__always) func map(_ description: String, _ test: (Int) -> Bool?) -> ExpectationResult {
            var total = 0
            var failed: [Int] = []
            for row in 0..<data.rowCount {
                guard let ok = test(row) else { continue }  // nil: a null, ignored
                total += 1
                if !ok { failed.append(data.rowLines[row]) }
            }
            return judged(description, total: total, failed: failed)
        }
        /// The verdict of a column-map expectation from its non-null rows and the lines of those that failed.
        func judged(_ description: String, total: Int, failed: [Int]) -> ExpectationResult {
            let share = total == 0 ? 1 : Double(total - failed.count) / Double(total)
            let ok = share >= mostly
            let text =
                "\(columnName): \(failed.count) of \(total) values \(description)"
                + (expectation.mostly != nil
                    ? " (\(String(format: "%.2f", share * 100))% comply, mostly \(mostly))" : "")
            return finish(
                ok, text,
                observed: .object([
                    ("unexpected_count", .int(failed.count)), ("element_count", .int(total)),
                    ("compliant_share", .double(share)),
                ]), expected: .object([("mostly", .double(mostly))]), lines: failed)
        }
        let values = column.values
        // Text forms are built only for expectations that compare text.
        let textual: Set<String> = [
            "column_values_to_match_regex", "column_value_lengths_to_be_between",
        ]
        // Text columns are judged once per distinct value (their dictionary), then row by row by code.
        let texts = textual.contains(name) && !column.isText ? column.texts : []
        func mapText(_ description: String, _ test: (String) -> Bool) -> ExpectationResult {
            guard column.isText else { return map(description) { row in texts[row].map(test) } }
            let verdicts = column.dictionary.map(test)
            let codes = column.codes
            return map(description) { row in
                let code = codes[row]
                return code == Column.nullCode ? nil : verdicts[Int(code)]
            }
        }
        switch name {
        case "column_values_to_be_of_type":
            let wanted = try arguments.string("type_") ?? ""
            let aliases: [String: ColumnType] = [
                "int": .int, "int64": .int, "integer": .int, "INTEGER": .int, "float": .float, "float64": .float,
                "double": .float, "FLOAT": .float, "str": .string, "string": .string, "object": .string, "bool": .bool,
                "boolean": .bool, "datetime": .timestamp, "timestamp": .timestamp, "datetime64": .timestamp,
            ]
            guard let type = aliases[wanted] else {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): unknown type \"\(wanted)\"", at: expectation.location)
            }
            let ok = column.type == type || (type == .float && column.type == .int)
            return finish(
                ok, "\(columnName) is \(column.type.rawValue)\(ok ? "" : ", expected \(type.rawValue)")",
                observed: .string(column.type.rawValue), expected: .string(type.rawValue))
        case "column_values_to_not_be_null":
            var nulls: [Int] = []
            for row in 0..<data.rowCount where column.isNull(row) { nulls.append(data.rowLines[row]) }
            let share = data.rowCount == 0 ? 1 : Double(data.rowCount - nulls.count) / Double(data.rowCount)
            let ok = share >= mostly
            return finish(
                ok, "\(columnName): \(nulls.count) nulls in \(data.rowCount) rows",
                observed: .object([("null_count", .int(nulls.count)), ("non_null_share", .double(share))]),
                expected: .object([("mostly", .double(mostly))]), lines: nulls)
        case "column_values_to_be_null":
            var present: [Int] = []
            for row in 0..<data.rowCount where !column.isNull(row) { present.append(data.rowLines[row]) }
            let share = data.rowCount == 0 ? 1 : Double(data.rowCount - present.count) / Double(data.rowCount)
            return finish(
                share >= mostly, "\(columnName): \(present.count) values that are not null",
                observed: .int(present.count), expected: .int(0), lines: present)
        case "column_proportion_of_non_null_values_to_be_between":
            let share = data.rowCount == 0 ? 0 : Double(data.rowCount - column.nullCount) / Double(data.rowCount)
            let (low, high) = (try arguments.double("min_value"), try arguments.double("max_value"))
            let ok = within(share, low, high)
            return finish(
                ok, "\(columnName): \(String(format: "%.4g", share)) of values are not null", observed: .double(share),
                expected: rangeValue(low, high))
        case "column_values_to_be_unique":
            if !column.isText, let repeated = Self.repeatedIntegers(values) {
                guard !repeated.isEmpty else {
                    return judged("are duplicates", total: column.count - column.nullCount, failed: [])
                }
                return map("are duplicates") { row in values[row].isNaN ? nil : !repeated[row] }
            }
            if !column.isText {
                // Numbers: sort once and mark the values that repeat.
                let present = values.indices.filter { !values[$0].isNaN }
                let order = RadixSort.sortedIndices(present.map { values[$0] }).map { present[$0] }
                var repeated = Set<Int>()
                for (a, b) in zip(order, order.dropFirst()) where values[a] == values[b] {
                    repeated.insert(a)
                    repeated.insert(b)
                }
                return map("are duplicates") { row in values[row].isNaN ? nil : !repeated.contains(row) }
            }
            var tally = [Int](repeating: 0, count: column.dictionary.count)
            for code in column.codes where code != Column.nullCode { tally[Int(code)] += 1 }
            return map("are duplicates") { row in
                let code = column.codes[row]
                return code == Column.nullCode ? nil : tally[Int(code)] == 1
            }
        case "column_values_to_be_between":
            let (low, high) = (try arguments.double("min_value"), try arguments.double("max_value"))
            let strictMin = try arguments.bool("strict_min") ?? false
            let strictMax = try arguments.bool("strict_max") ?? false
            guard column.type.isNumeric || column.type == .timestamp else {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): column \(columnName) is \(column.type.rawValue), not numeric",
                    at: expectation.location)
            }
            // One tight loop over the numbers (the same verdicts as a map, without a call a row).
            let (lowest, highest) = (low ?? -.infinity, high ?? .infinity)
            var (total, failed) = (0, [Int]())
            values.withUnsafeBufferPointer { buffer in
                for row in buffer.indices where !buffer[row].isNaN {
                    let value = buffer[row]
                    total += 1
                    if (strictMin ? value <= lowest : value < lowest)
                        || (strictMax ? value >= highest : value > highest)
                    {
                        failed.append(data.rowLines[row])
                    }
                }
            }
            return judged("are outside \(range(low, high))", total: total, failed: failed)
        case "column_values_to_be_in_set":
            // As pandas' `isin`: numbers match numbers (1 == 1.0 == true), booleans match booleans (and 0
            // and 1), text matches text by code points; a number never matches text, nor text a number.
            let set = try arguments.values("value_set")
            switch column.type {
            case .int, .float:
                let allowed = Set(
                    set.compactMap { value -> Double? in
                        if case .string = value { return nil }
                        return value.number
                    })
                return map("are not in the set") { row in values[row].isNaN ? nil : allowed.contains(values[row]) }
            case .timestamp:
                let allowed = Set(
                    set.compactMap { if case .string(let text) = $0 { Timestamps.parse(text) } else { nil } })
                return map("are not in the set") { row in values[row].isNaN ? nil : allowed.contains(values[row]) }
            case .bool:
                let allowed = Set(
                    set.compactMap { value -> String? in
                        switch value {
                        case .bool(let flag): return flag ? "true" : "false"
                        case .int, .double: return value.number == 1 ? "true" : value.number == 0 ? "false" : nil
                        default: return nil
                        }
                    })
                return mapText("are not in the set") { allowed.contains($0) }
            case .string:
                let allowed = Set(set.compactMap { if case .string(let text) = $0 { CodePoints(text) } else { nil } })
                return mapText("are not in the set") { allowed.contains(CodePoints($0)) }
            }
        case "column_values_to_match_regex":
            let pattern = try arguments.string("regex") ?? ""
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): invalid regex \"\(pattern)\"", at: expectation.location)
            }
            return mapText("do not match /\(pattern)/") { text in
                regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
            }
        case "column_value_lengths_to_be_between":
            let (low, high) = (try arguments.double("min_value"), try arguments.double("max_value"))
            // Lengths in code points, as Python's len() (not grapheme clusters: `cafe\u{301}` is 5).
            return mapText("have lengths outside \(range(low, high))") {
                within(Double($0.unicodeScalars.count), low, high)
            }
        case "column_mean_to_be_between", "column_stdev_to_be_between", "column_min_to_be_between",
            "column_max_to_be_between", "column_median_to_be_between":
            guard column.type.isNumeric || column.type == .timestamp else {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): column \(columnName) is \(column.type.rawValue), not numeric",
                    at: expectation.location)
            }
            // One pass over the column (nulls skipped), no copy; the median selects in a copy.
            var (count, sum, smallest, largest) = (0, 0.0, Double.infinity, -Double.infinity)
            for value in values where !value.isNaN {
                count += 1
                sum += value
                smallest = Swift.min(smallest, value)
                largest = Swift.max(largest, value)
            }
            let mean = sum / Double(count)
            let statistic: Double
            switch name {
            case "column_mean_to_be_between": statistic = mean
            case "column_stdev_to_be_between":
                var squares = 0.0
                for value in values where !value.isNaN { squares += (value - mean) * (value - mean) }
                statistic = count > 1 ? (squares / Double(count - 1)).squareRoot() : .nan
            case "column_min_to_be_between": statistic = count > 0 ? smallest : .nan
            case "column_max_to_be_between": statistic = count > 0 ? largest : .nan
            default: statistic = DriftStatistics.quantiles(of: values, [0.5])[0]
            }
            let (low, high) = (try arguments.double("min_value"), try arguments.double("max_value"))
            let ok = count > 0 && within(statistic, low, high)
            let label = name.replacingOccurrences(of: "column_", with: "").replacingOccurrences(
                of: "_to_be_between", with: "")
            return finish(
                ok,
                "\(columnName): \(label) \(String(format: "%.6g", statistic))\(ok ? "" : ", expected \(range(low, high))")",
                observed: .double(statistic), expected: rangeValue(low, high))
        case "column_quantile_values_to_be_between":
            guard case .object(let spec)? = arguments.pairs.first(where: { $0.key == "quantile_ranges" })?.value,
                case .array(let quantiles)? = StructuredValue.object(spec)["quantiles"],
                case .array(let ranges)? = StructuredValue.object(spec)["value_ranges"], quantiles.count == ranges.count
            else {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): quantile_ranges needs quantiles and value_ranges of the same length",
                    at: expectation.location)
            }
            let values = DriftStatistics.quantiles(of: column.values, quantiles.map { $0.number ?? 0.5 })
            var observed: [StructuredValue] = []
            var ok = column.nullCount < column.count
            for (value, bounds) in zip(values, ranges) {
                observed.append(.double(value))
                if case .array(let pair) = bounds, pair.count == 2, !within(value, pair[0].number, pair[1].number) {
                    ok = false
                }
            }
            return finish(
                ok,
                "\(columnName): quantiles \(observed.map { String(format: "%.6g", $0.number ?? .nan) }.joined(separator: ", "))",
                observed: .array(observed), expected: .array(ranges))
        case "column_values_to_be_fresh":
            guard column.type == .timestamp else {
                throw GitOpsMLError.configuration(
                    "\(expectation.type): column \(columnName) is \(column.type.rawValue), not a timestamp",
                    at: expectation.location)
            }
            let maxAge =
                try arguments.double("max_age_seconds") ?? (try arguments.double("max_age_days")).map { $0 * 86_400 }
                ?? 86_400
            let reference = try arguments.string("now").flatMap(Timestamps.parse) ?? now.timeIntervalSince1970
            let newest = column.nonNullNumbers.max() ?? -.infinity
            let age = reference - newest
            let ok = age <= maxAge
            return finish(
                ok,
                "\(columnName): newest value is \(String(format: "%.1f", age / 3600)) hours old\(ok ? "" : ", more than \(String(format: "%.1f", maxAge / 3600))")",
                observed: .double(age), expected: .object([("max_age_seconds", .double(maxAge))]))
        default:
            throw GitOpsMLError.configuration("unknown expectation \"\(expectation.type)\"", at: expectation.location)
        }
    }

    static func column(_ name: String, in data: Dataset, _ location: SourceLocation) throws -> Column {
        guard let column = data.column(name) else {
            guard !data.columnNames.contains(name) else {
                throw GitOpsMLError.environment("internal: column \(name) of \(data.file) was not read")
            }
            throw ExpectationColumnMissing(column: name, location: location, columns: data.columnNames)
        }
        return column
    }

    static func within(_ value: Double, _ low: Double?, _ high: Double?) -> Bool {
        (low.map { value >= $0 } ?? true) && (high.map { value <= $0 } ?? true)
    }

    static func range(_ low: Double?, _ high: Double?) -> String {
        "[\(low.map { String(format: "%g", $0) } ?? "−∞"), \(high.map { String(format: "%g", $0) } ?? "∞")]"
    }

    static func rangeValue(_ low: Double?, _ high: Double?) -> StructuredValue {
        .object([
            ("min_value", low.map(StructuredValue.double) ?? .null),
            ("max_value", high.map(StructuredValue.double) ?? .null),
        ])
    }

    struct Arguments {
        var pairs: [(key: String, value: StructuredValue)]
        var location: SourceLocation
        var name: String

        func value(_ key: String) -> StructuredValue? { pairs.last { $0.key == key }?.value }

        func double(_ key: String) throws -> Double? {
            guard let value = value(key), value != .null else { return nil }
            switch value {
            case .int(let number): return Double(number)
            case .double(let number) where number.isFinite: return number
            // NaN compares false with everything and an infinite bound is none: either would pass every row.
            case .double: throw GitOpsMLError.configuration("\(name): \(key) must be a finite number", at: location)
            default: throw GitOpsMLError.configuration("\(name): \(key) must be a number", at: location)
            }
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = value(key) else { return nil }
            guard case .bool(let flag) = value else {
                throw GitOpsMLError.configuration("\(name): \(key) must be true or false", at: location)
            }
            return flag
        }

        func string(_ key: String) throws -> String? {
            guard let value = value(key) else { return nil }
            guard case .string(let text) = value else {
                throw GitOpsMLError.configuration("\(name): \(key) must be text", at: location)
            }
            return text
        }

        func values(_ key: String) throws -> [StructuredValue] {
            guard case .array(let items)? = value(key) else {
                throw GitOpsMLError.configuration("\(name): \(key) must be a list", at: location)
            }
            return items
        }

        func strings(_ key: String) throws -> [String] {
            try values(key).map { item in
                guard case .string(let text) = item else {
                    throw GitOpsMLError.configuration("\(name): \(key) must be a list of text", at: location)
                }
                return text
            }
        }
    }
}

/// An expectation named a column the dataset does not have: a failed expectation, not a crash.
public struct ExpectationColumnMissing: Error {
    public var column: String
    public var location: SourceLocation
    public var columns: [String]
}
