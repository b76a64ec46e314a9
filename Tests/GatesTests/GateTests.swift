import GitOpsMLCore
import Testing

@testable import Gates

/// Paired predictions where the champion is right on `championRight` of `n` examples, the challenger on
/// `challengerRight`, with `bothRight` examples right for both.
private func paired(n: Int, championRight: Int, challengerRight: Int, bothRight: Int) -> PairedData {
    var truth: [String] = []
    var a: [String] = []
    var b: [String] = []
    for index in 0..<n {
        let label = index % 2 == 0 ? "1" : "0"
        let wrong = label == "1" ? "0" : "1"
        truth.append(label)
        let championCorrect = index < championRight
        let challengerCorrect =
            index < bothRight || (index >= championRight && index < championRight + challengerRight - bothRight)
        a.append(championCorrect ? label : wrong)
        b.append(challengerCorrect ? label : wrong)
    }
    let ids = (0..<n).map(String.init)
    return .classification(
        champion: ClassificationPredictions(ids: ids, truth: truth, predicted: a, score: nil),
        challenger: ClassificationPredictions(ids: ids, truth: truth, predicted: b, score: nil))
}

@Suite("Champion-vs-challenger gates")
struct GateTests {
    @Test func thresholdsAndFirstDeployments() {
        var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
        spec.threshold = 0.8
        let below = GateEvaluator.evaluate(spec, champion: nil, challenger: 0.75, paired: nil, firstDeployment: .pass)
        #expect(below.status == .fail)
        #expect(below.message.contains("below the threshold 0.8"))
        let first = GateEvaluator.evaluate(spec, champion: nil, challenger: 0.85, paired: nil, firstDeployment: .warn)
        #expect(first.status == .warn)
        #expect(first.message.contains("first deployment"))
        #expect(
            GateEvaluator.evaluate(spec, champion: nil, challenger: 0.85, paired: nil, firstDeployment: .fail).status
                == .fail)
        var loss = GateSpec(metric: "log_loss", greaterIsBetter: false)
        loss.threshold = 0.5
        #expect(
            GateEvaluator.evaluate(loss, champion: nil, challenger: 0.6, paired: nil, firstDeployment: .pass).status
                == .fail)
    }

    @Test func absoluteAndRelativeChangeFollowTheMetricsDirection() {
        var spec = GateSpec(metric: "log_loss", greaterIsBetter: false)
        spec.minAbsoluteChange = 0.01
        #expect(GateEvaluator.evaluate(spec, champion: 0.50, challenger: 0.48, paired: nil).status == .pass)
        #expect(GateEvaluator.evaluate(spec, champion: 0.50, challenger: 0.495, paired: nil).status == .fail)
        var tolerance = GateSpec(metric: "accuracy", greaterIsBetter: true)
        tolerance.minRelativeChange = -0.01  // may lose at most 1%
        #expect(GateEvaluator.evaluate(tolerance, champion: 0.80, challenger: 0.795, paired: nil).status == .pass)
        #expect(GateEvaluator.evaluate(tolerance, champion: 0.80, challenger: 0.78, paired: nil).status == .fail)
    }

    /// A point estimate would pass this (+1 point of accuracy), but on 200 examples it is not significant:
    /// the finding says so and the policy decides.
    @Test func tinyImprovementsAreNotSignificantAndThePolicyDecides() {
        let data = paired(n: 200, championRight: 160, challengerRight: 162, bothRight: 150)
        var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
        spec.minAbsoluteChange = 0
        #expect(GateEvaluator.evaluate(spec, champion: 0.80, challenger: 0.81, paired: data).status == .pass)
        spec.test = .mcnemar
        let strict = GateEvaluator.evaluate(spec, champion: 0.80, challenger: 0.81, paired: data)
        #expect(strict.status == .fail)
        #expect(strict.message.contains("not a significant improvement"))
        #expect(strict.method?.test == "McNemar score χ²")
        #expect(strict.n == 200)
        // scipy: chi2.sf((10 - 12)**2 / (10 + 12), 1), the score test on 10 and 12 discordant pairs.
        #expect(abs((strict.pValue ?? -1) - 0.6698153575994166) < 1e-12, "\(String(describing: strict.pValue))")
        // The interval is Tango's, and agrees with the test: it contains 0 since p ≥ α.
        #expect(strict.interval.map { $0.contains(0) } == true)
        #expect(abs((strict.difference ?? 0) - 0.01) < 1e-12)
        spec.onInsignificant = .warn
        #expect(GateEvaluator.evaluate(spec, champion: 0.80, challenger: 0.81, paired: data).status == .warn)
        spec.test = .bootstrap
        spec.onInsignificant = .fail
        let boot = GateEvaluator.evaluate(spec, champion: 0.80, challenger: 0.81, paired: data)
        #expect(boot.status == .fail)
        #expect(boot.interval.map { $0.contains(0) } == true)
    }

    @Test func largeImprovementsAreSignificant() {
        let data = paired(n: 4000, championRight: 3000, challengerRight: 3200, bothRight: 2900)
        var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
        spec.test = .mcnemar
        let outcome = GateEvaluator.evaluate(spec, champion: 0.75, challenger: 0.80, paired: data)
        #expect(outcome.status == .pass, "\(outcome.message)")
        #expect(outcome.method?.test == "McNemar score χ²")
        #expect((outcome.pValue ?? 1) < 1e-6)
        #expect(outcome.interval.map { $0.lowerBound > 0 } == true)
    }

    @Test func nonInferiority() {
        // The challenger loses 0.5 points of accuracy on 4000 examples.
        let slightlyWorse = paired(n: 4000, championRight: 3200, challengerRight: 3180, bothRight: 3100)
        var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
        spec.nonInferiorityMargin = 0.02
        let within = GateEvaluator.evaluate(spec, champion: 0.8, challenger: 0.795, paired: slightlyWorse)
        #expect(within.status == .pass, "\(within.message)")
        spec.nonInferiorityMargin = 0.002
        let outside = GateEvaluator.evaluate(spec, champion: 0.8, challenger: 0.795, paired: slightlyWorse)
        #expect(outside.status == .fail)
        #expect(outside.message.contains("non-inferiority not shown"))
    }

    @Test func mismatchedTestsAreErrorsNotPasses() {
        var spec = GateSpec(metric: "f1", greaterIsBetter: true)
        spec.test = .mcnemar
        let data = paired(n: 10, championRight: 5, challengerRight: 6, bothRight: 4)
        let outcome = GateEvaluator.evaluate(spec, champion: 0.5, challenger: 0.6, paired: data)
        #expect(outcome.status == .error)
        #expect(outcome.message.contains("McNemar's test applies to accuracy"))
        var noPairs = GateSpec(metric: "accuracy", greaterIsBetter: true)
        noPairs.test = .mcnemar
        #expect(GateEvaluator.evaluate(noPairs, champion: 0.5, challenger: 0.6, paired: nil).status == .error)
    }

    /// Constant champion scores against a perfectly separating challenger: DeLong's variance is zero and
    /// the test is undefined, with the reason; on_insignificant decides (it passed with p < 1e-16 before).
    @Test func undefinedTestsAreDecidedByThePolicy() {
        let truth = (0..<40).map { $0 % 2 == 0 ? "1" : "0" }
        let champion = ClassificationPredictions(
            ids: [], truth: truth, predicted: truth, score: truth.map { _ in 0.5 })
        let challenger = ClassificationPredictions(
            ids: [], truth: truth, predicted: truth, score: truth.map { $0 == "1" ? 0.9 : 0.1 })
        var spec = GateSpec(metric: "roc_auc", greaterIsBetter: true)
        spec.test = .delong
        spec.onInsignificant = .warn
        let outcome = GateEvaluator.evaluate(
            spec, champion: 0.5, challenger: 1, paired: .classification(champion: champion, challenger: challenger))
        #expect(outcome.status == .warn)
        #expect(outcome.undefined?.contains("variance of the AUC difference is zero") == true, "\(outcome.message)")
        #expect(outcome.pValue == nil)
    }

    /// A bootstrap of 999 resamples cannot show p below what they can resolve, and says so.
    @Test func bootstrapPValuesHaveAFloor() {
        let data = paired(n: 400, championRight: 200, challengerRight: 380, bothRight: 195)
        var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
        spec.test = .bootstrap
        spec.resamples = 999
        let outcome = GateEvaluator.evaluate(spec, champion: 0.5, challenger: 0.95, paired: data)
        // No resample at or below 0: p is the floor, 2·T₃₉₉(Φ⁻¹(1/1000)/√(400/399)), above 1/(B + 1).
        // scipy: 2 * t.cdf(norm.ppf(1 / 1000) / sqrt(400 / 399), 399).
        let floor = 0.002167528142503129
        #expect(abs((outcome.pValue ?? -1) - floor) < 1e-12, "\(String(describing: outcome.pValue))")
        #expect(outcome.message.contains("(the least these resamples can show)"), "\(outcome.message)")
        #expect(outcome.interval.map { $0.lowerBound > 0 } == true)
    }
}
