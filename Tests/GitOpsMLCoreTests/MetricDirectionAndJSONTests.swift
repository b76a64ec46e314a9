import Dispatch
import Foundation
import GitOpsMLCore
import Testing

@Suite("Metric directions from their names")
struct MetricDirectionTests {
    @Test(arguments: [
        "accuracy", "balanced_accuracy", "precision", "recall_macro", "f1", "f1_weighted", "roc_auc", "pr_auc", "r2",
        "dice_score", "iou", "mean_iou", "eval.accuracy", "ndcg@10", "top5_accuracy", "average_precision",
    ])
    func higherIsBetter(name: String) { #expect(MetricDirection.greaterIsBetter(name) == true, "\(name)") }

    @Test(arguments: [
        "log_loss", "brier", "brier_score", "error_rate", "mae", "mse", "rmse", "mape", "val_loss", "eval.log_loss",
        "mean_absolute_error", "latency_p99", "perplexity", "cross_entropy",
    ])
    func lowerIsBetter(name: String) { #expect(MetricDirection.greaterIsBetter(name) == false, "\(name)") }

    @Test(arguments: ["widgetness", "throughput_loss_ratio_accuracy", "count", "accuracy_loss"])
    func unknownOrContradictoryNamesHaveNoDirection(name: String) {
        #expect(MetricDirection.greaterIsBetter(name) == nil, "\(name)")
    }
}

@Suite("Strict JSON")
struct StrictJSONTests {
    @Test func nonFiniteNumbersBecomeStrings() throws {
        let value = StructuredValue.object([
            ("chi2", .double(.infinity)), ("p", .array([.double(.nan), .double(-.infinity), .double(0.5)])),
        ])
        let text = value.strictJSON.json()
        #expect(text == #"{"chi2": "Infinity", "p": ["NaN", "-Infinity", 0.5]}"#)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
    }
}
