import Dispatch
import GitOpsMLCore
import Statistics

/// A per-column summary of a dataset.
public enum DataProfile {
    public static func profile(_ data: Dataset) -> StructuredValue {
        // Columns are summarised independently: one per core.
        let columns = Parallel.map(data.columns.count) { index in summarise(data.columns[index]) }
        return .object([("file", .string(data.file)), ("rows", .int(data.rowCount)), ("columns", .array(columns))])
    }

    /// The five most frequent values (ties: the smaller first) in one pass, without sorting every run.
    static func mostFrequent<T: Comparable>(_ items: [(value: T, count: Int)]) -> [(value: T, count: Int)] {
        func before(_ a: (value: T, count: Int), _ b: (value: T, count: Int)) -> Bool {
            a.count != b.count ? a.count > b.count : a.value < b.value
        }
        var top: [(value: T, count: Int)] = []
        for item in items where top.count < 5 || before(item, top[top.count - 1]) {
            top.insert(item, at: top.firstIndex { before(item, $0) } ?? top.count)
            if top.count > 5 { top.removeLast() }
        }
        return top
    }

    static func summarise(_ column: Column) -> StructuredValue {
        var fields: [(key: String, value: StructuredValue)] = [
            ("name", .string(column.name)), ("type", .string(column.type.rawValue)), ("count", .int(column.count)),
            ("nulls", .int(column.nullCount)),
        ]
        // Value counts: from the dictionary codes for text, from runs of the sorted values for numbers
        // (only the five most frequent are turned into text).
        var counts: [(value: String, count: Int)] = []
        var unique = 0
        // A timestamp's counts are of its written forms (pandas' values); its statistics are instants.
        let timestamp = column.type == .timestamp
        if column.isText || timestamp {
            let tally = column.textCounts
            unique = tally.count
            counts = tally.map { ($0.key, $0.value) }
        }
        if !column.isText {
            let sorted = RadixSort.sorted(column.nonNullNumbers)
            var runs: [(value: Double, count: Int)] = []
            for value in sorted {
                if let last = runs.last, last.value == value {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append((value, 1))
                }
            }
            if !timestamp {
                unique = runs.count
                counts = mostFrequent(runs).map {
                    (column.type == .int ? String(Int($0.value)) : StructuredValue.pythonFloat($0.value), $0.count)
                }
            }
            // Instants are shown as ISO 8601 times (UTC), their spread in seconds.
            func value(_ number: Double) -> StructuredValue {
                timestamp ? .string(Timestamps.format(number)) : .double(number)
            }
            let mean = sorted.isEmpty ? Double.nan : sorted.reduce(0, +) / Double(sorted.count)
            fields.append(("unique", .int(unique)))
            fields += [
                ("min", sorted.first.map(value) ?? .null),
                ("max", sorted.last.map(value) ?? .null),
                ("mean", sorted.isEmpty ? .null : value(mean)),
                (
                    timestamp ? "std_seconds" : "std",
                    sorted.count > 1 ? .double(DriftStatistics.standardDeviation(sorted, ddof: 1)) : .null
                ),
            ]
            for (label, q) in [("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)] {
                fields.append((label, sorted.isEmpty ? .null : value(DriftStatistics.quantile(sorted, q))))
            }
        } else {
            fields.append(("unique", .int(unique)))
        }
        let top = mostFrequent(counts).map {
            StructuredValue.object([("value", .string($0.value)), ("count", .int($0.count))])
        }
        fields.append(("top", .array(top)))
        return .object(fields)
    }
}
