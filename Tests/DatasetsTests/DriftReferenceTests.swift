import Foundation
import GitOpsMLCore
import Statistics
import Testing

@testable import Datasets

/// Reference values from Fixtures/make_drift_reference.py (scipy, numpy, statsmodels).
nonisolated(unsafe) private let reference: [String: Any] = {
    guard let url = Bundle.module.url(forResource: "drift_reference", withExtension: "json", subdirectory: "Fixtures"),
        let data = try? Data(contentsOf: url),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return object
}()

private func doubles(_ value: Any?) -> [Double] { (value as? [NSNumber])?.map(\.doubleValue) ?? [] }
private func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }
private func number(_ value: Any?) -> Double { (value as? NSNumber)?.doubleValue ?? .nan }

private func close(_ ours: Double, _ theirs: Any?, relative: Double = 1e-9, _ what: String) {
    let expected = number(theirs)
    let scale = max(abs(ours), abs(expected), 1e-300)
    #expect(
        abs(ours - expected) / scale <= relative || abs(ours - expected) < 1e-14,
        "\(what): ours \(ours), reference \(expected)")
}

@Suite("Drift statistics against scipy, numpy and statsmodels")
struct DriftReferenceTests {
    @Test func fixturesAreLoaded() { #expect((reference["numeric"] as? [Any])?.count == 7) }

    @Test func numericColumns() throws {
        for (index, item) in try #require(reference["numeric"] as? [[String: Any]]).enumerated() {
            let r = doubles(item["reference"])
            let c = doubles(item["current"])
            let ks = DriftStatistics.kolmogorovSmirnov(r, c)
            close(ks.statistic, item["ks_statistic"], relative: 1e-12, "KS D #\(index)")
            #expect(ks.method == item["ks_method"] as? String)
            // Exact p-values agree to 1e-9; the asymptotic one is documented to agree within 2 %.
            close(ks.pValue, item["ks_pvalue"], relative: ks.method == "exact" ? 1e-9 : 0.02, "KS p #\(index)")
            close(DriftStatistics.wasserstein(r, c), item["wasserstein"], "wasserstein #\(index)")
            close(DriftStatistics.normedWasserstein(r, c), item["normed_wasserstein"], "normed wasserstein #\(index)")
            close(DriftStatistics.standardDeviation(r, ddof: 0), item["std_ddof0"], "std #\(index)")
            close(DriftStatistics.standardDeviation(r, ddof: 1), item["std_ddof1"], "std ddof1 #\(index)")
            let sorted = r.sorted()
            for (q, expected) in zip([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0], doubles(item["quantiles"])) {
                close(DriftStatistics.quantile(sorted, q), expected, "quantile \(q) #\(index)")
            }
            // PSI and Jensen–Shannon follow Evidently's binning: EvidentlyReferenceTests.
        }
    }

    @Test func categoricalColumns() throws {
        for (index, item) in try #require(reference["categorical"] as? [[String: Any]]).enumerated() {
            let r = strings(item["reference"])
            let c = strings(item["current"])
            if item["chisquare_statistic"] != nil {
                let gof = DriftStatistics.chiSquareGoodnessOfFit(reference: r, current: c)
                close(gof.statistic, item["chisquare_statistic"], "chisquare #\(index)")
                close(gof.pValue, item["chisquare_pvalue"], relative: 1e-9, "chisquare p #\(index)")
            }
            let table = DriftStatistics.chiSquareContingency(reference: r, current: c)
            close(table.statistic, item["contingency_statistic"], "contingency #\(index)")
            close(table.pValue, item["contingency_pvalue"], relative: 1e-9, "contingency p #\(index)")
            #expect(table.dof == (item["contingency_dof"] as? NSNumber)?.intValue)
        }
    }

    @Test func binaryColumnsAndCorrections() throws {
        for (index, item) in try #require(reference["binary"] as? [[String: Any]]).enumerated() {
            let z = DriftStatistics.proportionsZTest(
                reference: strings(item["reference"]), current: strings(item["current"]))
            // Evidently compares the share of every value but the first; statsmodels the first's: the sign flips.
            close(abs(z.statistic), abs(number(item["z"])), "z #\(index)")
            close(z.pValue, item["pvalue"], relative: 1e-9, "z p #\(index)")
        }
        let bh = try #require(reference["benjamini_hochberg"] as? [String: Any])
        for (ours, theirs) in zip(DriftStatistics.benjaminiHochberg(doubles(bh["p"])), doubles(bh["adjusted"])) {
            close(ours, theirs, "BH")
        }
        for item in try #require(reference["gammaincc"] as? [[String: Any]]) {
            close(
                SpecialFunctions.gammaQ(number(item["a"]), number(item["x"])), item["q"], relative: 1e-12,
                "Q(\(number(item["a"])), \(number(item["x"])))")
        }
    }
}
