import Testing

@testable import Gates

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
                differences, resamples: 500, confidence: 0.95, seed: UInt64(trial))
            if result.lower <= 0.03 && 0.03 <= result.upper { covered += 1 }
        }
        let coverage = Double(covered) / Double(trials)
        #expect(coverage >= 0.91 && coverage <= 0.985, "coverage \(coverage)")
    }

    @Test func seededAndReproducible() {
        let differences = (0..<1000).map { Double(($0 * 7919) % 3) - 1 }
        let a = PairedBootstrap.meanDifference(differences, resamples: 300, confidence: 0.9, seed: 42)
        let b = PairedBootstrap.meanDifference(differences, resamples: 300, confidence: 0.9, seed: 42)
        let c = PairedBootstrap.meanDifference(differences, resamples: 300, confidence: 0.9, seed: 43)
        #expect(a == b)
        #expect(a.lower != c.lower || a.upper != c.upper)
        #expect(a.lower < a.estimate && a.estimate < a.upper)
        #expect(a.resamples == 300)
    }

    @Test func continuousDifferencesAndGenericStatistics() {
        var rng = SplitMix64(seed: 1)
        let differences = (0..<500).map { _ in Double(rng.next() >> 11) / Double(1 << 53) - 0.4 }
        let mean = PairedBootstrap.meanDifference(differences, resamples: 400, confidence: 0.95, seed: 3)
        #expect(mean.lower > 0.05 && mean.upper < 0.16, "\(mean.lower) \(mean.upper)")
        #expect(mean.pValue < 0.01)
        // The generic path (any statistic of the resampled indices) agrees on the same question.
        let generic = PairedBootstrap.difference(count: 500, resamples: 400, confidence: 0.95, seed: 3) { indices in
            indices.reduce(0) { $0 + differences[$1] } / Double(indices.count)
        }
        #expect(abs(generic.estimate - mean.estimate) < 1e-12)
        #expect(abs(generic.lower - mean.lower) < 0.02 && abs(generic.upper - mean.upper) < 0.02)
    }
}
