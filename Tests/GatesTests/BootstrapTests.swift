import Foundation
import Testing

@testable import Gates

extension BootstrapResult {
    fileprivate var lower: Double { interval(confidence: 0.95)?.lowerBound ?? .nan }
    fileprivate var upper: Double { interval(confidence: 0.95)?.upperBound ?? .nan }
}

@Suite("Paired bootstrap")
struct BootstrapTests {
    /// Simulated paired correctness where the challenger is right with probability 0.78 and the champion
    /// with 0.75 (true difference 0.03): the 95% interval must cover 0.03 in about 95% of trials.
    @Test func percentileIntervalsHaveTheirNominalCoverage() {
        var rng = SplitMix64(seed: 7)
        let trials = 300
        var covered = 0
        for trial in 0..<trials {
            var differences: [Double] = []
            for _ in 0..<400 {
                let u = Double(rng.next() >> 11) / Double(1 << 53)
                let v = Double(rng.next() >> 11) / Double(1 << 53)
                let champion = u < 0.75 ? 1.0 : 0.0
                let challenger = v < 0.78 ? 1.0 : 0.0
                differences.append(challenger - champion)
            }
            let result = PairedBootstrap.meanDifference(
                differences, resamples: 500, seed: UInt64(trial))
            if result.lower <= 0.03 && 0.03 <= result.upper { covered += 1 }
        }
        let coverage = Double(covered) / Double(trials)
        #expect(coverage >= 0.91 && coverage <= 0.985, "coverage \(coverage)")
    }

    @Test func seededAndReproducible() {
        let differences = (0..<1000).map { Double(($0 * 7919) % 3) - 1 }
        let a = PairedBootstrap.meanDifference(differences, resamples: 300, seed: 42)
        let b = PairedBootstrap.meanDifference(differences, resamples: 300, seed: 42)
        let c = PairedBootstrap.meanDifference(differences, resamples: 300, seed: 43)
        #expect(a == b)
        #expect(a.lower != c.lower || a.upper != c.upper)
        #expect(a.lower < a.estimate && a.estimate < a.upper)
        #expect(a.resamples == 300)
    }

    @Test func continuousDifferencesAndGenericStatistics() {
        var rng = SplitMix64(seed: 1)
        let differences = (0..<500).map { _ in Double(rng.next() >> 11) / Double(1 << 53) - 0.4 }
        let mean = PairedBootstrap.meanDifference(differences, resamples: 400, seed: 3)
        #expect(mean.lower > 0.05 && mean.upper < 0.16, "\(mean.lower) \(mean.upper)")
        #expect(mean.pValue < 0.01)
        // The generic path (any statistic of the resampled indices) agrees on the same question.
        let generic = PairedBootstrap.difference(count: 500, resamples: 400, seed: 3) { indices in
            indices.reduce(0) { $0 + differences[$1] } / Double(indices.count)
        }
        #expect(abs(generic.estimate - mean.estimate) < 1e-12)
        #expect(abs(generic.lower - mean.lower) < 0.02 && abs(generic.upper - mean.upper) < 0.02)
    }
}

@Suite("Binomial variates")
struct BinomialTests {
    /// Chi-square goodness of fit against the exact binomial distribution, for the inversion and the
    /// BTRS regimes.
    @Test(arguments: [(20, 0.3), (1000, 0.005), (200, 0.5), (5000, 0.1), (1_000_000, 0.27)])
    func samplesFollowTheBinomialDistribution(n: Int, p: Double) {
        var rng = SplitMix64(seed: UInt64(n))
        let draws = 40_000
        var samples: [Int] = []
        for _ in 0..<draws { samples.append(Binomial.sample(n, p, &rng)) }
        let mean = Double(samples.reduce(0, +)) / Double(draws)
        let variance = samples.reduce(0.0) { $0 + pow(Double($1) - mean, 2) } / Double(draws - 1)
        let expectedMean = Double(n) * p
        let expectedVariance = expectedMean * (1 - p)
        #expect(
            abs(mean - expectedMean) < 5 * (expectedVariance / Double(draws)).squareRoot(),
            "mean \(mean) vs \(expectedMean)")
        #expect(abs(variance / expectedVariance - 1) < 0.05, "variance \(variance) vs \(expectedVariance)")
        // Goodness of fit over bins of the central range with expected counts ≥ 5.
        func logPMF(_ k: Int) -> Double {
            lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1)) + Double(k) * log(p)
                + Double(n - k) * log(1 - p)
        }
        var observed: [Int: Int] = [:]
        for sample in samples { observed[sample, default: 0] += 1 }
        var statistic = 0.0
        var bins = 0
        let low = max(0, Int(expectedMean - 4 * expectedVariance.squareRoot()))
        let high = min(n, Int(expectedMean + 4 * expectedVariance.squareRoot()) + 1)
        for k in low...high {
            let expected = Double(draws) * exp(logPMF(k))
            guard expected >= 5 else { continue }
            statistic += pow(Double(observed[k, default: 0]) - expected, 2) / expected
            bins += 1
        }
        // 99.9% quantile of chi-square with `bins` degrees of freedom (Wilson–Hilferty).
        let dof = Double(bins)
        let limit = dof * pow(1 - 2 / (9 * dof) + 3.09 * (2 / (9 * dof)).squareRoot(), 3)
        #expect(statistic < limit, "chi-square \(statistic) over \(bins) bins, limit \(limit)")
    }

    @Test func multinomialBootstrapMatchesIndexResamplingInDistribution() {
        // Accuracy-style differences: the fast (conditional binomial) path and the generic index
        // resampling path must give the same interval up to Monte Carlo error.
        let differences = (0..<3000).map { index -> Double in index % 10 == 0 ? 1 : (index % 13 == 0 ? -1 : 0) }
        let fast = PairedBootstrap.meanDifference(differences, resamples: 4000, seed: 9)
        let slow = PairedBootstrap.difference(count: differences.count, resamples: 4000, seed: 9) {
            indices in
            indices.reduce(0) { $0 + differences[$1] } / Double(indices.count)
        }
        #expect(
            abs(fast.lower - slow.lower) < 0.002 && abs(fast.upper - slow.upper) < 0.002,
            "\(fast.lower)…\(fast.upper) vs \(slow.lower)…\(slow.upper)")
    }

    /// One interval per test: for any data, any resample count and any α, the expanded percentile interval
    /// excludes 0 exactly when the bootstrap p-value is below α.
    @Test func intervalAndPValueNeverDisagree() {
        var rng = SplitMix64(seed: 99)
        for trial in 0..<300 {
            let n = 2 + rng.below(120)
            let shift = Double(rng.below(200)) / 1000
            let differences = (0..<n).map { _ in Double(rng.below(2001)) / 1000 - 1 + shift }
            let resamples = [99, 199, 999, 1999][trial % 4]
            let result = PairedBootstrap.meanDifference(differences, resamples: resamples, seed: UInt64(trial))
            for alpha in [0.01, 0.05, 0.1, 0.2] {
                guard let interval = result.interval(confidence: 1 - alpha) else { continue }
                #expect(
                    interval.contains(0) == !(result.pValue < alpha),
                    "n \(n), B \(resamples), α \(alpha): p \(result.pValue), interval \(interval)")
            }
            #expect(result.pValue >= 1 / Double(resamples + 1))
        }
    }
}
