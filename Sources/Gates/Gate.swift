import Foundation
import GitOpsMLCore

/// One champion-vs-challenger gate on a metric.
///
/// Point rules (MLflow `MetricThreshold` / TFMA change thresholds): the challenger must reach `threshold`
/// and beat the champion by `minAbsoluteChange` and by `minRelativeChange` × |champion| (in the metric's
/// better direction; negative values are tolerances, as in TFMA). With a `test`, the improvement must
/// also be significant at `alpha` (otherwise `onInsignificant` decides); with `nonInferiorityMargin` δ,
/// the one-sided (1 − α) lower bound of the improvement must exceed −δ.
public struct GateSpec: Sendable, Equatable {
    public enum Test: String, Sendable { case bootstrap, mcnemar, delong }

    public var metric: String
    public var greaterIsBetter: Bool
    public var threshold: Double?
    public var minAbsoluteChange: Double?
    public var minRelativeChange: Double?
    public var test: Test?
    public var alpha: Double = 0.05
    public var resamples: Int = 1000
    public var seed: UInt64 = 0
    public var onInsignificant: Finding.Status = .fail
    public var nonInferiorityMargin: Double?

    public init(metric: String, greaterIsBetter: Bool? = nil) {
        self.metric = metric
        self.greaterIsBetter = greaterIsBetter ?? metricGreaterIsBetter(metric)
    }
}

/// Both versions' predictions on the same evaluation examples, aligned by id.
public enum PairedData: Sendable {
    case classification(champion: ClassificationPredictions, challenger: ClassificationPredictions)
    case regression(truth: [Double], champion: [Double], challenger: [Double])

    public var count: Int {
        switch self {
        case .classification(let champion, _): return champion.count
        case .regression(let truth, _, _): return truth.count
        }
    }
}

/// What a gate concluded, with everything a reviewer needs to check it.
public struct GateOutcome: Sendable, Equatable {
    public var status: Finding.Status
    public var message: String
    public var champion: Double?
    public var challenger: Double
    /// challenger − champion.
    public var difference: Double?
    public var interval: ClosedRange<Double>?
    public var confidence: Double?
    public var pValue: Double?
    public var test: String?
    public var n: Int?
    /// Each rule that failed (or warned), in words.
    public var reasons: [String]
}

public enum GateEvaluator {
    /// Judges `challenger` (and the paired predictions, when both versions scored the same ids) against
    /// `champion`. Without a champion (a first deployment) only the threshold applies, and
    /// `firstDeployment` is the status of the missing comparison.
    public static func evaluate(
        _ spec: GateSpec, champion: Double?, challenger: Double, paired: PairedData?,
        firstDeployment: Finding.Status = .warn
    ) -> GateOutcome {
        let direction: Double = spec.greaterIsBetter ? 1 : -1
        var outcome = GateOutcome(
            status: .pass, message: "", champion: champion, challenger: challenger,
            difference: champion.map { challenger - $0 }, interval: nil, confidence: nil, pValue: nil, test: nil,
            n: paired?.count, reasons: [])
        var statuses: [Finding.Status] = [.pass]
        func rule(_ status: Finding.Status, _ reason: String) {
            statuses.append(status)
            outcome.reasons.append(reason)
        }

        if let threshold = spec.threshold, direction * (challenger - threshold) < 0 {
            rule(
                .fail,
                "\(format(challenger)) is \(spec.greaterIsBetter ? "below" : "above") the threshold \(format(threshold))"
            )
        }
        guard let champion else {
            rule(firstDeployment, "no champion to compare with (first deployment)")
            return finish(&outcome, statuses, spec)
        }
        let improvement = direction * (challenger - champion)
        if let minimum = spec.minAbsoluteChange, improvement < minimum {
            rule(.fail, "improves by \(signed(improvement)), less than the required \(signed(minimum))")
        }
        if let minimum = spec.minRelativeChange, champion != 0, improvement / abs(champion) < minimum {
            rule(
                .fail,
                "improves by \(signedPercent(improvement / abs(champion))), less than the required \(signedPercent(minimum))"
            )
        }

        // The named test serves both the superiority and the non-inferiority question; without one, a
        // non-inferiority margin uses the metric's natural test.
        let testName = spec.test ?? (spec.nonInferiorityMargin != nil ? defaultTest(spec.metric) : nil)
        guard let testName else { return finish(&outcome, statuses, spec) }
        guard let paired, paired.count > 0 else {
            rule(.warn, "significance not computed: the two versions' predictions share no evaluation ids")
            return finish(&outcome, statuses, spec)
        }
        let comparison: Comparison
        do {
            comparison = try compare(testName, spec: spec, paired: paired)
        } catch {
            rule(.error, "\(error)")
            return finish(&outcome, statuses, spec)
        }
        outcome.interval = comparison.interval
        outcome.confidence = 1 - spec.alpha
        outcome.pValue = comparison.pValue
        outcome.test = comparison.name
        outcome.difference = comparison.difference

        if spec.test != nil {
            let significant = comparison.pValue < spec.alpha
            if significant && direction * comparison.difference < 0 {
                rule(.fail, "significantly worse at α = \(format(spec.alpha)) (\(pText(comparison.pValue)))")
            } else if !significant || direction * comparison.difference <= 0 {
                rule(
                    spec.onInsignificant,
                    "not a significant improvement at α = \(format(spec.alpha)) (\(pText(comparison.pValue)))")
            }
        }
        if let margin = spec.nonInferiorityMargin {
            let bound = comparison.oneSidedLowerBound(direction)
            if !(bound > -margin) {
                rule(
                    .fail,
                    "non-inferiority not shown: the \(percent(1 - spec.alpha, digits: 0)) lower bound of the improvement is \(signed(bound)), not above −\(format(margin))"
                )
            }
        }
        return finish(&outcome, statuses, spec)
    }

    private static func finish(_ outcome: inout GateOutcome, _ statuses: [Finding.Status], _ spec: GateSpec)
        -> GateOutcome
    {
        outcome.status = statuses.max() ?? .pass
        var parts = ["\(spec.metric): challenger \(format(outcome.challenger))"]
        if let champion = outcome.champion, let difference = outcome.difference {
            parts[0] += " vs champion \(format(champion)) (\(signed(difference))"
            if let interval = outcome.interval, let confidence = outcome.confidence {
                parts[0] +=
                    "; \(percent(confidence, digits: 0)) CI \(signed(interval.lowerBound)) to \(signed(interval.upperBound))"
            }
            if let p = outcome.pValue, let test = outcome.test { parts[0] += "; \(test) \(pText(p))" }
            if let n = outcome.n { parts[0] += "; n = \(n)" }
            parts[0] += ")"
        }
        let verdict: String
        switch outcome.status {
        case .pass: verdict = outcome.reasons.isEmpty ? "passes" : "passes (\(outcome.reasons.joined(separator: "; ")))"
        default: verdict = outcome.reasons.joined(separator: "; ")
        }
        outcome.message = parts.joined() + ": " + verdict + "."
        return outcome
    }

    static func defaultTest(_ metric: String) -> GateSpec.Test {
        switch metric {
        case "accuracy", "error_rate": return .mcnemar
        case "roc_auc": return .delong
        default: return .bootstrap
        }
    }

    // MARK: - Paired comparisons

    struct Comparison {
        var name: String
        /// challenger − champion on the paired examples.
        var difference: Double
        var interval: ClosedRange<Double>
        var pValue: Double
        /// The one-sided lower bound of the improvement (direction × difference) at 1 − α.
        var oneSidedLowerBound: (Double) -> Double
    }

    struct ComparisonError: Error, CustomStringConvertible {
        var description: String
    }

    static func compare(_ test: GateSpec.Test, spec: GateSpec, paired: PairedData) throws -> Comparison {
        let confidence = 1 - spec.alpha
        let z2 = Distributions.normalQuantile(1 - spec.alpha / 2)
        let z1 = Distributions.normalQuantile(1 - spec.alpha)
        switch test {
        case .mcnemar:
            guard case .classification(let champion, let challenger) = paired,
                ["accuracy", "error_rate"].contains(spec.metric)
            else {
                throw ComparisonError(description: "McNemar's test applies to accuracy or error_rate of a classifier")
            }
            let result = McNemarResult.test(championCorrect: champion.correct, challengerCorrect: challenger.correct)
            let n = Double(champion.count)
            let sign: Double = spec.metric == "accuracy" ? 1 : -1
            let difference = sign * Double(result.challengerOnly - result.championOnly) / n
            let discordant = Double(result.championOnly + result.challengerOnly)
            let se =
                max(discordant - pow(Double(result.challengerOnly - result.championOnly), 2) / n, 0).squareRoot() / n
            return Comparison(
                name: result.exact ? "McNemar exact" : "McNemar χ²", difference: difference,
                interval: (difference - z2 * se)...(difference + z2 * se), pValue: result.pValue,
                oneSidedLowerBound: { direction in direction * difference - z1 * se })
        case .delong:
            guard case .classification(let champion, let challenger) = paired, spec.metric == "roc_auc",
                let championScores = champion.score, let challengerScores = challenger.score
            else { throw ComparisonError(description: "DeLong's test applies to roc_auc with a score column") }
            guard
                let result = DeLongResult.test(
                    positives: champion.positives, scoresA: championScores, scoresB: challengerScores)
            else { throw ComparisonError(description: "DeLong's test needs at least two positives and two negatives") }
            let se = result.variance.squareRoot()
            let interval = result.interval(confidence: confidence)
            return Comparison(
                name: "DeLong", difference: result.difference, interval: interval.lower...interval.upper,
                pValue: result.pValue, oneSidedLowerBound: { direction in direction * result.difference - z1 * se })
        case .bootstrap:
            let result = try bootstrap(spec, paired: paired, confidence: confidence)
            return Comparison(
                name: "bootstrap (\(result.resamples) resamples)", difference: result.estimate,
                interval: result.lower...result.upper, pValue: result.pValue,
                oneSidedLowerBound: { direction in
                    direction > 0
                        ? result.lowerBound(confidence: confidence) : -result.upperBound(confidence: confidence)
                })
        }
    }

    /// Per-example values whose mean is the metric, when there are such (the fast path); else the metric
    /// recomputed on each resample.
    static func bootstrap(_ spec: GateSpec, paired: PairedData, confidence: Double) throws -> BootstrapResult {
        let seed = spec.seed
        switch paired {
        case .classification(let champion, let challenger):
            if let perExample = perExampleClassification(spec.metric, champion: champion, challenger: challenger) {
                return PairedBootstrap.meanDifference(
                    perExample, resamples: spec.resamples, confidence: confidence, seed: seed)
            }
            guard ClassificationMetrics.metric(spec.metric, challenger) != nil else {
                throw ComparisonError(description: "cannot compute \(spec.metric) from the predictions")
            }
            let metric = spec.metric
            return PairedBootstrap.difference(
                count: champion.count, resamples: spec.resamples, confidence: confidence, seed: seed
            ) { indices in
                guard let a = ClassificationMetrics.metric(metric, champion.subset(indices)),
                    let b = ClassificationMetrics.metric(metric, challenger.subset(indices))
                else { return nil }
                return b - a
            }
        case .regression(let truth, let champion, let challenger):
            let perExample: [Double]?
            switch spec.metric {
            case "mae":
                perExample = truth.indices.map { abs(challenger[$0] - truth[$0]) - abs(champion[$0] - truth[$0]) }
            case "mse":
                perExample = truth.indices.map { pow(challenger[$0] - truth[$0], 2) - pow(champion[$0] - truth[$0], 2) }
            default: perExample = nil
            }
            if let perExample {
                return PairedBootstrap.meanDifference(
                    perExample, resamples: spec.resamples, confidence: confidence, seed: seed)
            }
            let metric = spec.metric
            guard RegressionMetrics.names.contains(metric) else {
                throw ComparisonError(description: "unknown regression metric \(metric)")
            }
            return PairedBootstrap.difference(
                count: truth.count, resamples: spec.resamples, confidence: confidence, seed: seed
            ) { indices in
                let t = indices.map { truth[$0] }
                guard let a = RegressionMetrics.metric(metric, truth: t, predicted: indices.map { champion[$0] }),
                    let b = RegressionMetrics.metric(metric, truth: t, predicted: indices.map { challenger[$0] })
                else { return nil }
                return b - a
            }
        }
    }

    static func perExampleClassification(
        _ metric: String, champion: ClassificationPredictions, challenger: ClassificationPredictions
    ) -> [Double]? {
        switch metric {
        case "accuracy": return zip(champion.correct, challenger.correct).map { ($1 ? 1 : 0) - ($0 ? 1 : 0) }
        case "error_rate": return zip(champion.correct, challenger.correct).map { ($0 ? 1 : 0) - ($1 ? 1 : 0) }
        case "brier", "log_loss":
            guard let a = champion.score, let b = challenger.score else { return nil }
            let positives = champion.positives
            let loss: (Bool, Double) -> Double =
                metric == "brier"
                ? { positive, score in pow(score - (positive ? 1 : 0), 2) }
                : { positive, score in
                    let p = min(max(score, Double.ulpOfOne), 1 - Double.ulpOfOne)
                    return positive ? -log(p) : -log(1 - p)
                }
            return positives.indices.map { loss(positives[$0], b[$0]) - loss(positives[$0], a[$0]) }
        default: return nil
        }
    }

    // MARK: - Formatting

    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value != 0 && abs(value) < 0.001 { return String(format: "%.2g", value) }
        return String(format: "%.4g", value)
    }

    /// "p = 0.012", or "p < 1e-16" where the double underflowed to zero.
    static func pText(_ p: Double) -> String { p < 1e-16 ? "p < 1e-16" : "p = \(format(p))" }

    public static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "−") + format(abs(value)) }

    static func percent(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f%%", value * 100) }

    static func signedPercent(_ value: Double) -> String { (value >= 0 ? "+" : "−") + percent(abs(value)) }
}

extension ClassificationPredictions {
    /// The examples at `indices` (repeats allowed), for resampling.
    func subset(_ indices: [Int]) -> ClassificationPredictions {
        ClassificationPredictions(
            ids: [], truth: indices.map { truth[$0] }, predicted: indices.map { predicted[$0] },
            score: score.map { scores in indices.map { scores[$0] } }, positiveLabel: positiveLabel)
    }
}
