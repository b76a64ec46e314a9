// Canaries judged continuously, by simulation: how often identical versions are rolled back (A/A), how
// fast a worse challenger is, and how often an equal one is promoted within the budget, for the rollout
// analysis (`RolloutAnalysis`: always-valid confidence sequences decided after every request) and, on the
// same traffic, a fixed threshold checked every interval (Flagger's analysis) and a fixed-level test
// repeated every interval (Kayenta's judge) or every 100 requests.
// Run: swift run -c release canary-simulation [canaries]
import Foundation
import Gates
import Statistics

let canaries = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 1000
let baseline = 0.01
let steps: [Double] = [5, 25, 50, 100]
let minimumPerStep = 1_000  // challenger requests a step needs
let budget = 200_000  // requests of one rollout (33 minutes at 100 requests per second)
let interval = 6_000  // one minute at 100 requests per second: the peers' analysis interval
let alpha = 0.05

enum Outcome { case rolledBack(Int), promoted(Int), undecided }

/// One simulated request: does it go to the challenger at this step, and is it an error?
struct Traffic {
    var random: SplitMix64
    let challengerRate: Double
    mutating func uniform() -> Double { (Double(random.next() >> 11) + 0.5) / Double(1 << 53) }
    mutating func next(percent: Double) -> (challenger: Bool, error: Bool) {
        let challenger = uniform() * 100 < percent
        return (challenger, uniform() < (challenger ? challengerRate : baseline))
    }
}

/// gitops-ml: the rollout analysis, judged after every request.
func sequential(_ traffic: inout Traffic, margin: Double, ending: RolloutPlan.Ending) -> Outcome {
    let rule = SequentialRule(signal: "errors", kind: .rate, worse: .higher, margin: margin, alpha: alpha)
    let plan = RolloutPlan(
        steps: steps, minimumRequests: minimumPerStep, maximumRequests: budget, onBudgetExhausted: ending,
        rules: [rule])
    var analysis = RolloutAnalysis(plan: plan)
    for index in 0..<budget {
        let request = traffic.next(percent: analysis.percent)
        let event = analysis.observe(
            RolloutObservation(
                version: request.challenger ? .challenger : .champion, time: Double(index),
                values: ["errors": request.error ? 1 : 0]))
        switch event?.action {
        case .rollBack?: return .rolledBack(index + 1)
        case .complete?: return .promoted(index + 1)
        case .budgetPromote?: return .undecided
        case .budgetRollBack?: return .undecided
        default: continue
        }
    }
    return .undecided
}

/// Flagger's analysis: every interval, the canary's error rate over that interval against a fixed
/// threshold (the baseline plus one point); the first failed check rolls back, a passed one steps on.
func fixedThreshold(_ traffic: inout Traffic) -> Outcome {
    var step = 0
    var requests = 0
    while requests < budget {
        var canary = 0
        var errors = 0
        for _ in 0..<interval {
            let request = traffic.next(percent: steps[step])
            if request.challenger {
                canary += 1
                if request.error { errors += 1 }
            }
        }
        requests += interval
        if canary > 0, Double(errors) / Double(canary) > baseline + 0.01 { return .rolledBack(requests) }
        step += 1
        if step == steps.count - 1 { return .promoted(requests) }
    }
    return .undecided
}

/// Kayenta's judge: a one-sided two-proportion test at a fixed 5 % level on the step's data, repeated
/// every `look` requests; significant → roll back; a step with its minimum requests not failing → next.
func repeatedTest(_ traffic: inout Traffic, look: Int) -> Outcome {
    var step = 0
    var arms = [(0, 0), (0, 0)]  // (requests, errors): champion, challenger
    let critical = Distributions.normalQuantile(1 - alpha)
    for index in 0..<budget {
        let request = traffic.next(percent: steps[step])
        let arm = request.challenger ? 1 : 0
        arms[arm].0 += 1
        if request.error { arms[arm].1 += 1 }
        guard (index + 1) % look == 0, arms[0].0 > 0, arms[1].0 > 0 else { continue }
        let p0 = Double(arms[0].1) / Double(arms[0].0)
        let p1 = Double(arms[1].1) / Double(arms[1].0)
        let pooled = Double(arms[0].1 + arms[1].1) / Double(arms[0].0 + arms[1].0)
        let se = (pooled * (1 - pooled) * (1 / Double(arms[0].0) + 1 / Double(arms[1].0))).squareRoot()
        if se > 0, (p1 - p0) / se > critical { return .rolledBack(index + 1) }
        if arms[1].0 >= minimumPerStep {
            step += 1
            arms = [(0, 0), (0, 0)]
            if step == steps.count - 1 { return .promoted(index + 1) }
        }
    }
    return .undecided
}

struct Method: Sendable {
    let name: String
    let run: @Sendable (inout Traffic) -> Outcome
}

let methods = [
    Method(name: "gitops-ml, margin 0 (every request)") { sequential(&$0, margin: 0, ending: .promote) },
    Method(name: "gitops-ml, margin 1 point (every request)") { sequential(&$0, margin: 0.01, ending: .rollBack) },
    Method(name: "fixed threshold every minute (Flagger-style)") { fixedThreshold(&$0) },
    Method(name: "5 % test every minute (Kayenta-style)") { repeatedTest(&$0, look: interval) },
    Method(name: "5 % test every 100 requests") { repeatedTest(&$0, look: 100) },
]

func percent(_ count: Int) -> String { String(format: "%.1f %%", 100 * Double(count) / Double(canaries)) }
func median(_ values: [Int]) -> String {
    guard !values.isEmpty else { return "–" }
    let sorted = values.sorted()
    return sorted[sorted.count / 2].formatted()
}

let start = Date()
print(
    "\(canaries) canaries per cell; champion error rate 1 %; steps 5 → 25 → 50 → 100 %; \(minimumPerStep) "
        + "challenger requests per step; budget \(budget) requests; α = 0.05; interval \(interval) requests\n")
print(
    "| method | A/A rolled back | A/A promoted (median requests) | A/A budget spent undecided "
        + "| +2 points: rolled back (median requests) | +5 points | +10 points |")
print("|---|---|---|---|---|---|---|")
for method in methods {
    var cells: [String] = []
    for (column, worse) in [0.0, 0.02, 0.05, 0.10].enumerated() {
        let outcomes = Parallel.map(canaries) { index in
            var traffic = Traffic(
                random: SplitMix64(seed: UInt64(index * 7919 + column * 1_000_003 + 17)),
                challengerRate: baseline + worse)
            return method.run(&traffic)
        }
        var rolledBack: [Int] = []
        var promoted: [Int] = []
        for outcome in outcomes {
            switch outcome {
            case .rolledBack(let requests): rolledBack.append(requests)
            case .promoted(let requests): promoted.append(requests)
            case .undecided: break
            }
        }
        if worse == 0 {
            cells += [
                percent(rolledBack.count), "\(percent(promoted.count)) (\(median(promoted)))",
                percent(canaries - rolledBack.count - promoted.count),
            ]
        } else {
            cells.append("\(percent(rolledBack.count)) (\(median(rolledBack)))")
        }
    }
    print("| \(method.name) | " + cells.joined(separator: " | ") + " |")
}
print(String(format: "\n%.0f s", Date().timeIntervalSince(start)))
