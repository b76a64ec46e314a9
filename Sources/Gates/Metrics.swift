import Foundation
import GitOpsMLCore
import Statistics

/// Per-example predictions of a classifier on an evaluation set: true and predicted labels (as
/// `ClassLabels` canonicalised them), the positive class's score for a binary task, and per-class
/// probabilities (`score_<class>` columns) for a multiclass one.
public struct ClassificationPredictions: Sendable {
    public var ids: [String]
    public var truth: [String]
    public var predicted: [String]
    /// P(positive class) per example, for a binary task.
    public var score: [Double]?
    /// P(class) per example, one array per class in `classes` order, when every class has a column.
    public var probabilities: [[Double]]?
    /// The positive class of a binary task (nil: multiclass, or binary labels with no declared positive).
    public var positiveLabel: String?
    /// The declared classes, else the labels seen in either column, sorted.
    public var classes: [String]

    public init(
        ids: [String], truth: [String], predicted: [String], score: [Double]?, probabilities: [[Double]]? = nil,
        positiveLabel: String? = "1", classes: [String]? = nil
    ) {
        self.ids = ids
        self.truth = truth
        self.predicted = predicted
        self.score = score
        self.probabilities = probabilities
        self.positiveLabel = positiveLabel
        self.classes = classes ?? ClassLabels.sorted(Set(truth).union(predicted))
    }

    public var count: Int { truth.count }
    public var isMulticlass: Bool { classes.count > 2 }
    /// Labels seen in either column, sorted (scikit-learn's `unique_labels`).
    public var labels: [String] { ClassLabels.sorted(Set(truth).union(predicted)) }
    /// 1 where the true label is the positive one.
    public var positives: [Bool] { truth.map { $0 == positiveLabel } }
    /// 1 where the prediction is right.
    public var correct: [Bool] { zip(truth, predicted).map { $0 == $1 } }

    /// The examples at `indices` (repeats allowed): with their ids when aligning two versions, without
    /// them when resampling.
    public func subset(_ indices: [Int], keepingIDs: Bool = false) -> ClassificationPredictions {
        var copy = self
        copy.ids = keepingIDs ? indices.map { ids[$0] } : []
        copy.truth = indices.map { truth[$0] }
        copy.predicted = indices.map { predicted[$0] }
        copy.score = score.map { scores in indices.map { scores[$0] } }
        copy.probabilities = probabilities.map { columns in columns.map { column in indices.map { column[$0] } } }
        return copy
    }
}

/// Why a known metric cannot be computed from these predictions.
public struct MetricUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The computations behind `Metric.catalogue`'s classification metrics.
public enum ClassificationMetrics {
    public static var names: [String] { Metric.names(.classification) }

    /// Every metric the predictions allow.
    public static func all(_ p: ClassificationPredictions) -> [String: Double] {
        var result: [String: Double] = [:]
        for name in names { if let value = try? metric(name, p) { result[name] = value } }
        return result
    }

    /// One metric by name: nil for a name the catalogue does not know; throws `MetricUnavailable` with the
    /// reason when it knows the metric but the predictions cannot give it.
    public static func metric(_ name: String, _ p: ClassificationPredictions) throws -> Double? {
        guard case .classification(let compute) = Metric.named(name)?.computation else { return nil }
        guard p.count > 0 else { throw MetricUnavailable("there are no predictions") }
        return try compute(p)
    }

    /// ROC-AUC: binary from the score column, else one-vs-rest over per-class probabilities.
    static func rocAUC(_ p: ClassificationPredictions, weighted: Bool) throws -> Double {
        let name = weighted ? "roc_auc_weighted" : "roc_auc"
        if p.isMulticlass { return try oneVsRestAUC(p, weighted: weighted) }
        let (positives, scores) = try binaryScores(p, name)
        guard let auc = rocAUC(positives: positives, scores: scores) else {
            throw MetricUnavailable("\(name) needs examples of both classes in y_true")
        }
        return auc
    }

    static func prAUC(_ p: ClassificationPredictions) throws -> Double {
        guard !p.isMulticlass else { throw MetricUnavailable("pr_auc is defined for a binary task") }
        let (positives, scores) = try binaryScores(p, "pr_auc")
        guard let value = averagePrecision(positives: positives, scores: scores) else {
            throw MetricUnavailable("pr_auc needs at least one positive example")
        }
        return value
    }

    /// Log-loss or Brier, binary from the score column or multiclass from per-class probabilities.
    static func loss(_ name: String, _ p: ClassificationPredictions) throws -> Double {
        if p.isMulticlass {
            let columns = try classProbabilities(p, name)
            return name == "log_loss" ? multiclassLogLoss(p, columns) : multiclassBrier(p, columns)
        }
        let (positives, scores) = try binaryScores(p, name)
        return name == "log_loss"
            ? logLoss(positives: positives, scores: scores) : brier(positives: positives, scores: scores)
    }

    /// Each example's term of log-loss or Brier, whose mean is the metric (nil when the predictions
    /// cannot give it; the bootstrap's general path then says why).
    static func perExampleLoss(_ metric: String, _ p: ClassificationPredictions) -> [Double]? {
        let epsilon = Double.ulpOfOne
        if p.isMulticlass {
            guard let columns = p.probabilities else { return nil }
            let position = Dictionary(uniqueKeysWithValues: p.classes.enumerated().map { ($1, $0) })
            return p.truth.indices.map { row in
                if metric == "log_loss" {
                    return -log(min(max(columns[position[p.truth[row]] ?? 0][row], epsilon), 1 - epsilon))
                }
                return p.classes.indices.reduce(0) { total, k in
                    let difference = columns[k][row] - (p.truth[row] == p.classes[k] ? 1 : 0)
                    return total + difference * difference
                }
            }
        }
        guard let (positives, scores) = try? binaryScores(p, metric) else { return nil }
        return zip(positives, scores).map { positive, score in
            if metric == "brier" { return pow(score - (positive ? 1 : 0), 2) }
            let clipped = min(max(score, epsilon), 1 - epsilon)
            return positive ? -log(clipped) : -log(1 - clipped)
        }
    }

    public static func accuracy(_ correct: [Bool]) -> Double {
        Double(correct.lazy.filter { $0 }.count) / Double(max(correct.count, 1))
    }

    static func positiveLabel(_ p: ClassificationPredictions, _ name: String) throws -> String {
        guard !p.isMulticlass else {
            throw MetricUnavailable(
                "\(name) is a binary metric and the task has \(p.classes.count) classes (use the _macro or _weighted form)"
            )
        }
        guard let positive = p.positiveLabel else {
            throw MetricUnavailable(
                "\(name) needs the positive class: set positive_label (labels: \(p.classes.joined(separator: ", ")))")
        }
        return positive
    }

    static func binaryScores(_ p: ClassificationPredictions, _ name: String) throws -> (
        positives: [Bool], scores: [Double]
    ) {
        let positive = try positiveLabel(p, name)
        guard let score = p.score else {
            throw MetricUnavailable("\(name) needs a score column (score, or score_\(positive)) with P(\(positive))")
        }
        return (p.truth.map { $0 == positive }, score)
    }

    static func classProbabilities(_ p: ClassificationPredictions, _ name: String) throws -> [[Double]] {
        guard let columns = p.probabilities else {
            throw MetricUnavailable(
                "\(name) of a multiclass task needs a probability column per class (\(p.classes.map { "score_" + $0 }.joined(separator: ", ")))"
            )
        }
        return columns
    }

    /// Precision, recall and F1 of one label against the rest.
    static func scores(_ p: ClassificationPredictions, label: String) -> (
        precision: Double, recall: Double, f1: Double, support: Int
    ) {
        var tp = 0
        var fp = 0
        var fn = 0
        for (truth, predicted) in zip(p.truth, p.predicted) {
            if predicted == label { if truth == label { tp += 1 } else { fp += 1 } } else if truth == label { fn += 1 }
        }
        let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp)
        let recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
        let f1 = 2 * tp + fp + fn == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn)
        return (precision, recall, f1, tp + fn)
    }

    static func binary(_ p: ClassificationPredictions, _ name: String) throws -> (
        precision: Double, recall: Double, f1: Double
    ) {
        let s = scores(p, label: try positiveLabel(p, name))
        return (s.precision, s.recall, s.f1)
    }

    static func averaged(_ p: ClassificationPredictions, weighted: Bool) -> (
        precision: Double, recall: Double, f1: Double
    ) {
        let perLabel = p.labels.map { scores(p, label: $0) }
        let total = Double(perLabel.reduce(0) { $0 + $1.support })
        func mean(_ value: KeyPath<(precision: Double, recall: Double, f1: Double, support: Int), Double>) -> Double {
            if weighted {
                return total == 0 ? 0 : perLabel.reduce(0) { $0 + $1[keyPath: value] * Double($1.support) } / total
            }
            return perLabel.reduce(0) { $0 + $1[keyPath: value] } / Double(max(perLabel.count, 1))
        }
        return (mean(\.precision), mean(\.recall), mean(\.f1))
    }

    /// `matrix[true][predicted]`, labels sorted.
    public static func confusionMatrix(_ p: ClassificationPredictions) -> (labels: [String], counts: [[Int]]) {
        let labels = p.labels
        let position = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        var counts = [[Int]](repeating: [Int](repeating: 0, count: labels.count), count: labels.count)
        for (truth, predicted) in zip(p.truth, p.predicted) {
            if let row = position[truth], let column = position[predicted] { counts[row][column] += 1 }
        }
        return (labels, counts)
    }

    /// scikit-learn's `roc_auc_score(y, P, multi_class="ovr", average="macro" | "weighted")`: each class's
    /// AUC against the rest from its own probability column, averaged equally or by the class's support.
    static func oneVsRestAUC(_ p: ClassificationPredictions, weighted: Bool) throws -> Double {
        let columns = try classProbabilities(p, weighted ? "roc_auc_weighted" : "roc_auc")
        var total = 0.0
        var weights = 0.0
        for (index, label) in p.classes.enumerated() {
            let positives = p.truth.map { $0 == label }
            let support = Double(positives.lazy.filter { $0 }.count)
            // Weighted by support, a class absent from y_true weighs nothing (as scikit-learn leaves it out).
            if weighted && support == 0 { continue }
            guard let auc = rocAUC(positives: positives, scores: columns[index]) else {
                throw MetricUnavailable(
                    "roc_auc is undefined: class \(label) has \(support == 0 ? "no" : "every") example in y_true")
            }
            total += (weighted ? support : 1) * auc
            weights += weighted ? support : 1
        }
        return total / weights
    }

    /// Mean of −log p(true class), probabilities clipped to [ε, 1 − ε] (scikit-learn's `log_loss`).
    static func multiclassLogLoss(_ p: ClassificationPredictions, _ columns: [[Double]]) -> Double {
        let position = Dictionary(uniqueKeysWithValues: p.classes.enumerated().map { ($1, $0) })
        let epsilon = Double.ulpOfOne
        var total = 0.0
        for (row, label) in p.truth.enumerated() {
            guard let column = position[label] else { continue }
            total -= log(min(max(columns[column][row], epsilon), 1 - epsilon))
        }
        return total / Double(p.count)
    }

    /// Mean over examples of Σₖ (pₖ − 1[y = k])² (scikit-learn's multiclass `brier_score_loss`).
    static func multiclassBrier(_ p: ClassificationPredictions, _ columns: [[Double]]) -> Double {
        var total = 0.0
        for (index, label) in p.classes.enumerated() {
            for (row, truth) in p.truth.enumerated() {
                let difference = columns[index][row] - (truth == label ? 1 : 0)
                total += difference * difference
            }
        }
        return total / Double(p.count)
    }

    /// Area under the ROC curve: the Mann–Whitney statistic with average ranks for ties.
    public static func rocAUC(positives: [Bool], scores: [Double]) -> Double? {
        let positiveCount = positives.lazy.filter { $0 }.count
        let negativeCount = positives.count - positiveCount
        guard positiveCount > 0, negativeCount > 0 else { return nil }
        let ranks = Ranking.midranks(scores)
        var rankSum = 0.0
        for (rank, positive) in zip(ranks, positives) where positive { rankSum += rank }
        let u = rankSum - Double(positiveCount) * Double(positiveCount + 1) / 2
        return u / (Double(positiveCount) * Double(negativeCount))
    }

    /// Average precision (scikit-learn's `average_precision_score`): Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds.
    public static func averagePrecision(positives: [Bool], scores: [Double]) -> Double? {
        let totalPositives = positives.lazy.filter { $0 }.count
        guard totalPositives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0
        var fp = 0
        var previousRecall = 0.0
        var result = 0.0
        var index = 0
        while index < order.count {
            let threshold = scores[order[index]]
            while index < order.count && scores[order[index]] == threshold {
                if positives[order[index]] { tp += 1 } else { fp += 1 }
                index += 1
            }
            let recall = Double(tp) / Double(totalPositives)
            let precision = Double(tp) / Double(tp + fp)
            result += (recall - previousRecall) * precision
            previousRecall = recall
        }
        return result
    }

    /// Mean negative log-likelihood, probabilities clipped to [ε, 1 − ε] with ε the float64 epsilon.
    public static func logLoss(positives: [Bool], scores: [Double]) -> Double {
        let epsilon = Double.ulpOfOne
        var total = 0.0
        for (positive, score) in zip(positives, scores) {
            let p = min(max(score, epsilon), 1 - epsilon)
            total -= positive ? log(p) : log(1 - p)
        }
        return total / Double(max(scores.count, 1))
    }

    public static func brier(positives: [Bool], scores: [Double]) -> Double {
        var total = 0.0
        for (positive, score) in zip(positives, scores) {
            let difference = score - (positive ? 1 : 0)
            total += difference * difference
        }
        return total / Double(max(scores.count, 1))
    }
}

/// The computations behind `Metric.catalogue`'s regression metrics.
public enum RegressionMetrics {
    public static var names: [String] { Metric.names(.regression) }

    public static func all(truth: [Double], predicted: [Double]) -> [String: Double] {
        var result: [String: Double] = [:]
        for name in names { if let value = metric(name, truth: truth, predicted: predicted) { result[name] = value } }
        return result
    }

    /// One metric by name: nil for a name the catalogue does not know, or when it is undefined (no examples).
    public static func metric(_ name: String, truth: [Double], predicted: [Double]) -> Double? {
        guard case .regression(let compute) = Metric.named(name)?.computation, !truth.isEmpty else { return nil }
        return compute(truth, predicted)
    }

    static func mean(_ terms: [Double]) -> Double? {
        terms.isEmpty ? nil : terms.reduce(0, +) / Double(terms.count)
    }

    static func r2(truth: [Double], predicted: [Double]) -> Double? {
        guard !truth.isEmpty else { return nil }
        let n = Double(truth.count)
        let mean = truth.reduce(0, +) / n
        let total = truth.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let residual = zip(truth, predicted).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        // scikit-learn: a constant truth gives 1 when predicted perfectly, else 0.
        if total == 0 { return residual == 0 ? 1 : 0 }
        return 1 - residual / total
    }
}

enum Ranking {
    /// With one sort: each value's midrank among all values, and among the values of its own class.
    static func jointMidranks(_ values: [Double], _ classes: [Bool]) -> (all: [Double], withinClass: [Double]) {
        let order = sortedIndices(values)
        var all = [Double](repeating: 0, count: values.count)
        var within = [Double](repeating: 0, count: values.count)
        var seen = [0, 0]  // values of each class before the current tie group
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            var inGroup = [0, 0]
            for position in start...end { inGroup[classes[order[position]] ? 1 : 0] += 1 }
            for position in start...end {
                let index = order[position]
                let group = classes[index] ? 1 : 0
                all[index] = rank
                within[index] = Double(seen[group]) + Double(inGroup[group] + 1) / 2
            }
            seen[0] += inGroup[0]
            seen[1] += inGroup[1]
            start = end + 1
        }
        return (all, within)
    }

    /// Indices ordered by value (ties in index order), in O(n): sorting is the bulk of DeLong's cost on
    /// large evaluation sets.
    static func sortedIndices(_ values: [Double]) -> [Int] { RadixSort.sortedIndices(values) }

    /// Ranks from 1, ties sharing their average rank.
    static func midranks(_ values: [Double]) -> [Double] {
        let order = sortedIndices(values)
        var ranks = [Double](repeating: 0, count: values.count)
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
            let rank = Double(start + end) / 2 + 1
            for position in start...end { ranks[order[position]] = rank }
            start = end + 1
        }
        return ranks
    }
}
