import Foundation
import TestSupport
import Testing

@testable import Gates

/// The rollout analysis's confidence sequences against a quadrature of the mixture likelihood ratio
/// (Tests/Reference/make_sequential_reference.py), and its decisions on streams with a known truth.
nonisolated(unsafe) private let fixture = referenceFixture("sequential_reference", in: Bundle.module)

private func stream(_ values: [Any]) -> RunningMean {
    var stream = RunningMean()
    stream.count = (values[0] as? NSNumber)?.intValue ?? 0
    stream.sum = (values[1] as? NSNumber)?.doubleValue ?? 0
    stream.sumOfSquares = (values[2] as? NSNumber)?.doubleValue ?? 0
    return stream
}

private func close(_ ours: Double, _ theirs: Double) -> Bool { abs(ours - theirs) <= 1e-9 * max(1, abs(theirs)) }

/// One error rate per version (parts per 10,000), the challenger's share in per mille, as refgen draws them.
private func observations(seed: Int, count: Int, share: Int, champion: Int, challenger: Int) -> [RolloutObservation] {
    var random = ReferenceData.Generator(seed: UInt64(seed))
    return (0..<count).map { index in
        let isChallenger = random.below(1000) < share
        let error = random.below(10_000) < (isChallenger ? challenger : champion) ? 1.0 : 0.0
        return RolloutObservation(
            version: isChallenger ? .challenger : .champion, time: Double(index), values: ["errors": error])
    }
}

private func errors(margin: Double = 0, alpha: Double = 0.05, mixing: Double? = nil) -> SequentialRule {
    SequentialRule(signal: "errors", kind: .rate, worse: .higher, margin: margin, alpha: alpha, mixing: mixing)
}

@Suite("Always-valid rollout analysis")
struct SequentialTests {
    @Test func intervalsAgreeWithTheQuadratureOfTheMixture() throws {
        let cases = try #require(fixture["intervals"] as? [[String: Any]])
        #expect(cases.count == 4)
        for (index, reference) in cases.enumerated() {
            let kind = try #require(ConfidenceSequence.Kind(rawValue: reference["kind"] as? String ?? ""))
            let alpha = try #require(reference["alpha"] as? Double)
            let tau = try #require(reference["tau"] as? Double)
            let treatment = stream(try #require(reference["treatment"] as? [Any]))
            let control = stream(try #require(reference["control"] as? [Any]))
            let interval = try #require(
                ConfidenceSequence.difference(treatment, control, kind: kind, alpha: alpha, mixing: tau))
            let lower = try #require(reference["lower"] as? Double)
            let upper = try #require(reference["upper"] as? Double)
            let p = try #require(reference["p_value"] as? Double)
            #expect(close(interval.lower, lower), "case \(index): lower \(interval.lower), reference \(lower)")
            #expect(close(interval.upper, upper), "case \(index): upper \(interval.upper), reference \(upper)")
            let theta0 = try #require(reference["theta0"] as? Double)
            let ours = interval.pValue(at: theta0)
            #expect(close(ours, p), "case \(index): p \(ours), reference \(p)")
        }
    }

    @Test func theFirstObservationJudgedWorseIsTheReferencesOne() throws {
        let streams = try #require(fixture["streams"] as? [[String: Any]])
        #expect(streams.count == 2)
        for spec in streams {
            func int(_ key: String) -> Int { (spec[key] as? NSNumber)?.intValue ?? -1 }
            let rule = errors(
                margin: spec["margin"] as? Double ?? -1, alpha: spec["alpha"] as? Double ?? -1,
                mixing: spec["tau"] as? Double)
            var analysis = RolloutAnalysis(plan: RolloutPlan(steps: [5, 100], minimumRequests: .max, rules: [rule]))
            for observation in observations(
                seed: int("seed"), count: int("n"), share: int("share_per_mille"), champion: int("champion_rate"),
                challenger: int("challenger_rate"))
            {
                if analysis.observe(observation) != nil { break }
            }
            let event = try #require(analysis.finished)
            #expect(event.action == .rollBack)
            #expect(event.observation == int("first_worse"), "seed \(int("seed"))")
            #expect(event.summary.contains("worse by more than the margin"))
        }
    }

    /// A/A, judged after every request: the chance of ever rolling back is at most α (about α/2 for the
    /// one side a rollback looks at). 100 seeded canaries of 10,000 requests at a 1 % error rate: a fixed
    /// 5 % test repeated at every request would roll back nearly all of them.
    @Test func identicalVersionsAreRarelyRolledBackHoweverOftenTheyAreJudged() {
        var rolledBack = 0
        for seed in 1...100 {
            var analysis = RolloutAnalysis(
                plan: RolloutPlan(steps: [50, 100], minimumRequests: .max, rules: [errors()]))
            for observation in observations(
                seed: 1000 + seed, count: 10_000, share: 500, champion: 100, challenger: 100)
            {
                if analysis.observe(observation) != nil { break }
            }
            if analysis.finished?.action == .rollBack { rolledBack += 1 }
        }
        #expect(rolledBack <= 5, "\(rolledBack) of 100 identical canaries rolled back at α = 0.05")
    }

    @Test func aGoodCanaryStepsThroughEveryStepToTheEnd() throws {
        let plan = RolloutPlan(steps: [5, 25, 50, 100], minimumRequests: 500, rules: [errors(margin: 0.02)])
        var analysis = RolloutAnalysis(plan: plan)
        var events: [RolloutEvent] = []
        for observation in observations(seed: 7, count: 200_000, share: 300, champion: 100, challenger: 100) {
            if let event = analysis.observe(observation) { events.append(event) }
            if analysis.finished != nil { break }
        }
        #expect(events.map(\.action) == [.advance, .advance, .complete])
        #expect(events.map(\.to) == [25, 50, 100])
        #expect(events.allSatisfy { $0.judgements.first?.verdict == .notWorse })
        // Each step waited for its own 500 challenger requests, evidence carried over from the last.
        #expect(events[0].judgements[0].challenger.count >= 500)
        #expect(events[1].judgements[0].challenger.count >= events[0].judgements[0].challenger.count + 500)
    }

    @Test func anUndecidedRolloutTakesThePlansDefaultWhenItsBudgetIsSpent() {
        for ending in [RolloutPlan.Ending.rollBack, .promote] {
            // A 0.5-point difference against a margin of 0.5 points: neither side can be shown.
            let plan = RolloutPlan(
                steps: [10, 100], minimumRequests: 100, maximumRequests: 5_000, onBudgetExhausted: ending,
                rules: [errors(margin: 0.005)])
            var analysis = RolloutAnalysis(plan: plan)
            for observation in observations(seed: 3, count: 10_000, share: 100, champion: 100, challenger: 150) {
                analysis.observe(observation)
            }
            #expect(analysis.finished?.action == (ending == .promote ? .budgetPromote : .budgetRollBack))
            #expect(analysis.finished?.observation == 5_000)
            #expect(analysis.observations == 5_000, "observations after the end are ignored")
        }
    }

    @Test func aShadowJudgesDisagreementAndThePredictionsDifferenceOnPairs() throws {
        let disagreement = SequentialRule(
            signal: "disagreement", kind: .rate, worse: .higher, margin: 0.05, alpha: 0.05, paired: true)
        let prediction = SequentialRule(
            signal: "prediction", kind: .mean, worse: .either, margin: 0.05, alpha: 0.05, paired: true)
        func run(disagreeEvery: Int, shift: Double) -> RolloutAnalysis {
            var analysis = RolloutAnalysis(
                plan: RolloutPlan(steps: [0], minimumRequests: 200, rules: [disagreement, prediction]))
            var random = ReferenceData.Generator(seed: 5)
            for index in 0..<50_000 where analysis.finished == nil {
                let noise = Double(random.below(1000)) / 10_000 - 0.05
                analysis.observe(
                    RolloutObservation(
                        version: .pair, time: Double(index),
                        values: [
                            "disagreement": index % disagreeEvery == 0 ? 1 : 0, "prediction": shift + noise,
                        ]))
            }
            return analysis
        }
        let close = run(disagreeEvery: 100, shift: 0)
        #expect(close.finished?.action == .complete)
        #expect(close.finished?.summary.contains("shadow passed") == true)
        let apart = run(disagreeEvery: 4, shift: 0)
        #expect(apart.finished?.action == .rollBack)
        #expect(apart.finished?.judgements.first?.verdict == .worse)
        let shifted = run(disagreeEvery: 100, shift: -0.2)
        #expect(shifted.finished?.action == .rollBack)
        #expect(shifted.finished?.judgements.last?.verdict == .worse)
    }

    @Test func numbersNeedThirtyObservationsAndAConstantStreamIsNotCertaintyEarly() {
        let rule = SequentialRule(
            signal: "prediction", kind: .mean, worse: .either, margin: 0.01, alpha: 0.05, paired: true)
        var stream = RunningMean()
        for _ in 0..<29 { stream.add(0) }
        #expect(rule.judge(challenger: stream, champion: RunningMean()).verdict == .undecided)
        stream.add(0)
        #expect(rule.judge(challenger: stream, champion: RunningMean()).verdict == .notWorse)
        // One early error on one request is not a rollback: Laplace's estimate keeps a variance.
        var one = RunningMean()
        one.add(1)
        var clean = RunningMean()
        for _ in 0..<1000 { clean.add(0) }
        #expect(errors().judge(challenger: one, champion: clean).verdict == .undecided)
    }
}
