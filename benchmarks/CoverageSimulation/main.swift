// Coverage of the intervals the gates use, by simulation: each interval's share of replications that
// contain the true difference, at n = 50, 200 and 1,000. Run: swift run -c release coverage-simulation [reps]
import Foundation
import Gates

nonisolated(unsafe) var rng = SplitMix64(seed: 20_261_129)  // one thread
func uniform() -> Double { (Double(rng.next() >> 11) + 0.5) / Double(1 << 53) }
func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
func phi(_ x: Double) -> Double { Distributions.normalCDF(x) }

let replications = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 1000
let confidence = 0.95

/// Paired correctness: cells (both right, champion only, challenger only, neither); δ = 0.10 − 0.07.
func accuracyPairs(_ n: Int) -> (champion: [Bool], challenger: [Bool]) {
    var a: [Bool] = []
    var b: [Bool] = []
    for _ in 0..<n {
        let u = uniform()
        a.append(u < 0.80)
        b.append(u < 0.73 || (u >= 0.80 && u < 0.90))
    }
    return (a, b)
}

/// The sparse designs: the two agree on nearly every example, `championOnly` and `challengerOnly` the
/// shares where one alone is right (3 % and 6 %: about 4.5 discordant pairs at n = 50; 1 % and 2 %: 1.5).
func sparseAccuracyPairs(_ n: Int, championOnly: Double, challengerOnly: Double) -> (
    champion: [Bool], challenger: [Bool]
) {
    var a: [Bool] = []
    var b: [Bool] = []
    for _ in 0..<n {
        let u = uniform()
        // u < 0.8: both right; then champion only; then challenger only; the rest: both wrong.
        a.append(u < 0.8 + championOnly)
        b.append(u < 0.8 || (u >= 0.8 + championOnly && u < 0.8 + championOnly + challengerOnly))
    }
    return (a, b)
}

/// Binormal scores sharing half their noise: AUC = Φ(μ/√2) for each model.
func scores(_ n: Int) -> (positives: [Bool], a: [Double], b: [Double]) {
    var positives: [Bool] = []
    var a: [Double] = []
    var b: [Double] = []
    for _ in 0..<n {
        let positive = uniform() < 0.4
        let shared = normal()
        positives.append(positive)
        a.append((positive ? 1.0 : 0) + 0.5.squareRoot() * shared + 0.5.squareRoot() * normal())
        b.append((positive ? 1.3 : 0) + 0.5.squareRoot() * shared + 0.5.squareRoot() * normal())
    }
    return (positives, a, b)
}

/// The sparse design for AUC: scores sharing 98 % of their noise variance, so the two models order
/// nearly every pair alike; AUC = Φ(μ/√2) for each.
func sparseScores(_ n: Int) -> (positives: [Bool], a: [Double], b: [Double]) {
    var positives: [Bool] = []
    var a: [Double] = []
    var b: [Double] = []
    let (shared, own) = (0.98.squareRoot(), 0.02.squareRoot())
    for _ in 0..<n {
        let positive = uniform() < 0.4
        let common = normal()
        positives.append(positive)
        a.append((positive ? 1.0 : 0) + shared * common + own * normal())
        b.append((positive ? 1.1 : 0) + shared * common + own * normal())
    }
    return (positives, a, b)
}

/// The sparse, tied design for AUC: scores on a grid of 0.1 (ties everywhere), the challenger different
/// from the champion on 10 % of the examples only (a step towards the right answer): few pairs ordered
/// differently.
func tiedSparseScores(_ n: Int) -> (positives: [Bool], a: [Double], b: [Double]) {
    var positives: [Bool] = []
    var a: [Double] = []
    var b: [Double] = []
    for _ in 0..<n {
        let positive = uniform() < 0.4
        let score = (((positive ? 0.6 : 0.4) + 0.25 * normal()) * 10).rounded() / 10
        positives.append(positive)
        a.append(score)
        b.append(uniform() < 0.1 ? score + (positive ? 0.1 : -0.1) : score)
    }
    return (positives, a, b)
}

/// Per-example log-loss differences of two calibrated-ish classifiers (the gates' bootstrap fast path).
func logLossDifferences(_ n: Int) -> [Double] {
    (0..<n).map { _ in
        let x = normal()
        let truth = uniform() < 1 / (1 + exp(-1.5 * x))
        let pa = 1 / (1 + exp(-(1.2 * x + 0.3 * normal())))
        let pb = 1 / (1 + exp(-(1.5 * x + 0.2 * normal())))
        let la = truth ? -log(pa) : -log(1 - pa)
        let lb = truth ? -log(pb) : -log(1 - pb)
        return lb - la
    }
}

let trueAccuracyDifference = 0.10 - 0.07
// The tied design's true AUC difference, from 2 million examples (Monte Carlo error about 3e-4).
let trueTiedAUCDifference: Double = {
    let s = tiedSparseScores(2_000_000)
    guard let a = ClassificationMetrics.rocAUC(positives: s.positives, scores: s.a),
        let b = ClassificationMetrics.rocAUC(positives: s.positives, scores: s.b)
    else { return .nan }
    return b - a
}()
let sparseDesigns = [(championOnly: 0.03, challengerOnly: 0.06), (championOnly: 0.01, challengerOnly: 0.02)]
let trueSparseAUCDifference = phi(1.1 / 2.squareRoot()) - phi(1.0 / 2.squareRoot())
let trueAUCDifference = phi(1.3 / 2.squareRoot()) - phi(1.0 / 2.squareRoot())
// The true mean log-loss difference, from 4 million examples (its own Monte Carlo error is about 2e-4).
let trueLogLossDifference: Double = {
    let sample = logLossDifferences(4_000_000)
    return sample.reduce(0, +) / Double(sample.count)
}()

/// The interval a gate asking for a bootstrap on accuracy gives, through the gate (which turns to Tango's
/// interval with fewer than 30 discordant pairs): the interval a user gets.
func gateBootstrap(_ champion: [Bool], _ challenger: [Bool], seed: UInt64) -> ClosedRange<Double>? {
    let ids = (0..<champion.count).map(String.init)
    let truth = [String](repeating: "1", count: champion.count)
    func predictions(_ correct: [Bool]) -> ClassificationPredictions {
        ClassificationPredictions(ids: ids, truth: truth, predicted: correct.map { $0 ? "1" : "0" }, score: nil)
    }
    var spec = GateSpec(metric: "accuracy", greaterIsBetter: true)
    (spec.test, spec.resamples, spec.seed) = (.bootstrap, 999, seed)
    return GateEvaluator.evaluate(
        spec, champion: 0, challenger: 0,
        paired: .classification(champion: predictions(champion), challenger: predictions(challenger))
    ).interval
}

/// The interval a gate asking for a bootstrap on ROC AUC gives, through the gate.
func gateBootstrapAUC(_ s: (positives: [Bool], a: [Double], b: [Double]), seed: UInt64) -> ClosedRange<Double>? {
    let ids = (0..<s.positives.count).map(String.init)
    let truth = s.positives.map { $0 ? "1" : "0" }
    func predictions(_ scores: [Double]) -> ClassificationPredictions {
        ClassificationPredictions(
            ids: ids, truth: truth, predicted: scores.map { $0 >= 0.5 ? "1" : "0" }, score: scores)
    }
    var spec = GateSpec(metric: "roc_auc", greaterIsBetter: true)
    (spec.test, spec.resamples, spec.seed) = (.bootstrap, 999, seed)
    return GateEvaluator.evaluate(
        spec, champion: 0, challenger: 0,
        paired: .classification(champion: predictions(s.a), challenger: predictions(s.b))
    ).interval
}

print("interval | n | replications | coverage (target 94.0–96.5 %)")
print("---|---|---|---")
for n in [50, 200, 1000] {
    var tango = 0
    var bootstrapAccuracy = 0
    var gateAccuracy = 0
    var delong = 0
    var delongDefined = 0
    var bootstrapLoss = 0
    var bootstrapAUC = 0
    var bootstrapAUCDefined = 0
    var sparseTango = [0, 0]
    var sparseBootstrap = [0, 0]
    var (sparseDelong, sparseDelongDefined) = (0, 0)
    var (tiedDelong, tiedDelongDefined) = (0, 0)
    var (sparseBootstrapAUC, sparseBootstrapAUCDefined) = (0, 0)
    var (tiedBootstrapAUC, tiedBootstrapAUCDefined) = (0, 0)
    for replication in 0..<replications {
        for (index, design) in sparseDesigns.enumerated() {
            let sparse = sparseAccuracyPairs(
                n, championOnly: design.championOnly, challengerOnly: design.challengerOnly)
            let trueSparseAccuracyDifference = design.challengerOnly - design.championOnly
            let sparseTest = McNemarScore.test(championCorrect: sparse.champion, challengerCorrect: sparse.challenger)
            if sparseTest.interval(confidence: confidence).contains(trueSparseAccuracyDifference) {
                sparseTango[index] += 1
            }
            if gateBootstrap(sparse.champion, sparse.challenger, seed: UInt64(replication))?.contains(
                trueSparseAccuracyDifference) == true
            {
                sparseBootstrap[index] += 1
            }
        }
        let tied = tiedSparseScores(n)
        if let result = DeLongResult.test(positives: tied.positives, scoresA: tied.a, scoresB: tied.b) {
            tiedDelongDefined += 1
            let interval = result.interval(confidence: confidence)
            if interval.lower <= trueTiedAUCDifference && trueTiedAUCDifference <= interval.upper { tiedDelong += 1 }
        }
        if let interval = gateBootstrapAUC(tied, seed: UInt64(replication)) {
            tiedBootstrapAUCDefined += 1
            if interval.contains(trueTiedAUCDifference) { tiedBootstrapAUC += 1 }
        }
        let ss = sparseScores(n)
        if let result = DeLongResult.test(positives: ss.positives, scoresA: ss.a, scoresB: ss.b) {
            sparseDelongDefined += 1
            let interval = result.interval(confidence: confidence)
            if interval.lower <= trueSparseAUCDifference && trueSparseAUCDifference <= interval.upper {
                sparseDelong += 1
            }
        }
        if let interval = gateBootstrapAUC(ss, seed: UInt64(replication)) {
            sparseBootstrapAUCDefined += 1
            if interval.contains(trueSparseAUCDifference) { sparseBootstrapAUC += 1 }
        }
        let pairs = accuracyPairs(n)
        let test = McNemarScore.test(championCorrect: pairs.champion, challengerCorrect: pairs.challenger)
        if test.interval(confidence: confidence).contains(trueAccuracyDifference) { tango += 1 }
        let perExample = zip(pairs.champion, pairs.challenger).map { Double($1 ? 1 : 0) - Double($0 ? 1 : 0) }
        let boot = PairedBootstrap.meanDifference(perExample, resamples: 999, seed: UInt64(replication))
        if boot.interval(confidence: confidence)?.contains(trueAccuracyDifference) == true { bootstrapAccuracy += 1 }
        if gateBootstrap(pairs.champion, pairs.challenger, seed: UInt64(replication))?.contains(
            trueAccuracyDifference) == true
        {
            gateAccuracy += 1
        }
        let s = scores(n)
        if let result = DeLongResult.test(positives: s.positives, scoresA: s.a, scoresB: s.b) {
            delongDefined += 1
            let interval = result.interval(confidence: confidence)
            if interval.lower <= trueAUCDifference && trueAUCDifference <= interval.upper { delong += 1 }
        }
        // ROC-AUC recomputed on every resample (the general path): the slow one.
        do {
            let boot = PairedBootstrap.difference(count: n, resamples: 999, seed: UInt64(replication)) { indices in
                let positives = indices.map { s.positives[$0] }
                guard let a = ClassificationMetrics.rocAUC(positives: positives, scores: indices.map { s.a[$0] }),
                    let b = ClassificationMetrics.rocAUC(positives: positives, scores: indices.map { s.b[$0] })
                else { return nil }
                return b - a
            }
            if boot.undefinedResamples * 20 <= 999, let interval = boot.interval(confidence: confidence) {
                bootstrapAUCDefined += 1
                if interval.contains(trueAUCDifference) { bootstrapAUC += 1 }
            }
        }
        let loss = PairedBootstrap.meanDifference(logLossDifferences(n), resamples: 999, seed: UInt64(replication))
        if loss.interval(confidence: confidence)?.contains(trueLogLossDifference) == true { bootstrapLoss += 1 }
    }
    func row(_ name: String, _ hits: Int, _ total: Int) {
        print("\(name) | \(n) | \(total) | \(String(format: "%.1f", 100 * Double(hits) / Double(max(total, 1)))) %")
    }
    row("McNemar score test / Tango interval (accuracy)", tango, replications)
    row("bootstrap expanded percentile (accuracy), raw", bootstrapAccuracy, replications)
    row("a gate's bootstrap (accuracy; Tango below 30 discordant pairs)", gateAccuracy, replications)
    row("DeLong Wald (ROC AUC)", delong, delongDefined)
    row("bootstrap expanded percentile (ROC AUC)", bootstrapAUC, bootstrapAUCDefined)
    row("bootstrap expanded percentile (log-loss)", bootstrapLoss, replications)
    for (index, design) in sparseDesigns.enumerated() {
        let name = "sparse \(Int(design.championOnly * 100))/\(Int(design.challengerOnly * 100)) %"
        row("\(name): McNemar score test / Tango interval (accuracy)", sparseTango[index], replications)
        row(
            "\(name): a gate's bootstrap (accuracy; Tango below 30 discordant pairs)", sparseBootstrap[index],
            replications)
    }
    row("sparse: DeLong Wald (ROC AUC)", sparseDelong, sparseDelongDefined)
    row("sparse, tied: DeLong Wald (ROC AUC)", tiedDelong, tiedDelongDefined)
    row("sparse: a gate's bootstrap (ROC AUC)", sparseBootstrapAUC, sparseBootstrapAUCDefined)
    row("sparse, tied: a gate's bootstrap (ROC AUC)", tiedBootstrapAUC, tiedBootstrapAUCDefined)
}
