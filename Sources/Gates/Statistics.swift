import Dispatch
import Foundation

/// Distributions needed by the tests, from the C library's `erfc` and `lgamma`.
public enum Distributions {
    /// Standard normal CDF.
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.squareRoot()) }

    /// Standard normal quantile (bisection on `normalCDF`, to full double precision).
    public static func normalQuantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile of \(p)")
        var low = -40.0
        var high = 40.0
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if normalCDF(middle) < p { low = middle } else { high = middle }
            if high - low < 1e-15 * max(1, abs(middle)) { break }
        }
        return (low + high) / 2
    }

    /// Upper tail of the chi-square distribution with one degree of freedom.
    public static func chiSquare1SF(_ x: Double) -> Double { x <= 0 ? 1 : erfc((x / 2).squareRoot()) }

    /// P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space.
    public static func binomialHalfCDF(_ k: Int, _ n: Int) -> Double {
        guard k >= 0 else { return 0 }
        guard k < n else { return 1 }
        let logHalfPower = Double(n) * log(0.5)
        var total = 0.0
        for i in 0...k {
            total += exp(lgamma(Double(n + 1)) - lgamma(Double(i + 1)) - lgamma(Double(n - i + 1)) + logHalfPower)
        }
        return min(total, 1)
    }
}

/// McNemar's test on paired correctness: b = the champion right and the challenger wrong, c = the reverse.
public struct McNemarResult: Sendable, Equatable {
    public var championOnly: Int
    public var challengerOnly: Int
    public var statistic: Double
    public var pValue: Double
    /// Exact binomial (few discordant pairs) or chi-square with continuity correction.
    public var exact: Bool

    /// statsmodels' `mcnemar(table, exact=…, correction=True)`; exact when b + c < `exactBelow`.
    public static func test(championCorrect: [Bool], challengerCorrect: [Bool], exactBelow: Int = 25) -> McNemarResult {
        var b = 0
        var c = 0
        for (champion, challenger) in zip(championCorrect, challengerCorrect) where champion != challenger {
            if champion { b += 1 } else { c += 1 }
        }
        return test(b: b, c: c, exact: b + c < exactBelow)
    }

    public static func test(b: Int, c: Int, exact: Bool) -> McNemarResult {
        if exact {
            let smaller = min(b, c)
            let p = min(1, 2 * Distributions.binomialHalfCDF(smaller, b + c))
            return McNemarResult(championOnly: b, challengerOnly: c, statistic: Double(smaller), pValue: p, exact: true)
        }
        let corrected = abs(Double(b - c)) - 1  // as statsmodels: (|b − c| − 1)², also when b = c
        let statistic = b + c == 0 ? 0 : corrected * corrected / Double(b + c)
        return McNemarResult(
            championOnly: b, challengerOnly: c, statistic: statistic, pValue: Distributions.chiSquare1SF(statistic),
            exact: false)
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

    /// A two-sided confidence interval of `aucB − aucA` at `confidence`.
    public func interval(confidence: Double) -> (lower: Double, upper: Double) {
        let half = Distributions.normalQuantile(0.5 + confidence / 2) * variance.squareRoot()
        return (difference - half, difference + half)
    }

    public static func test(positives: [Bool], scoresA: [Double], scoresB: [Double]) -> DeLongResult? {
        let positiveIndices = positives.indices.filter { positives[$0] }
        let negativeIndices = positives.indices.filter { !positives[$0] }
        let m = Double(positiveIndices.count)
        let n = Double(negativeIndices.count)
        guard m >= 2, n >= 2 else { return nil }
        // Per positive: the share of negatives it outranks; per negative: the share of positives above it.
        func components(_ scores: [Double]) -> (auc: Double, positives: [Double], negatives: [Double]) {
            let positiveScores = positiveIndices.map { scores[$0] }
            let negativeScores = negativeIndices.map { scores[$0] }
            let tx = Ranking.midranks(positiveScores)
            let ty = Ranking.midranks(negativeScores)
            let tz = Ranking.midranks(positiveScores + negativeScores)
            let auc = (0..<positiveScores.count).reduce(0) { $0 + tz[$1] } / (m * n) - (m + 1) / (2 * n)
            let ofPositives = (0..<positiveScores.count).map { (tz[$0] - tx[$0]) / n }
            let ofNegatives = (0..<negativeScores.count).map { 1 - (tz[positiveScores.count + $0] - ty[$0]) / m }
            return (auc, ofPositives, ofNegatives)
        }
        let a = components(scoresA)
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
        let z = variance > 0 ? difference / variance.squareRoot() : (difference == 0 ? 0 : .infinity)
        let p = variance > 0 ? 2 * (1 - Distributions.normalCDF(abs(z))) : (difference == 0 ? 1 : 0)
        return DeLongResult(aucA: a.auc, aucB: b.auc, variance: max(variance, 0), z: z, pValue: min(max(p, 0), 1))
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

/// A paired bootstrap of a difference between challenger and champion on the same examples.
public struct BootstrapResult: Sendable, Equatable {
    public var estimate: Double
    public var lower: Double
    public var upper: Double
    public var confidence: Double
    public var resamples: Int
    /// Two-sided: twice the smaller share of resampled differences on either side of zero.
    public var pValue: Double
    /// The resampled differences, sorted (for one-sided bounds).
    public var distribution: [Double]

    /// The one-sided lower bound at `confidence`.
    public func lowerBound(confidence: Double) -> Double { quantile(1 - confidence) }
    public func upperBound(confidence: Double) -> Double { quantile(confidence) }

    func quantile(_ q: Double) -> Double {
        guard !distribution.isEmpty else { return estimate }
        // Linear interpolation between order statistics (numpy's default).
        let position = q * Double(distribution.count - 1)
        let low = Int(position.rounded(.down))
        let high = min(low + 1, distribution.count - 1)
        return distribution[low] + (distribution[high] - distribution[low]) * (position - Double(low))
    }

    static func summarize(estimate: Double, draws: [Double], confidence: Double) -> BootstrapResult {
        let sorted = draws.sorted()
        var result = BootstrapResult(
            estimate: estimate, lower: 0, upper: 0, confidence: confidence, resamples: draws.count, pValue: 1,
            distribution: sorted)
        let alpha = 1 - confidence
        result.lower = result.quantile(alpha / 2)
        result.upper = result.quantile(1 - alpha / 2)
        let below = Double(sorted.lazy.filter { $0 <= 0 }.count) / Double(max(sorted.count, 1))
        let above = Double(sorted.lazy.filter { $0 >= 0 }.count) / Double(max(sorted.count, 1))
        result.pValue = min(1, 2 * min(below, above))
        return result
    }
}

public enum PairedBootstrap {
    /// The bootstrap of the mean of per-example differences `d = challenger − champion` (accuracy,
    /// log-loss, Brier, absolute error…). Resample `b` draws with a generator seeded from `seed` and `b`,
    /// so results do not depend on how the work is split across cores. Differences that take few
    /// distinct values (accuracy: −1, 0, 1) are resampled as one-byte codes that stay in cache.
    public static func meanDifference(
        _ differences: [Double], resamples: Int, confidence: Double, seed: UInt64
    ) -> BootstrapResult {
        let n = differences.count
        let estimate = differences.reduce(0, +) / Double(max(n, 1))
        guard n > 0, resamples > 0 else {
            return BootstrapResult.summarize(estimate: estimate, draws: [], confidence: confidence)
        }
        let distinct = Array(Set(differences)).sorted()
        var draws = [Double](repeating: 0, count: resamples)
        if distinct.count <= 255 {
            let code = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, UInt8($0)) })
            let codes = differences.map { code[$0] ?? 0 }
            draws.withUnsafeMutableBufferPointer { output in
                let out = UncheckedBuffer(output)
                codes.withUnsafeBufferPointer { codes in
                    parallel(resamples) { b in
                        var rng = SplitMix64.stream(seed, b)
                        var counts = [Int](repeating: 0, count: distinct.count)
                        for _ in 0..<n { counts[Int(codes[rng.below(n)])] += 1 }
                        var sum = 0.0
                        for (value, count) in zip(distinct, counts) { sum += value * Double(count) }
                        out[b] = sum / Double(n)
                    }
                }
            }
        } else {
            draws.withUnsafeMutableBufferPointer { output in
                let out = UncheckedBuffer(output)
                differences.withUnsafeBufferPointer { values in
                    parallel(resamples) { b in
                        var rng = SplitMix64.stream(seed, b)
                        var sum = 0.0
                        for _ in 0..<n { sum += values[rng.below(n)] }
                        out[b] = sum / Double(n)
                    }
                }
            }
        }
        return BootstrapResult.summarize(estimate: estimate, draws: draws, confidence: confidence)
    }

    /// The bootstrap of any statistic of the examples (ROC-AUC, F1…): `statistic` receives the resampled
    /// indices and returns the challenger-minus-champion difference on them.
    public static func difference(
        count n: Int, resamples: Int, confidence: Double, seed: UInt64, statistic: @Sendable ([Int]) -> Double?
    ) -> BootstrapResult {
        let estimate = statistic(Array(0..<n)) ?? .nan
        var draws = [Double](repeating: .nan, count: resamples)
        draws.withUnsafeMutableBufferPointer { output in
            let out = UncheckedBuffer(output)
            parallel(resamples) { b in
                var rng = SplitMix64.stream(seed, b)
                let indices = (0..<n).map { _ in rng.below(n) }
                out[b] = statistic(indices) ?? .nan
            }
        }
        return BootstrapResult.summarize(estimate: estimate, draws: draws.filter { !$0.isNaN }, confidence: confidence)
    }

    /// Runs `body(0..<count)` on all cores, in contiguous chunks.
    static func parallel(_ count: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, count))
        withoutActuallyEscaping(body) { body in
            let task = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let range = (count * worker / workers)..<(count * (worker + 1) / workers)
                for index in range { task.value(index) }
            }
        }
    }
}

/// A buffer written by several threads at disjoint indices.
struct UncheckedBuffer: @unchecked Sendable {
    let base: UnsafeMutableBufferPointer<Double>
    init(_ base: UnsafeMutableBufferPointer<Double>) { self.base = base }
    subscript(index: Int) -> Double {
        get { base[index] }
        nonmutating set { base[index] = newValue }
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
