import Config
import Foundation
import GitOpsMLCore
import Statistics

typealias Bounds = DataPolicy.Bounds

/// An expectation's verdict on the table as a whole, and how any verdict is written.
struct Table {
    let expectation: DataPolicy.Expectation
    let data: Dataset
    var mostly: Double { expectation.mostly ?? 1 }

    func finish(
        _ success: Bool, _ message: String, observed: StructuredValue, expected: StructuredValue, lines: [Int] = []
    ) -> ExpectationResult {
        ExpectationResult(
            type: "expect_" + expectation.name, column: expectation.column, success: success, message: message,
            observed: observed, expected: expected, failingLines: Array(lines.prefix(5)),
            location: expectation.location)
    }

    func columnsMatchSet(_ wanted: [String], _ exact: Bool) -> ExpectationResult {
        let missing = wanted.filter { !data.columnNames.contains($0) }
        let extra = data.columnNames.filter { !wanted.contains($0) }
        let ok = missing.isEmpty && (!exact || extra.isEmpty)
        return finish(
            ok, ok ? "columns match" : "missing \(missing), unexpected \(exact ? extra : [])",
            observed: .array(data.columnNames.map(StructuredValue.string)),
            expected: .array(wanted.map(StructuredValue.string)))
    }

    func columnsMatchOrderedList(_ wanted: [String]) -> ExpectationResult {
        let ok = wanted == data.columnNames
        return finish(
            ok, ok ? "columns are in order" : "columns are \(data.columnNames), expected \(wanted)",
            observed: .array(data.columnNames.map(StructuredValue.string)),
            expected: .array(wanted.map(StructuredValue.string)))
    }

    func rowCountBetween(_ bounds: Bounds) -> ExpectationResult {
        let ok = bounds.contains(Double(data.rowCount))
        return finish(
            ok, "\(data.rowCount) rows\(ok ? "" : ", expected \(Expectations.range(bounds))")",
            observed: .int(data.rowCount), expected: Expectations.rangeValue(bounds))
    }

    func columnExists(_ name: String) -> ExpectationResult {
        let ok = data.columnNames.contains(name)
        return finish(
            ok, ok ? "column \(name) exists" : "no column \(name)", observed: .bool(ok), expected: .bool(true))
    }

    /// Great Expectations' count: every row whose combination occurs more than once (pandas'
    /// `duplicated(keep=False)`), nulls equal to nulls, rows null in every column left out. Keys from the
    /// codes and number bits: no String a row.
    func compoundUnique(_ names: [String]) throws -> ExpectationResult {
        let columns = try names.map { try Expectations.column($0, in: data, expectation.location) }
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
        return finish(
            share >= mostly,
            lines.isEmpty
                ? "\(names.joined(separator: ", ")) are unique together"
                : "\(lines.count) of \(total) rows repeat a combination of \(names.joined(separator: ", "))",
            observed: .object([
                ("unexpected_count", .int(lines.count)), ("element_count", .int(total)),
                ("compliant_share", .double(share)),
            ]), expected: .object([("mostly", .double(mostly))]), lines: lines)
    }
}

/// An expectation's verdict on one column's values. Column-map expectations ignore nulls and pass when at
/// least `mostly` of the non-null values comply.
struct ColumnCheck {
    let table: Table
    let name: String
    let column: Column
    var data: Dataset { table.data }
    var expectation: DataPolicy.Expectation { table.expectation }

    /// A verdict per row (nil: a null, ignored).
    @inline(__always) func map(_ description: String, _ test: (Int) -> Bool?) -> ExpectationResult {
        var total = 0
        var failed: [Int] = []
        for row in 0..<data.rowCount {
            guard let ok = test(row) else { continue }
            total += 1
            if !ok { failed.append(data.rowLines[row]) }
        }
        return judged(description, total: total, failed: failed)
    }

    /// The verdict of a column-map expectation from its non-null rows and the lines of those that failed.
    func judged(_ description: String, total: Int, failed: [Int]) -> ExpectationResult {
        let mostly = table.mostly
        let share = total == 0 ? 1 : Double(total - failed.count) / Double(total)
        let text =
            "\(name): \(failed.count) of \(total) values \(description)"
            + (expectation.mostly != nil ? " (\(String(format: "%.2f", share * 100))% comply, mostly \(mostly))" : "")
        return table.finish(
            share >= mostly, text,
            observed: .object([
                ("unexpected_count", .int(failed.count)), ("element_count", .int(total)),
                ("compliant_share", .double(share)),
            ]), expected: .object([("mostly", .double(mostly))]), lines: failed)
    }

    /// Text columns are judged once per distinct value (their dictionary), then row by row by code; other
    /// columns by their text forms. `asPandasWrites`: each value as pandas' `astype(str)` writes it, which
    /// Great Expectations matches a regex against and measures: `True`, an integer with a null in its
    /// column as a float (`5.0`), a date as written.
    func mapText(_ description: String, asPandasWrites: Bool = false, _ test: (String) -> Bool)
        -> ExpectationResult
    {
        guard column.isText else {
            let texts =
                asPandasWrites && column.type == .int && column.nullCount > 0
                ? column.values.map { $0.isNaN ? nil : StructuredValue.pythonFloat($0) } : column.texts
            return map(description) { row in texts[row].map(test) }
        }
        let written =
            asPandasWrites && column.type == .bool
            ? column.dictionary.map { $0 == "true" ? "True" : $0 == "false" ? "False" : $0 } : column.dictionary
        let verdicts = written.map(test)
        let codes = column.codes
        return map(description) { row in
            let code = codes[row]
            return code == Column.nullCode ? nil : verdicts[Int(code)]
        }
    }

    func numeric() throws {
        guard column.type.isNumeric || column.type == .timestamp else {
            throw GitOpsMLError.configuration(
                "\(expectation.type): column \(name) is \(column.type.rawValue), not numeric", at: expectation.location)
        }
    }

    func ofType(_ wanted: DataPolicy.ValueType) -> ExpectationResult {
        let type = ColumnType(wanted)
        let ok = column.type == type || (type == .float && column.type == .int)
        return table.finish(
            ok, "\(name) is \(column.type.rawValue)\(ok ? "" : ", expected \(type.rawValue)")",
            observed: .string(column.type.rawValue), expected: .string(type.rawValue))
    }

    func notNull() -> ExpectationResult {
        var nulls: [Int] = []
        for row in 0..<data.rowCount where column.isNull(row) { nulls.append(data.rowLines[row]) }
        let share = data.rowCount == 0 ? 1 : Double(data.rowCount - nulls.count) / Double(data.rowCount)
        return table.finish(
            share >= table.mostly, "\(name): \(nulls.count) nulls in \(data.rowCount) rows",
            observed: .object([("null_count", .int(nulls.count)), ("non_null_share", .double(share))]),
            expected: .object([("mostly", .double(table.mostly))]), lines: nulls)
    }

    func null() -> ExpectationResult {
        var present: [Int] = []
        for row in 0..<data.rowCount where !column.isNull(row) { present.append(data.rowLines[row]) }
        let share = data.rowCount == 0 ? 1 : Double(data.rowCount - present.count) / Double(data.rowCount)
        return table.finish(
            share >= table.mostly, "\(name): \(present.count) values that are not null",
            observed: .int(present.count), expected: .int(0), lines: present)
    }

    func nonNullShare(_ bounds: Bounds) -> ExpectationResult {
        let share = data.rowCount == 0 ? 0 : Double(data.rowCount - column.nullCount) / Double(data.rowCount)
        return table.finish(
            bounds.contains(share), "\(name): \(String(format: "%.4g", share)) of values are not null",
            observed: .double(share), expected: Expectations.rangeValue(bounds))
    }

    func unique() -> ExpectationResult {
        let values = column.values
        if !column.isText, let repeated = Expectations.repeatedIntegers(values) {
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
    }

    func between(_ bounds: Bounds, strictMin: Bool, strictMax: Bool) throws -> ExpectationResult {
        try numeric()
        // One tight loop over the numbers (the same verdicts as a map, without a call a row).
        let (lowest, highest) = (bounds.low ?? -.infinity, bounds.high ?? .infinity)
        var (total, failed) = (0, [Int]())
        column.values.withUnsafeBufferPointer { buffer in
            for row in buffer.indices where !buffer[row].isNaN {
                let value = buffer[row]
                total += 1
                if (strictMin ? value <= lowest : value < lowest) || (strictMax ? value >= highest : value > highest) {
                    failed.append(data.rowLines[row])
                }
            }
        }
        return judged("are outside \(Expectations.range(bounds))", total: total, failed: failed)
    }

    /// As pandas' `isin`: numbers match numbers (1 == 1.0 == true), booleans match booleans (and 0 and 1),
    /// text (dates too, as written) matches text by code points; a number never matches text, nor text a
    /// number.
    func inSet(_ set: [StructuredValue]) -> ExpectationResult {
        let values = column.values
        switch column.type {
        case .int, .float:
            let allowed = Set(
                set.compactMap { value -> Double? in
                    if case .string = value { return nil }
                    return value.number
                })
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
        case .string, .timestamp:  // a date is text to pandas: matched as written
            let allowed = Set(set.compactMap { if case .string(let text) = $0 { CodePoints(text) } else { nil } })
            return mapText("are not in the set") { allowed.contains(CodePoints($0)) }
        }
    }

    func matchRegex(_ pattern: String) throws -> ExpectationResult {
        let regex: NSRegularExpression
        do { regex = try NSRegularExpression(pattern: pattern) } catch {
            throw GitOpsMLError.configuration(
                "\(expectation.type): invalid regex \"\(pattern)\"", at: expectation.location)
        }
        return mapText("do not match /\(pattern)/", asPandasWrites: true) { text in
            regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
        }
    }

    /// Lengths in code points, as Python's len() (not grapheme clusters: `cafe\u{301}` is 5).
    func lengthsBetween(_ bounds: Bounds) -> ExpectationResult {
        mapText("have lengths outside \(Expectations.range(bounds))", asPandasWrites: true) {
            bounds.contains(Double($0.unicodeScalars.count))
        }
    }

    /// One pass over the column (nulls skipped), no copy; the median selects in a copy.
    func statistic(_ statistic: DataPolicy.ColumnStatistic, _ bounds: Bounds) throws -> ExpectationResult {
        try numeric()
        let values = column.values
        var (count, sum, smallest, largest) = (0, 0.0, Double.infinity, -Double.infinity)
        for value in values where !value.isNaN {
            count += 1
            sum += value
            smallest = Swift.min(smallest, value)
            largest = Swift.max(largest, value)
        }
        let mean = sum / Double(count)
        let value: Double
        switch statistic {
        case .mean: value = mean
        case .stdev:
            var squares = 0.0
            for value in values where !value.isNaN { squares += (value - mean) * (value - mean) }
            value = count > 1 ? (squares / Double(count - 1)).squareRoot() : .nan
        case .min: value = count > 0 ? smallest : .nan
        case .max: value = count > 0 ? largest : .nan
        case .median:
            // pandas' median (numpy's): the mean of the two middle values, not a quantile's interpolation,
            // which differs where one is infinite (−∞ and 5: −∞, not NaN).
            var present = values.filter { !$0.isNaN }
            RadixSort.sortInPlace(&present)
            let middle = present.count / 2
            value =
                present.isEmpty
                ? .nan : present.count % 2 == 1 ? present[middle] : (present[middle - 1] + present[middle]) / 2
        }
        let ok = count > 0 && bounds.contains(value)
        return table.finish(
            ok,
            "\(name): \(statistic.rawValue) \(String(format: "%.6g", value))\(ok ? "" : ", expected \(Expectations.range(bounds))")",
            observed: .double(value), expected: Expectations.rangeValue(bounds))
    }

    func quantiles(
        _ levels: [Double], _ ranges: [Bounds], written: [StructuredValue],
        interpolation: DataPolicy.QuantileInterpolation
    ) -> ExpectationResult {
        let values = DriftStatistics.quantiles(of: column.values, levels, interpolation: interpolation)
        let ok = column.nullCount < column.count && zip(values, ranges).allSatisfy { $1.contains($0) }
        return table.finish(
            ok,
            "\(name): quantiles (\(interpolation.rawValue)) \(values.map { String(format: "%.6g", $0) }.joined(separator: ", "))",
            observed: .array(values.map(StructuredValue.double)), expected: .array(written))
    }

    func fresh(_ maxAge: Double, _ now: String?, now current: Date) throws -> ExpectationResult {
        guard column.type == .timestamp else {
            throw GitOpsMLError.configuration(
                "\(expectation.type): column \(name) is \(column.type.rawValue), not a timestamp",
                at: expectation.location)
        }
        let reference = now.flatMap(Timestamps.parse) ?? current.timeIntervalSince1970
        let age = reference - (column.nonNullNumbers.max() ?? -.infinity)
        let ok = age <= maxAge
        return table.finish(
            ok,
            "\(name): newest value is \(String(format: "%.1f", age / 3600)) hours old\(ok ? "" : ", more than \(String(format: "%.1f", maxAge / 3600))")",
            observed: .double(age), expected: .object([("max_age_seconds", .double(maxAge))]))
    }
}

extension ColumnType {
    init(_ type: DataPolicy.ValueType) {
        switch type {
        case .int: self = .int
        case .float: self = .float
        case .bool: self = .bool
        case .string: self = .string
        case .timestamp: self = .timestamp
        }
    }
}
