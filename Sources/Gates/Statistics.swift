import Dispatch
import Foundation
import GitOpsMLCore
import Statistics

/// Distributions needed by the tests, from the C library's `erfc` and `lgamma`.
public enum Distributions {
    /// Standard normal CDF.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.squareRoot()) }

    /// The two-sided normal p-value 2·P(Z > |z|), from `erfc` so that it keeps its relative accuracy far
    /// into the tail (1 − Φ(z) would round to 0 beyond z ≈ 8.3; this is exact to about 1e-15 relative
    /// down to 1e-300, z ≈ 37).
    public static func normalTwoSided(_ z: Double) -> Double {
        guard !z.isNaN else { return .nan }
        return min(1, erfc(abs(z) / 2.squareRoot()))
    }

    /// Standard normal quantile (bisection on `normalCDF`, to full double precision).
    /// Infinite at 0 and 1 (and NaN outside): no trap, whatever a policy's alpha makes of it.
    public static func normalQuantile(_ p: Double) -> Double {
        guard p > 0 else { return p == 0 ? -.infinity : .nan }
        guard p < 1 else { return p == 1 ? .infinity : .nan }
        var low = -40.0
        var high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if normalCDF(middle) < p { low = middle } else { high = middle }
            if high - low < 1e-15 * max(1, abs(middle)) { break }
        }
        return (low + high) / 2
    }
}

/// McNemar's score test with Tango's score interval, the pair the gates use for accuracy: the statistic
/// (c − b)²/(b + c) on one degree of freedom, without a continuity correction, is Tango's score statistic
/// at δ = 0, so the interval excludes 0 exactly when p < α. statsmodels: `mcnemar(table, exact=False,
/// correction=False)`.
public struct McNemarScore: Sendable, Equatable {
    /// b: the champion right and the challenger wrong; c: the reverse; n: all pairs.
    public var championOnly: Int
    public var challengerOnly: Int
    public var n: Int
    public var statistic: Double
    /// 1 when there are no discordant pairs (the two agree on every example: no evidence either way).
    public var pValue: Double

    /// δ = (c − b)/n, the challenger's accuracy minus the champion's.
    public var difference: Double { Double(challengerOnly - championOnly) / Double(max(n, 1)) }

    public static func test(championCorrect: [Bool], challengerCorrect: [Bool]) -> McNemarScore {
        var b = 0
        var c = 0
        for (champion, challenger) in zip(championCorrect, challengerCorrect) where champion != challenger {
            if champion { b += 1 } else { c += 1 }
        }
        return test(b: b, c: c, n: championCorrect.count)
    }

    public static func test(b: Int, c: Int, n: Int) -> McNemarScore {
        guard b + c > 0 else { return McNemarScore(championOnly: b, challengerOnly: c, n: n, statistic: 0, pValue: 1) }
        let z = Double(c - b) / Double(b + c).squareRoot()
        return McNemarScore(
            championOnly: b, challengerOnly: c, n: n, statistic: z * z, pValue: Distributions.normalTwoSided(z))
    }

    /// Tango's (1998) score statistic for H₀: δ = δ₀, with the restricted maximum-likelihood estimate of
    /// the discordant cell under H₀. Decreasing in δ₀.
    func tangoZ(_ delta: Double) -> Double {
        let x12 = Double(challengerOnly)
        let x21 = Double(championOnly)
        let size = Double(n)
        let a = 2 * size
        let b = -x12 - x21 + (2 * size - x12 + x21) * delta
        let c = -x21 * delta * (1 - delta)
        let q21 = ((b * b - 4 * a * c).squareRoot() - b) / (2 * a)
        let variance = size * (2 * q21 + delta * (1 - delta))
        return (x12 - x21 - size * delta) / variance.squareRoot()
    }

    /// Tango's score interval for δ at `confidence`: the δ₀ not rejected by the two-sided score test.
    public func interval(confidence: Double) -> ClosedRange<Double> {
        let z = Distributions.normalQuantile(0.5 + confidence / 2)
        return root(z, from: -1, to: difference)...root(-z, from: difference, to: 1)
    }

    /// The one-sided lower bound of δ at `confidence` (the lower end of the 2·confidence − 1 interval).
    public func lowerBound(confidence: Double) -> Double {
        root(Distributions.normalQuantile(confidence), from: -1, to: difference)
    }

    public func upperBound(confidence: Double) -> Double {
        root(-Distributions.normalQuantile(confidence), from: difference, to: 1)
    }

    /// The δ₀ in [low, high] where the statistic equals `target`, by bisection (the statistic is monotone);
    /// an end of [−1, 1] when the statistic never reaches the target there.
    func root(_ target: Double, from low: Double, to high: Double) -> Double {
        var low = low
        var high = high
        // Decreasing: above the target at `low`, below it at `high`.
        func above(_ delta: Double) -> Bool {
            let value = tangoZ(delta)
            guard value.isNaN else { return value > target }
            // 0/0 at δ̂ when there are no discordant pairs: the statistic's limit there is 0 from both
            // sides, so the interval is symmetric, ±z²/(n + z²).
            return delta == difference ? 0 > target : delta < difference
        }
        if !above(low) { return low }
        if above(high) { return high }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if middle == low || middle == high { break }
            if above(middle) { low = middle } else { high = middle }
        }
        return (low + high) / 2
    }
}

/// DeLong's test for two correlated ROC AUCs on the same examples (Sun & Xu's fast algorithm).
public struct DeLongResult: Sendable, Equatable {
    public var aucA: Double
    public var aucB: Double
    /// Variance of `aucB − aucA`.
    public var variance: Double
    public var z: Double
    public var pValue: Double

    public var difference: Double { aucB - aucA }
    /// The two models gave every example the same score: the difference is exactly 0 with no variance,
    /// and the interval is [0, 0] (the limit of the test, not an undefined one).
    public var identical = false
    /// Student's t degrees of freedom when few examples are scored differently by the two models (fewer
    /// than `fewDiffering`, or fewer than half of them): the difference then rests on those few, DeLong's
    /// variance is estimated from them, and the normal interval undercovers (88 % for a 95 % interval at
    /// n = 50 in `make coverage`'s tied design, 93.8 % at n = 1,000 where 10 % differ; t on (examples
    /// scored differently − 1) degrees of freedom covers). nil: normal.
    public var degreesOfFreedom: Int?
    public static let fewDiffering = 30

    /// The quantile of the reference distribution at `p`: normal, or Student's t with `degreesOfFreedom`.
    public func quantile(_ p: Double) -> Double {
        degreesOfFreedom.map { SpecialFunctions.studentTQuantile(p, df: Double($0)) } ?? Distributions.normalQuantile(p)
    }

    /// A two-sided confidence interval of `aucB − aucA` at `confidence`.
    public func interval(confidence: Double) -> (lower: Double, upper: Double) {
        let half = quantile(0.5 + confidence / 2) * variance.squareRoot()
        return (difference - half, difference + half)
    }

    /// nil when the test is undefined: fewer than two examples of either class, or a zero variance between
    /// different scores.
    public static func test(positives: [Bool], scoresA: [Double], scoresB: [Double]) -> DeLongResult? {
        let positiveIndices = positives.indices.filter { positives[$0] }
        let negativeIndices = positives.indices.filter { !positives[$0] }
        let m = Double(positiveIndices.count)
        let n = Double(negativeIndices.count)
        guard m >= 2, n >= 2 else { return nil }
        // Per positive: the share of negatives it outranks; per negative: the share of positives above it.
        func components(_ scores: [Double]) -> (auc: Double, positives: [Double], negatives: [Double]) {
            let ranks = Ranking.jointMidranks(scores, positives)
            var ofPositives: [Double] = []
            var ofNegatives: [Double] = []
            ofPositives.reserveCapacity(positiveIndices.count)
            ofNegatives.reserveCapacity(negativeIndices.count)
            var rankSum = 0.0
            for index in positives.indices {
                if positives[index] {
                    rankSum += ranks.all[index]
                    ofPositives.append((ranks.all[index] - ranks.withinClass[index]) / n)
                } else {
                    ofNegatives.append(1 - (ranks.all[index] - ranks.withinClass[index]) / m)
                }
            }
            return (rankSum / (m * n) - (m + 1) / (2 * n), ofPositives, ofNegatives)
        }
        let a = components(scoresA)
        if scoresA == scoresB {
            return DeLongResult(aucA: a.auc, aucB: a.auc, variance: 0, z: 0, pValue: 1, identical: true)
        }
        let b = components(scoresB)
        func covariance(_ x: [Double], _ y: [Double]) -> Double {
            let meanX = x.reduce(0, +) / Double(x.count)
            let meanY = y.reduce(0, +) / Double(y.count)
            return zip(x, y).reduce(0) { $0 + ($1.0 - meanX) * ($1.1 - meanY) } / Double(x.count - 1)
        }
        let variance =
            (covariance(a.positives, a.positives) + covariance(b.positives, b.positives)
                - 2 * covariance(a.positives, b.positives)) / m
            + (covariance(a.negatives, a.negatives) + covariance(b.negatives, b.negatives)
                - 2 * covariance(a.negatives, b.negatives)) / n
        let difference = b.auc - a.auc
        // Zero variance (both models constant, or both ranking perfectly) leaves the test undefined:
        // z would be ±∞ or 0/0, and no p-value means anything.
        guard variance > 1e-20 else { return nil }
        let z = difference / variance.squareRoot()
        let differing = zip(scoresA, scoresB).lazy.filter { $0 != $1 }.count
        guard differing < fewDiffering || 2 * differing < positives.count else {
            return DeLongResult(
                aucA: a.auc, aucB: b.auc, variance: variance, z: z, pValue: Distributions.normalTwoSided(z))
        }
        let df = max(1, differing - 1)
        return DeLongResult(
            aucA: a.auc, aucB: b.auc, variance: variance, z: z,
            pValue: 2 * SpecialFunctions.studentTCDF(-abs(z), df: Double(df)), degreesOfFreedom: df)
    }
}

/// SplitMix64: a small, fast, well-tested generator; the same seed gives the same resamples everywhere.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator of resample `index`: its state is a hash of (seed, index), so streams do not overlap
    /// (seeding with `seed + index` would make each stream the previous one shifted by one draw).
    public static func stream(_ seed: UInt64, _ index: Int) -> SplitMix64 {
        var seeder = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: index) &* 0xD1B5_4A32_D192_ED03))
        return SplitMix64(seed: seeder.next())
    }

    /// A uniform integer in 0..<bound (Lemire's multiply-shift; the tiny bias is below 2⁻³² for bounds < 2³²).
    @inline(__always)
    public mutating func below(_ bound: Int) -> Int {
        Int((UInt64(truncatingIfNeeded: next() >> 32) &* UInt64(bound)) >> 32)
    }
}

/// Binomial variates: inversion when n·p is small, else Hörmann's BTRS (transformed rejection with
/// squeeze, 1993), as TensorFlow samples them. Exact, and O(1) in n.
public enum Binomial {
    public static func sample(_ n: Int, _ probability: Double, _ rng: inout SplitMix64) -> Int {
        guard n > 0, probability > 0 else { return 0 }
        guard probability < 1 else { return n }
        if probability > 0.5 { return n - sample(n, 1 - probability, &rng) }
        let p = probability
        let q = 1 - p
        if Double(n) * p < 10 {
            // Inversion: walk the CDF from 0.
            let s = p / q
            let a = Double(n + 1) * s
            var r = pow(q, Double(n))
            var u = uniform(&rng)
            var x = 0
            while u > r {
                u -= r
                x += 1
                if x > n { return n }
                r *= a / Double(x) - s
            }
            return x
        }
        let spq = (Double(n) * p * q).squareRoot()
        let b = 1.15 + 2.53 * spq
        let a = -0.0873 + 0.0248 * b + 0.01 * p
        let c = Double(n) * p + 0.5
        let vr = 0.92 - 4.2 / b
        let alpha = (2.83 + 5.1 / b) * spq
        let lpq = log(p / q)
        let m = (Double(n + 1) * p).rounded(.down)
        let h = lgamma(m + 1) + lgamma(Double(n) - m + 1)
        while true {
            let u = uniform(&rng) - 0.5
            var v = uniform(&rng)
            let us = 0.5 - abs(u)
            let k = ((2 * a / us + b) * u + c).rounded(.down)
            if k < 0 || k > Double(n) { continue }
            if us >= 0.07 && v <= vr { return Int(k) }
            v = log(v * alpha / (a / (us * us) + b))
            if v <= h - lgamma(k + 1) - lgamma(Double(n) - k + 1) + (k - m) * lpq { return Int(k) }
        }
    }

    /// Uniform in (0, 1).
    static func uniform(_ rng: inout SplitMix64) -> Double {
        (Double(rng.next() >> 11) + 0.5) / Double(1 << 53)
    }
}

/// A paired bootstrap of a difference between challenger and champion on the same examples.
///
/// The interval is Hesterberg's expanded percentile interval (2015), which corrects the plain percentile
/// interval's under-coverage in small samples: for a two-sided 1 − α interval it takes the tail level
/// α′/2 = Φ(−√(n/(n−1))·t₁₋α/₂,ₙ₋₁) instead of α/2, and the order statistics d₍k₎ and d₍B+1−k₎ of the B
/// sorted resampled differences with k = ⌈(B + 1)α′/2⌉ − 1. The p-value is that interval inverted: with m
/// the fewer resamples on one side of 0, p = min(1, 2·Tₙ₋₁(Φ⁻¹((m + 1)/(B + 1))/√(n/(n−1)))), so the
/// interval excludes 0 exactly when p < α, and p is never below what B resamples can show.
public struct BootstrapResult: Sendable, Equatable {
    public var estimate: Double
    /// The resamples that gave a value (a resample with one class has no ROC-AUC, say).
    public var resamples: Int
    /// The resamples that gave none, left out of the distribution.
    public var undefinedResamples: Int
    /// The examples each resample draws (n).
    public var sampleSize: Int
    public var pValue: Double
    /// The resampled differences, sorted.
    public var distribution: [Double]

    /// The smallest p-value this many resamples can give (m = 0).
    public var smallestPValue: Double { Self.pValue(fewer: 0, resamples: resamples, n: sampleSize) }

    /// The two-sided expanded percentile interval at `confidence`; nil when there are too few resamples.
    public func interval(confidence: Double) -> ClosedRange<Double>? {
        guard let k = orderStatistic(tail: (1 - confidence) / 2) else { return nil }
        return distribution[k - 1]...distribution[resamples - k]
    }

    /// The one-sided lower (upper) bound at `confidence`.
    public func lowerBound(confidence: Double) -> Double? {
        orderStatistic(tail: 1 - confidence).map { distribution[$0 - 1] }
    }

    public func upperBound(confidence: Double) -> Double? {
        orderStatistic(tail: 1 - confidence).map { distribution[resamples - $0] }
    }

    /// √(n/(n−1)), the expansion.
    static func expansion(_ n: Int) -> Double { (Double(n) / Double(n - 1)).squareRoot() }

    /// Φ(−√(n/(n−1))·t₁₋tail,ₙ₋₁): the percentile tail level that gives a `tail` one-sided error.
    static func expandedTail(_ tail: Double, n: Int) -> Double {
        guard n >= 2 else { return tail }
        let t = SpecialFunctions.studentTQuantile(1 - tail, df: Double(n - 1))
        return Distributions.normalCDF(-expansion(n) * t)
    }

    static func pValue(fewer m: Int, resamples: Int, n: Int) -> Double {
        guard resamples > 0, n >= 2 else { return 1 }
        let q = Double(m + 1) / Double(resamples + 1)
        guard q < 0.5 else { return 1 }
        let z = Distributions.normalQuantile(q) / expansion(n)
        return min(1, 2 * SpecialFunctions.studentTCDF(z, df: Double(n - 1)))
    }

    /// k = ⌈(B + 1)·α′⌉ − 1 (1-based) for the expanded tail α′, when 1 ≤ k ≤ B/2.
    func orderStatistic(tail: Double) -> Int? {
        let k = Int((Double(resamples + 1) * Self.expandedTail(tail, n: sampleSize)).rounded(.up)) - 1
        return k >= 1 && 2 * k <= resamples ? k : nil
    }

    static func summarize(estimate: Double, draws: [Double], n: Int, undefined: Int = 0) -> BootstrapResult {
        let sorted = RadixSort.sorted(draws)
        let below = sorted.lazy.filter { $0 <= 0 }.count
        let above = sorted.lazy.filter { $0 >= 0 }.count
        return BootstrapResult(
            estimate: estimate, resamples: sorted.count, undefinedResamples: undefined, sampleSize: n,
            pValue: pValue(fewer: min(below, above), resamples: sorted.count, n: n), distribution: sorted)
    }
}

public enum PairedBootstrap {
    /// The bootstrap of the mean of per-example differences `d = challenger − champion` (accuracy,
    /// log-loss, Brier, absolute error…). Resample `b` draws with a generator seeded from `seed` and `b`,
    /// so results do not depend on how the work is split across cores. Differences that take few
    /// distinct values (accuracy: −1, 0, 1) are resampled as one-byte codes that stay in cache.
    public static func meanDifference(_ differences: [Double], resamples: Int, seed: UInt64) -> BootstrapResult {
        let n = differences.count
        let estimate = differences.reduce(0, +) / Double(max(n, 1))
        guard n > 0, resamples > 0 else {
            return BootstrapResult.summarize(estimate: estimate, draws: [], n: n)
        }
        let distinct = Array(Set(differences)).sorted()
        var draws = [Double](repeating: 0, count: resamples)
        if distinct.count <= 255 {
            // Few distinct values (accuracy: −1, 0, 1): the counts of a resample of n examples are
            // multinomial, drawn exactly as conditional binomials — the same distribution as resampling
            // indices, in O(distinct values) per resample instead of O(n).
            var frequency = [Int](repeating: 0, count: distinct.count)
            let code = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
            for value in differences { frequency[code[value] ?? 0] += 1 }
            for b in 0..<resamples {
                var rng = SplitMix64.stream(seed, b)
                var remaining = n
                var remainingShare = 1.0
                var sum = 0.0
                for (index, value) in distinct.enumerated() where remaining > 0 {
                    let share = Double(frequency[index]) / Double(n)
                    let count =
                        index == distinct.count - 1 || share >= remainingShare
                        ? remaining : Binomial.sample(remaining, min(1, share / remainingShare), &rng)
                    sum += value * Double(count)
                    remaining -= count
                    remainingShare -= share
                }
                draws[b] = sum / Double(n)
            }
        } else {
            draws = differences.withUnsafeBufferPointer { values in
                Parallel.map(resamples) { b in
                    var rng = SplitMix64.stream(seed, b)
                    var sum = 0.0
                    for _ in 0..<n { sum += values[rng.below(n)] }
                    return sum / Double(n)
                }
            }
        }
        return BootstrapResult.summarize(estimate: estimate, draws: draws, n: n)
    }

    /// The bootstrap of any statistic of the examples (ROC-AUC, F1…): `statistic` receives the resampled
    /// indices and returns the challenger-minus-champion difference on them.
    public static func difference(
        count n: Int, resamples: Int, seed: UInt64, statistic: @Sendable ([Int]) -> Double?
    ) -> BootstrapResult {
        let estimate = statistic(Array(0..<n)) ?? .nan
        let draws = Parallel.map(resamples) { b in
            var rng = SplitMix64.stream(seed, b)
            let indices = (0..<n).map { _ in rng.below(n) }
            return statistic(indices) ?? .nan
        }
        let defined = draws.filter { !$0.isNaN }
        return BootstrapResult.summarize(
            estimate: estimate, draws: defined, n: n, undefined: draws.count - defined.count)
    }

}
