import Gates
import GitOpsMLCore

/// Every metric the head's predictions give, and the confusion matrix, as one finding for reports.
enum MetricsSummary {
    static func finding(model: String, version: ModelVersion) -> Finding? {
        var metrics: [(key: String, value: StructuredValue)] = []
        var details: [(key: String, value: StructuredValue)] = []
        let count: Int
        if let predictions = version.classification {
            count = predictions.count
            metrics = ClassificationMetrics.all(predictions).sorted { $0.key < $1.key }.map {
                ($0.key, .double($0.value))
            }
            let matrix = ClassificationMetrics.confusionMatrix(predictions)
            details.append(
                (
                    "confusion_matrix",
                    .object([
                        ("labels", .array(matrix.labels.map(StructuredValue.string))),
                        ("counts", .array(matrix.counts.map { .array($0.map(StructuredValue.int)) })),
                    ])
                ))
            details.append(("n", .int(predictions.count)))
        } else if let regression = version.regression {
            count = regression.truth.count
            metrics = RegressionMetrics.all(truth: regression.truth, predicted: regression.predicted)
                .sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) }
            details.append(("n", .int(regression.truth.count)))
        } else {
            return nil
        }
        let shown = metrics.prefix(6).map { "\($0.key) \(GateEvaluator.format($0.value.number ?? 0))" }.joined(
            separator: ", ")
        return Finding(
            id: "model/\(model)/metrics", suite: .model, check: "metrics", status: .pass,
            message: "\(model) on \(count) predictions: \(shown)\(metrics.count > 6 ? ", …" : "")",
            observed: .object(metrics), details: .object(details))
    }
}
