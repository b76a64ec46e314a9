import GitOpsMLCore

/// A per-column summary of a dataset.
public enum DataProfile {
    public static func profile(_ data: Dataset) -> StructuredValue {
        let columns = data.columns.map { column -> StructuredValue in
            var fields: [(key: String, value: StructuredValue)] = [
                ("name", .string(column.name)), ("type", .string(column.type.rawValue)), ("count", .int(column.count)),
                ("nulls", .int(column.nullCount)),
            ]
            let texts = column.texts.compactMap { $0 }
            fields.append(("unique", .int(Set(texts).count)))
            if column.type.isNumeric || column.type == .timestamp {
                let values = column.nonNullNumbers
                let sorted = RadixSort.sorted(values)
                let mean = values.isEmpty ? Double.nan : values.reduce(0, +) / Double(values.count)
                fields += [
                    ("min", sorted.first.map(StructuredValue.double) ?? .null),
                    ("max", sorted.last.map(StructuredValue.double) ?? .null),
                    ("mean", values.isEmpty ? .null : .double(mean)),
                    ("std", values.count > 1 ? .double(DriftStatistics.standardDeviation(values, ddof: 1)) : .null),
                ]
                for (label, q) in [("p05", 0.05), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p95", 0.95)] {
                    fields.append((label, sorted.isEmpty ? .null : .double(DriftStatistics.quantile(sorted, q))))
                }
            }
            var counts: [String: Int] = [:]
            for text in texts { counts[text, default: 0] += 1 }
            let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5)
            fields.append(
                ("top", .array(top.map { .object([("value", .string($0.key)), ("count", .int($0.value))]) })))
            return .object(fields)
        }
        return .object([("file", .string(data.file)), ("rows", .int(data.rowCount)), ("columns", .array(columns))])
    }
}
