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
