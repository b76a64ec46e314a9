import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Gates

/// Names, limits and zero-support classes decided as scikit-learn decides them, and degenerate
/// comparisons by their limit (Tests/Reference/make_pandas_reference.py wrote the reference values).
nonisolated(unsafe) private let fixture = referenceFixture("round3_reference", in: Bundle.module)

@Suite("Degenerate comparisons and scikit-learn's conventions")
struct DegenerateCasesTests {
    /// Every `neg_*` scorer scikit-learn has is greater-is-better (a negated loss or error).
    @Test func negatedScorersAreHigherIsBetter() throws {
        let names = try #require(fixture["neg_scorers"] as? [String])
        #expect(names.contains("neg_log_loss") && names.count >= 10)
        for name in names {
            #expect(MetricDirection.greaterIsBetter(name) == true, "\(name)")
            #expect(MetricDirection.greaterIsBetter("test_" + name) == true, "test_\(name) (cross_validate)")
        }
        #expect(MetricDirection.greaterIsBetter("log_loss") == false)
    }

    /// No discordant pairs: Tango's interval is ±z²/(n + z²) (the statistic's limit at δ̂ = 0 is 0),
    /// never collapsed to [−a, 0].
    @Test func tangoWithoutDiscordantPairsIsSymmetric() throws {
        for item in try #require(fixture["tango_no_discordant"] as? [[String: Any]]) {
            let n = try #require(item["n"] as? Int)
            let confidence = try #require(item["confidence"] as? Double)
            let expected = try #require(item["interval"] as? [Double])
            let test = McNemarScore.test(b: 0, c: 0, n: n)
            let interval = test.interval(confidence: confidence)
            #expect(abs(interval.lowerBound - expected[0]) < 1e-9, "n \(n): \(interval)")
            #expect(abs(interval.upperBound - expected[1]) < 1e-9, "n \(n): \(interval)")
        }
        // A non-inferiority decision that the collapsed end used to flip: identical predictions meet any
        // positive margin on accuracy and on error_rate.
        for metric in ["accuracy", "error_rate"] {
            var spec = GateSpec(metric: metric, greaterIsBetter: metric == "accuracy")
            spec.test = .mcnemar
            spec.nonInferiorityMargin = 0.08
            spec.onInsignificant = .pass
            let ids = (0..<50).map(String.init)
            let truth = ids.map { Int($0)! % 3 == 0 ? "1" : "0" }
            let same = ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: nil)
            let outcome = GateEvaluator.evaluate(
                spec, champion: 1, challenger: 1, paired: .classification(champion: same, challenger: same))
            #expect(outcome.status == .pass, "\(metric): \(outcome.message)")
            #expect(
                abs((outcome.interval?.upperBound ?? 0) - 0.0713) < 1e-4,
                "\(metric): \(String(describing: outcome.interval))")
        }
    }

    /// An accuracy bootstrap with few discordant pairs gives way to Tango's score interval, and says so; with
    /// many it stays a bootstrap.
    @Test func sparseAccuracyBootstrapUsesTango() throws {
        func outcome(discordant: Int) -> GateOutcome {
            let n = 200
            let ids = (0..<n).map(String.init)
            let truth = [String](repeating: "1", count: n)
            // The first `discordant` examples: the challenger right and the champion wrong, then the reverse.
            let champion = ids.indices.map { $0 < discordant / 3 ? "1" : $0 < discordant ? "0" : "1" }
            let challenger = ids.indices.map { $0 < discordant / 3 ? "0" : "1" }
            var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
            spec.test = .bootstrap
            spec.onInsignificant = .warn
            return GateEvaluator.evaluate(
                spec, champion: 0, challenger: 0,
                paired: .classification(
                    champion: ClassificationPredictions(ids: ids, truth: truth, predicted: champion, score: nil),
                    challenger: ClassificationPredictions(ids: ids, truth: truth, predicted: challenger, score: nil)))
        }
        let sparse = outcome(discordant: 12)
        #expect(sparse.method?.test == "McNemar score χ² (automatic: 12 discordant pairs)", "\(sparse.message)")
        #expect(sparse.method?.description.hasPrefix("Tango's score interval instead of the bootstrap") == true)
        let tango = McNemarScore.test(b: 4, c: 8, n: 200).interval(confidence: 0.95)
        #expect(sparse.interval == tango)
        let dense = outcome(discordant: 60)
        #expect(dense.method?.test.hasPrefix("bootstrap (1000 resamples") == true, "\(dense.message)")
    }

    /// Few examples scored differently (fewer than 30, or than half): DeLong uses Student's t on (that count
    /// − 1) degrees of freedom, the interval and the p-value alike (they still agree), and the report says
    /// so; with many, the normal.
    @Test func delongWithFewDifferingScoresUsesStudentsT() throws {
        let n = 60
        let positives = (0..<n).map { $0 % 3 == 0 }
        let a = (0..<n).map { Double(($0 * 7) % 10) / 10 }
        // The challenger moves six examples one step towards the right answer.
        let b = a.enumerated().map { index, score in
            index < 6 ? score + (positives[index] ? 0.1 : -0.1) : score
        }
        let result = try #require(DeLongResult.test(positives: positives, scoresA: a, scoresB: b))
        #expect(result.degreesOfFreedom == 5)
        let normal = Distributions.normalQuantile(0.975) * result.variance.squareRoot()
        let interval = result.interval(confidence: 0.95)
        #expect(interval.upper - result.difference > normal * 1.2, "t(5) is wider than the normal")
        #expect((interval.lower > 0 || interval.upper < 0) == (result.pValue < 0.05))
        let ids = (0..<n).map(String.init)
        let truth = positives.map { $0 ? "1" : "0" }
        var spec = GateSpec(metric: "roc_auc", greaterIsBetter: true)
        spec.test = .delong
        let outcome = GateEvaluator.evaluate(
            spec, champion: 0.5, challenger: 0.5,
            paired: .classification(
                champion: ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: a),
                challenger: ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: b)))
        #expect(outcome.method?.test == "DeLong t (automatic: 6 examples scored differently)", "\(outcome.message)")
        // 60 of 200 examples scored differently (more than 30, fewer than half): still t, on 59.
        let wide = (0..<200).map { Double(($0 * 7) % 10) / 10 }
        let widePositives = (0..<200).map { $0 % 3 == 0 }
        let moved = wide.enumerated().map { index, score in
            index < 60 ? score + (widePositives[index] ? 0.1 : -0.1) : score
        }
        #expect(
            try #require(DeLongResult.test(positives: widePositives, scoresA: wide, scoresB: moved)).degreesOfFreedom
                == 59)
        // Continuous scores differ everywhere: the normal, as before.
        let c = a.enumerated().map { $0.element + Double($0.offset) * 1e-6 }
        #expect(try #require(DeLongResult.test(positives: positives, scoresA: a, scoresB: c)).degreesOfFreedom == nil)

        // A gate asking for a bootstrap on these six differing examples gets DeLong's t interval instead,
        // and says why; on scores that differ everywhere, DeLong's normal one on at most 100 examples and
        // the bootstrap on more.
        func bootstrapGate(_ champion: [Double], _ challenger: [Double], _ positives: [Bool]) -> GateOutcome {
            let ids = positives.indices.map(String.init)
            let truth = positives.map { $0 ? "1" : "0" }
            var spec = GateSpec(metric: "roc_auc", greaterIsBetter: true)
            spec.test = .bootstrap
            spec.onInsignificant = .warn
            return GateEvaluator.evaluate(
                spec, champion: 0.5, challenger: 0.5,
                paired: .classification(
                    champion: ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: champion),
                    challenger: ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: challenger)))
        }
        let switched = bootstrapGate(a, b, positives)
        #expect(
            switched.method?.test == "DeLong t (automatic: 6 examples scored differently) instead of the bootstrap",
            "\(switched.message)")
        #expect(
            switched.method?.description.hasPrefix(
                "DeLong's interval instead of the bootstrap: only 6 examples are scored differently") == true)
        let t = result.interval(confidence: 0.95)
        #expect(switched.interval == t.lower...t.upper)
        let small = bootstrapGate(a, c, positives)
        #expect(small.method?.test == "DeLong z instead of the bootstrap", "\(small.message)")
        #expect(small.method?.description.contains("60 examples (at most 100)") == true)
        let manyPositives = (0..<300).map { $0 % 3 == 0 }
        let manyA: [Double] = (0..<300).map { (index: Int) -> Double in
            let step = Double((index * 7) % 10) / 10
            return step + Double(index) * 1e-6
        }
        var manyB: [Double] = []
        for (index, score) in manyA.enumerated() {
            manyB.append(score + (manyPositives[index] ? 0.05 : 0) + Double(index) * 1e-7)
        }
        let large = bootstrapGate(manyA, manyB, manyPositives)
        #expect(large.method?.test.hasPrefix("bootstrap (1000 resamples") == true, "\(large.message)")
    }

    /// roc_auc_weighted with a class absent from y_true: the class weighs nothing (scikit-learn's value).
    @Test func weightedAUCLeavesOutAbsentClasses() throws {
        let reference = try #require(fixture["roc_auc_weighted_absent_class"] as? [String: Any])
        let classes = try #require(reference["classes"] as? [String])
        let truth = try #require(reference["truth"] as? [String])
        let rows = try #require(reference["probabilities"] as? [[Double]])
        let predictions = ClassificationPredictions(
            ids: truth.indices.map(String.init), truth: truth, predicted: truth, score: nil,
            probabilities: classes.indices.map { column in rows.map { $0[column] } }, positiveLabel: nil,
            classes: classes)
        let value = try #require(try ClassificationMetrics.metric("roc_auc_weighted", predictions))
        let expected = try #require(reference["roc_auc_weighted"] as? Double)
        #expect(abs(value - expected) < 1e-12, "ours \(value), scikit-learn \(expected)")
        // The macro average stays undefined, as scikit-learn's is nan.
        #expect(throws: MetricUnavailable.self) { try ClassificationMetrics.metric("roc_auc", predictions) }
    }

    /// DeLong on identical scores: the difference is exactly 0 with no variance, so a non-inferiority gate
    /// passes and a superiority one is insignificant (p = 1), never "undefined".
    @Test func delongOnIdenticalScoresIsZero() throws {
        let ids = (0..<40).map(String.init)
        let truth = ids.map { Int($0)! % 2 == 0 ? "1" : "0" }
        let scores = ids.map { Double((Int($0)! * 37) % 40) / 40 }
        let same = ClassificationPredictions(ids: ids, truth: truth, predicted: truth, score: scores)
        let paired = PairedData.classification(champion: same, challenger: same)
        var spec = GateSpec(metric: "roc_auc", greaterIsBetter: true)
        spec.test = .delong
        spec.nonInferiorityMargin = 0.01
        spec.onInsignificant = .pass
        let auc = try #require(try ClassificationMetrics.metric("roc_auc", same))
        let outcome = GateEvaluator.evaluate(spec, champion: auc, challenger: auc, paired: paired)
        #expect(outcome.status == .pass, "\(outcome.message)")
        #expect(outcome.undefined == nil)
        #expect(outcome.interval == 0...0)
        #expect(outcome.pValue == 1)
        #expect(outcome.method?.description.contains("identical scores") == true)
        spec.nonInferiorityMargin = nil
        spec.onInsignificant = .fail
        let superiority = GateEvaluator.evaluate(spec, champion: auc, challenger: auc, paired: paired)
        #expect(superiority.status == .fail && superiority.undefined == nil)
    }
}
