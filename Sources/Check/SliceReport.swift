import Gates
import GitOpsMLCore

/// Gate metrics per value of a column of the predictions (e.g. per contract type), so that a model that
/// is better on average but worse for one segment shows it.
enum SliceReport {
    static func findings(
        model: String, column: String, slices: [String], predictions: ClassificationPredictions, metrics: [String]
    ) -> [Finding] {
        let groups = Dictionary(grouping: slices.indices, by: { slices[$0] })
        return groups.keys.sorted().map { value in
            let subset = predictions.subset(groups[value] ?? [])
            // A metric a slice cannot give (one class in it, say) is left out of that slice's line.
            let values = metrics.compactMap { metric in
                (try? ClassificationMetrics.metric(metric, subset)).flatMap { $0 }.map {
                    (key: metric, value: StructuredValue.double($0))
                }
            }
            let text = values.map { "\($0.key) \(GateEvaluator.format($0.value.number ?? 0))" }.joined(separator: ", ")
            return Finding(
                id: "model/\(model)/slice/\(column)=\(value)", suite: .model, check: "slice", status: .pass,
                message: "\(column) = \(value) (n = \(subset.count)): \(text)",
                details: .object(
                    [("column", .string(column)), ("value", .string(value)), ("n", .int(subset.count))] + values))
        }
    }
}
