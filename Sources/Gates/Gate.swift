import Foundation
import GitOpsMLCore

/// One champion-vs-challenger gate on a metric.
///
/// Point rules (MLflow `MetricThreshold` / TFMA change thresholds): the challenger must reach `threshold`
/// and beat the champion by `minAbsoluteChange` and by `minRelativeChange` × |champion| (in the metric's
/// better direction; negative values are tolerances, as in TFMA). With a `test`, the improvement must
/// also be significant at `alpha` (otherwise `onInsignificant` decides); with `nonInferiorityMargin` δ,
/// the one-sided (1 − α) lower bound of the improvement, from the same test's interval, must exceed −δ.
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
    /// Also the verdict of a test that is undefined on these data (zero variance, one class, too few pairs).
    public var onInsignificant: Finding.Status = .fail
    public var nonInferiorityMargin: Double?

    public init(metric: String, greaterIsBetter: Bool) {
        self.metric = metric
        self.greaterIsBetter = greaterIsBetter
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

/// How a comparison was made, for the report: the test and its variant, the interval's method, and the
/// numbers behind them (discordant counts, resamples, seed…).
public struct GateMethod: Sendable, Equatable {
    /// Short, for the sentence: "McNemar score χ²", "DeLong z", "bootstrap".
    public var test: String
    /// What a reviewer needs to recompute it: "McNemar's score test (χ², 1 df, no continuity correction)…".
    public var description: String
    public var interval: String
    public var details: [(key: String, value: StructuredValue)]

    public static func == (a: GateMethod, b: GateMethod) -> Bool {
        a.test == b.test && a.description == b.description && a.interval == b.interval
            && StructuredValue.object(a.details) == StructuredValue.object(b.details)
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
    /// The smallest p-value the test could give (a bootstrap's, from its resamples), when it has one.
    public var pValueFloor: Double?
    public var method: GateMethod?
    /// Why the test gave no answer on these data, when it could not.
    public var undefined: String?
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
            difference: champion.map { challenger - $0 }, interval: nil, confidence: nil, pValue: nil,
            pValueFloor: nil, method: nil, undefined: nil, n: paired?.count, reasons: [])
        var statuses: [Finding.Status] = [.pass]
        func rule(_ status: Finding.Status, _ reason: String) {
            statuses.append(status)
            outcome.reasons.append(reason)
        }

        guard challenger.isFinite else {
            rule(.fail, "the challenger's value is not a number")
            return finish(&outcome, statuses, spec)
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
        guard champion.isFinite else {
            rule(.error, "the champion's value is not a number")
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
            rule(.error, "significance not computed: the two versions' predictions share no evaluation ids")
            return finish(&outcome, statuses, spec)
        }
        let comparison: Comparison
        do {
            comparison = try compare(testName, spec: spec, paired: paired)
        } catch let error as Undefined {
            outcome.undefined = error.reason
            outcome.method = error.method
            rule(spec.onInsignificant, "\(error.method?.test ?? testName.rawValue) is undefined here: \(error.reason)")
            return finish(&outcome, statuses, spec)
        } catch {
            rule(.error, "\(error)")
            return finish(&outcome, statuses, spec)
        }
        outcome.interval = comparison.interval
        outcome.confidence = 1 - spec.alpha
        outcome.pValue = comparison.pValue
        outcome.pValueFloor = comparison.pValueFloor
        outcome.method = comparison.method
        outcome.difference = comparison.difference

        if spec.test != nil {
            let significant = comparison.pValue < spec.alpha
            if significant && direction * comparison.difference < 0 {
                rule(
                    .fail,
                    "significantly worse at α = \(format(spec.alpha)) (\(pText(comparison.pValue, floor: comparison.pValueFloor)))"
                )
            } else if !significant || direction * comparison.difference <= 0 {
                rule(
                    spec.onInsignificant,
                    "not a significant improvement at α = \(format(spec.alpha)) (\(pText(comparison.pValue, floor: comparison.pValueFloor)))"
                )
            }
        }
        if let margin = spec.nonInferiorityMargin {
            let bound = comparison.oneSidedLowerBound(direction)
            if !(bound > -margin) {
                rule(
                    .fail,
                    "non-inferiority not shown: the one-sided \(percent(1 - spec.alpha, digits: 0)) lower bound of the improvement (\(comparison.method.interval)) is \(signed(bound)), not above −\(format(margin))"
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
            if let interval = outcome.interval, let confidence = outcome.confidence, let method = outcome.method {
                parts[0] +=
                    "; \(percent(confidence, digits: 0)) CI \(signed(interval.lowerBound)) to \(signed(interval.upperBound)) (\(method.interval))"
            }
            if let p = outcome.pValue, let method = outcome.method {
                parts[0] += "; \(method.test) \(pText(p, floor: outcome.pValueFloor))"
            }
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
        var method: GateMethod
        /// challenger − champion on the paired examples.
        var difference: Double
        var interval: ClosedRange<Double>
        var pValue: Double
        var pValueFloor: Double?
        /// The one-sided lower bound of the improvement (direction × difference) at 1 − α, from the
        /// same interval method.
        var oneSidedLowerBound: (Double) -> Double
    }

    struct ComparisonError: Error, CustomStringConvertible {
        var description: String
    }

    /// The test cannot answer on these data; `onInsignificant` decides.
    struct Undefined: Error {
        var reason: String
        var method: GateMethod?
    }

    /// Below this many discordant pairs an accuracy bootstrap gives way to Tango's score interval.
    static let smallSampleDiscordantPairs = 30
    /// At most this many examples, a ROC AUC bootstrap gives way to DeLong's interval.
    static let smallSampleAUCExamples = 100

    static func compare(_ test: GateSpec.Test, spec: GateSpec, paired: PairedData) throws -> Comparison {
        let confidence = 1 - spec.alpha
        switch test {
        case .mcnemar:
            guard case .classification(let champion, let challenger) = paired,
                ["accuracy", "error_rate"].contains(spec.metric)
            else {
                throw ComparisonError(description: "McNemar's test applies to accuracy or error_rate of a classifier")
            }
            let result = McNemarScore.test(championCorrect: champion.correct, challengerCorrect: challenger.correct)
            // δ is the accuracy difference; error_rate's difference is −δ.
            let sign: Double = spec.metric == "accuracy" ? 1 : -1
            let interval = result.interval(confidence: confidence)
            let method = GateMethod(
                test: "McNemar score χ²",
                description:
                    "McNemar's score test (χ² = (c − b)²/(b + c), 1 df, no continuity correction, no exact small-sample switch); b = \(result.championOnly) pairs only the champion got right, c = \(result.challengerOnly) only the challenger",
                interval: "Tango score",
                details: [
                    ("test", .string("mcnemar")), ("variant", .string("score, no continuity correction")),
                    ("statistic", .double(result.statistic)), ("champion_only", .int(result.championOnly)),
                    ("challenger_only", .int(result.challengerOnly)),
                    ("interval_method", .string("Tango score interval (1998)")),
                ])
            return Comparison(
                method: method, difference: sign * result.difference,
                interval: sign > 0 ? interval : (-interval.upperBound)...(-interval.lowerBound),
                pValue: result.pValue, pValueFloor: nil,
                oneSidedLowerBound: { direction in
                    direction * sign > 0
                        ? result.lowerBound(confidence: confidence) : -result.upperBound(confidence: confidence)
                })
        case .delong:
            guard case .classification(let champion, let challenger) = paired, spec.metric == "roc_auc" else {
                throw ComparisonError(description: "DeLong's test applies to roc_auc")
            }
            guard !challenger.isMulticlass else {
                throw ComparisonError(description: "DeLong's test applies to a binary task's roc_auc (use bootstrap)")
            }
            let method = GateMethod(
                test: "DeLong z",
                description: "DeLong's test for correlated ROC AUCs (Sun & Xu's algorithm, normal approximation)",
                interval: "DeLong Wald",
                details: [("test", .string("delong")), ("interval_method", .string("Wald, DeLong variance"))])
            let championScores: [Double]
            let challengerScores: [Double]
            do {
                championScores = try ClassificationMetrics.binaryScores(champion, "roc_auc").scores
                challengerScores = try ClassificationMetrics.binaryScores(challenger, "roc_auc").scores
            } catch let error as MetricUnavailable {
                throw ComparisonError(description: error.description)
            }
            let positives = champion.positives
            let positiveCount = positives.lazy.filter { $0 }.count
            guard positiveCount >= 2, positives.count - positiveCount >= 2 else {
                throw Undefined(
                    reason:
                        "it needs at least two examples of each class (\(positiveCount) positive, \(positives.count - positiveCount) negative)",
                    method: method)
            }
            guard
                let result = DeLongResult.test(positives: positives, scoresA: championScores, scoresB: challengerScores)
            else {
                throw Undefined(
                    reason: "the variance of the AUC difference is zero (constant or perfectly separating scores)",
                    method: method)
            }
            let se = result.variance.squareRoot()
            let z1 = result.quantile(confidence)
            let interval = result.interval(confidence: confidence)
            var withStatistic = method
            withStatistic.details += [("statistic", .double(result.z)), ("variance", .double(result.variance))]
            if result.identical {
                withStatistic.description += "; identical scores: the difference is exactly 0, with no variance"
                withStatistic.details.append(("identical", .bool(true)))
            }
            if let df = result.degreesOfFreedom {
                // Few examples scored differently: Student's t, automatically, and said.
                withStatistic.test = "DeLong t (automatic: \(df + 1) examples scored differently)"
                withStatistic.description +=
                    "; only \(df + 1) examples are scored differently (fewer than \(DeLongResult.fewDiffering), or than half of them): Student's t with \(df) degrees of freedom, as the normal interval undercovers there"
                withStatistic.interval = "DeLong Wald, Student's t"
                withStatistic.details.append(("degrees_of_freedom", .int(df)))
            }
            return Comparison(
                method: withStatistic, difference: result.difference, interval: interval.lower...interval.upper,
                pValue: result.pValue, pValueFloor: nil,
                oneSidedLowerBound: { direction in direction * result.difference - z1 * se })
        case .bootstrap:
            guard paired.count >= 2 else {
                throw Undefined(reason: "a bootstrap needs at least two paired examples", method: nil)
            }
            // Accuracy with few discordant pairs: a bootstrap of a paired difference of proportions is a
            // Wald interval in disguise and undercovers (87 % for a 95 % interval at n = 50 with 3
            // discordant pairs, `make coverage`); Tango's score interval is the one Fagerland, Lydersen and
            // Laake (2014) recommend there, so it is used instead, and the report says why.
            if case .classification(let champion, let challenger) = paired,
                ["accuracy", "error_rate"].contains(spec.metric)
            {
                let discordant = zip(champion.correct, challenger.correct).lazy.filter { $0 != $1 }.count
                if discordant < smallSampleDiscordantPairs {
                    return switched(
                        try compare(.mcnemar, spec: spec, paired: paired),
                        test: " (automatic: \(discordant) discordant pairs)",
                        reason:
                            "Tango's score interval instead of the bootstrap: \(discordant) discordant pairs (fewer than \(smallSampleDiscordantPairs)), where a bootstrap undercovers"
                    )
                }
            }
            // ROC AUC of two binary classifiers on at most 100 examples, or scored differently on only a
            // few: the bootstrap's coverage there depends on how alike the two models are (95.7 % at
            // n = 50 on the dense design of `make coverage`, 97.1 % when they share 98 % of their noise,
            // 92.5 % on tied scores), DeLong's U-statistic variance does not (95.0, 96.3 and, with
            // Student's t where few differ, 96.4 %): DeLong's interval is used instead, and said.
            if case .classification(_, let challenger) = paired, spec.metric == "roc_auc", !challenger.isMulticlass,
                let comparison = try? compare(.delong, spec: spec, paired: paired)
            {
                let differing = comparison.method.details.first(where: { $0.key == "degrees_of_freedom" })
                let reason: String?
                if case .int(let df)? = differing?.value {
                    reason = "only \(df + 1) examples are scored differently"
                } else if paired.count <= smallSampleAUCExamples {
                    reason = "\(paired.count) examples (at most \(smallSampleAUCExamples))"
                } else {
                    reason = nil
                }
                if let reason {
                    return switched(
                        comparison, test: " instead of the bootstrap",
                        reason:
                            "DeLong's interval instead of the bootstrap: \(reason), where a bootstrap's coverage is unreliable"
                    )
                }
            }
            let result = try bootstrap(spec, paired: paired)
            let method = GateMethod(
                test: "bootstrap (\(spec.resamples) resamples, seed \(spec.seed))",
                description:
                    "paired bootstrap of the difference, \(result.resamples) resamples with a value (\(result.undefinedResamples) without), seed \(spec.seed)",
                interval: "bootstrap expanded percentile",
                details: [
                    ("test", .string("bootstrap")), ("resamples", .int(spec.resamples)),
                    ("resamples_without_value", .int(result.undefinedResamples)),
                    ("seed", .int(Int(truncatingIfNeeded: spec.seed))),
                    (
                        "interval_method",
                        .string(
                            "expanded percentile (Hesterberg 2015): order statistics k = ⌈(B+1)α′/2⌉−1 and B+1−k, α′/2 = Φ(−√(n/(n−1))·t(1−α/2, n−1))"
                        )
                    ),
                    (
                        "p_value_method",
                        .string(
                            "the interval inverted: 2·T(n−1)(Φ⁻¹((m+1)/(B+1))/√(n/(n−1))), m the fewer resamples on one side of 0"
                        )
                    ),
                ])
            // Resamples without a value (one class drawn) are left out; past 5 % the remaining ones no
            // longer describe the data, and the comparison is undefined.
            if result.undefinedResamples * 20 > spec.resamples {
                throw Undefined(
                    reason:
                        "\(result.undefinedResamples) of \(spec.resamples) resamples had no value (too few examples of a class)",
                    method: method)
            }
            guard let interval = result.interval(confidence: confidence),
                let lower = result.lowerBound(confidence: confidence),
                let upper = result.upperBound(confidence: confidence)
            else {
                throw Undefined(
                    reason:
                        "\(result.resamples) resamples are too few for a \(percent(confidence, digits: 0)) interval",
                    method: method)
            }
            return Comparison(
                method: method, difference: result.estimate, interval: interval, pValue: result.pValue,
                pValueFloor: result.smallestPValue,
                oneSidedLowerBound: { direction in direction > 0 ? lower : -upper })
        }
    }

    /// Another method's comparison in place of the bootstrap asked for, with the reason in its name,
    /// description and details.
    static func switched(_ comparison: Comparison, test: String, reason: String) -> Comparison {
        var comparison = comparison
        comparison.method.test += test
        comparison.method.description = reason + "; " + comparison.method.description
        comparison.method.details.append(("small_sample_switch", .string(reason)))
        return comparison
    }

    /// Per-example values whose mean is the metric, when there are such (the fast path); else the metric
    /// recomputed on each resample.
    static func bootstrap(_ spec: GateSpec, paired: PairedData) throws -> BootstrapResult {
        let seed = spec.seed
        switch paired {
        case .classification(let champion, let challenger):
            if case .classification(let terms) = Metric.named(spec.metric)?.terms,
                let a = terms(champion), let b = terms(challenger)
            {
                return PairedBootstrap.meanDifference(zip(a, b).map { $1 - $0 }, resamples: spec.resamples, seed: seed)
            }
            do {
                guard try ClassificationMetrics.metric(spec.metric, challenger) != nil else {
                    throw ComparisonError(description: "cannot compute \(spec.metric) from the predictions")
                }
            } catch let error as MetricUnavailable {
                throw ComparisonError(description: error.description)
            }
            let metric = spec.metric
            return PairedBootstrap.difference(count: champion.count, resamples: spec.resamples, seed: seed) { indices in
                guard let a = try? ClassificationMetrics.metric(metric, champion.subset(indices)),
                    let b = try? ClassificationMetrics.metric(metric, challenger.subset(indices))
                else { return nil }
                return b - a
            }
        case .regression(let truth, let champion, let challenger):
            guard let known = Metric.named(spec.metric), known.task == .regression else {
                throw ComparisonError(description: "unknown regression metric \(spec.metric)")
            }
            if case .regression(let terms) = known.terms {
                let differences = zip(terms(truth, champion), terms(truth, challenger)).map { $1 - $0 }
                return PairedBootstrap.meanDifference(differences, resamples: spec.resamples, seed: seed)
            }
            let metric = spec.metric
            return PairedBootstrap.difference(count: truth.count, resamples: spec.resamples, seed: seed) { indices in
                let t = indices.map { truth[$0] }
                guard let a = RegressionMetrics.metric(metric, truth: t, predicted: indices.map { champion[$0] }),
                    let b = RegressionMetrics.metric(metric, truth: t, predicted: indices.map { challenger[$0] })
                else { return nil }
                return b - a
            }
        }
    }

    // MARK: - Formatting

    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        if value != 0 && abs(value) < 0.001 { return String(format: "%.2g", value) }
        return String(format: "%.4g", value)
    }

    /// "p = 0.012", "p = 5.7e-22"; at a resampling test's floor, "p ≤ 0.0036 (the least these resamples can show)".
    static func pText(_ p: Double, floor: Double? = nil) -> String {
        if let floor, p <= floor { return "p ≤ \(format(floor)) (the least these resamples can show)" }
        if p == 0 { return "p < 1e-300" }
        return "p = \(format(p))"
    }

    public static func signed(_ value: Double) -> String { (value >= 0 ? "+" : "−") + format(abs(value)) }

    static func percent(_ value: Double, digits: Int = 1) -> String { String(format: "%.\(digits)f%%", value * 100) }

    static func signedPercent(_ value: Double) -> String { (value >= 0 ? "+" : "−") + percent(abs(value)) }
}
