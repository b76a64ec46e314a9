import Foundation
import GitOpsMLCore

/// A metric the gates compute from predictions: its name, its direction, how it is computed, and, where
/// there is one, the per-example term whose mean is the metric (the paired bootstrap's fast path).
/// Adding a metric is adding one entry to `Metric.catalogue`; the policy loader infers a gate's direction
/// from the name (`MetricDirection`), and a test holds the two to agree.
public struct Metric: Sendable {
    public enum Task: Sendable { case classification, regression }
    public enum Computation: Sendable {
        /// From labels, scores or per-class probabilities; throws `MetricUnavailable` with the reason when the
        /// predictions cannot give it.
        case classification(@Sendable (ClassificationPredictions) throws -> Double)
        /// From true and predicted values; nil when undefined.
        case regression(@Sendable (_ truth: [Double], _ predicted: [Double]) -> Double?)
    }
    /// Per-example terms whose mean is the metric.
    public enum Terms: Sendable {
        case classification(@Sendable (ClassificationPredictions) -> [Double]?)
        case regression(@Sendable (_ truth: [Double], _ predicted: [Double]) -> [Double])
    }

    public let name: String
    public let greaterIsBetter: Bool
    public let computation: Computation
    public let terms: Terms?

    public var task: Task {
        if case .classification = computation { return .classification }
        return .regression
    }

    public static func named(_ name: String) -> Metric? { byName[name] }

    public static func names(_ task: Task) -> [String] { catalogue.filter { $0.task == task }.map(\.name) }

    private static let byName = Dictionary(uniqueKeysWithValues: catalogue.map { ($0.name, $0) })

    /// scikit-learn's definitions (zero division gives 0). Binary metrics (precision, recall, f1, and roc_auc,
    /// pr_auc, log_loss, brier from one score column) need the positive class; multiclass roc_auc (macro
    /// one-vs-rest), roc_auc_weighted, log_loss and brier need a probability column per class.
    public static let catalogue: [Metric] = [
        Metric(
            "accuracy", greater: true, .classification { ClassificationMetrics.accuracy($0.correct) },
            terms: .classification { p in p.correct.map { $0 ? 1 : 0 } }),
        Metric(
            "error_rate", greater: false, .classification { 1 - ClassificationMetrics.accuracy($0.correct) },
            terms: .classification { p in p.correct.map { $0 ? 0 : 1 } }),
        Metric(
            "precision", greater: true, .classification { try ClassificationMetrics.binary($0, "precision").precision }),
        Metric("recall", greater: true, .classification { try ClassificationMetrics.binary($0, "recall").recall }),
        Metric("f1", greater: true, .classification { try ClassificationMetrics.binary($0, "f1").f1 }),
        Metric("f1_macro", greater: true, .classification { ClassificationMetrics.averaged($0, weighted: false).f1 }),
        Metric("f1_weighted", greater: true, .classification { ClassificationMetrics.averaged($0, weighted: true).f1 }),
        Metric(
            "precision_macro", greater: true,
            .classification { ClassificationMetrics.averaged($0, weighted: false).precision }),
        Metric(
            "recall_macro", greater: true,
            .classification { ClassificationMetrics.averaged($0, weighted: false).recall }),
        Metric("roc_auc", greater: true, .classification { try ClassificationMetrics.rocAUC($0, weighted: false) }),
        Metric(
            "roc_auc_weighted", greater: true, .classification { try ClassificationMetrics.rocAUC($0, weighted: true) }),
        Metric("pr_auc", greater: true, .classification { try ClassificationMetrics.prAUC($0) }),
        Metric(
            "log_loss", greater: false, .classification { try ClassificationMetrics.loss("log_loss", $0) },
            terms: .classification { ClassificationMetrics.perExampleLoss("log_loss", $0) }),
        Metric(
            "brier", greater: false, .classification { try ClassificationMetrics.loss("brier", $0) },
            terms: .classification { ClassificationMetrics.perExampleLoss("brier", $0) }),
        Metric(
            "mae", greater: false, .regression { RegressionMetrics.mean(zip($0, $1).map { abs($1 - $0) }) },
            terms: .regression { zip($0, $1).map { abs($1 - $0) } }),
        Metric(
            "mse", greater: false, .regression { RegressionMetrics.mean(zip($0, $1).map { ($1 - $0) * ($1 - $0) }) },
            terms: .regression { zip($0, $1).map { ($1 - $0) * ($1 - $0) } }),
        Metric(
            "rmse", greater: false,
            .regression { RegressionMetrics.mean(zip($0, $1).map { ($1 - $0) * ($1 - $0) }).map { $0.squareRoot() } }),
        Metric("r2", greater: true, .regression { RegressionMetrics.r2(truth: $0, predicted: $1) }),
        Metric(
            "mape", greater: false,
            .regression { RegressionMetrics.mean(zip($0, $1).map { abs($0 - $1) / max(abs($0), Double.ulpOfOne) }) }),
    ]

    init(_ name: String, greater: Bool, _ computation: Computation, terms: Terms? = nil) {
        self.name = name
        self.greaterIsBetter = greater
        self.computation = computation
        self.terms = terms
    }
}
