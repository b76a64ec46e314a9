import Foundation
import Testing

@testable import Gates

/// Reference values computed independently (Fixtures/make_reference.py: scikit-learn, statsmodels, scipy).
nonisolated(unsafe) private let reference: [String: Any] = {
    guard let url = Bundle.module.url(forResource: "reference", withExtension: "json", subdirectory: "Fixtures"),
        let data = try? Data(contentsOf: url),
        let object = try? JSONSerialization.jsonObject(with: data, options: [.allowFragments]) as? [String: Any]
    else { return [:] }
    return object
}()

private func close(_ a: Double?, _ b: Any?, relative: Double = 1e-9, _ what: String) {
    guard let a, let b = (b as? NSNumber)?.doubleValue else {
        Issue.record("\(what): missing value (ours \(String(describing: a)), reference \(String(describing: b)))")
        return
    }
    let scale = max(abs(a), abs(b), 1e-300)
    #expect(abs(a - b) / scale <= relative || abs(a - b) < 1e-15, "\(what): ours \(a) vs reference \(b)")
}

private func ints(_ value: Any?) -> [Int] { (value as? [NSNumber])?.map(\.intValue) ?? [] }
private func doubles(_ value: Any?) -> [Double] { (value as? [NSNumber])?.map(\.doubleValue) ?? [] }
private func strings(_ value: Any?) -> [String] { value as? [String] ?? [] }

@Suite("Metrics and tests against scikit-learn, statsmodels and scipy")
struct ReferenceTests {
    @Test func fixturesAreLoaded() {
        #expect(reference["binary"] != nil && reference["regression"] != nil)
    }

    @Test(arguments: ["a", "b"])
    func binaryClassificationMetrics(side: String) throws {
        let binary = try #require(reference["binary"] as? [String: Any])
        let predictions = ClassificationPredictions(
            ids: [], truth: ints(binary["y_true"]).map(String.init),
            predicted: ints(binary["pred_\(side)"]).map(String.init),
            score: doubles(binary["score_\(side)"]))
        let expected = try #require(binary["metrics_\(side)"] as? [String: Any])
        for name in [
            "accuracy", "precision", "recall", "f1", "f1_macro", "f1_weighted", "precision_macro", "recall_macro",
            "roc_auc", "pr_auc", "log_loss", "brier",
        ] {
            close(ClassificationMetrics.metric(name, predictions), expected[name], "\(name) (\(side))")
        }
        let matrix = ClassificationMetrics.confusionMatrix(predictions)
        #expect(matrix.labels == ["0", "1"])
        #expect(matrix.counts == (expected["confusion_matrix"] as? [[NSNumber]])?.map { $0.map(\.intValue) })
    }

    @Test func multiclassAverages() throws {
        let multi = try #require(reference["multiclass"] as? [String: Any])
        let predictions = ClassificationPredictions(
            ids: [], truth: strings(multi["y_true"]), predicted: strings(multi["y_pred"]), score: nil)
        for name in ["accuracy", "f1_macro", "f1_weighted", "precision_macro", "recall_macro"] {
            close(ClassificationMetrics.metric(name, predictions), multi[name], name)
        }
        #expect(
            ClassificationMetrics.confusionMatrix(predictions).counts
                == (multi["confusion_matrix"] as? [[NSNumber]])?.map { $0.map(\.intValue) })
        #expect(ClassificationMetrics.metric("roc_auc", predictions) == nil)
    }

    @Test func regressionMetrics() throws {
        let regression = try #require(reference["regression"] as? [String: Any])
        let truth = doubles(regression["y_true"])
        let predicted = doubles(regression["y_pred"])
        for name in RegressionMetrics.names {
            close(RegressionMetrics.metric(name, truth: truth, predicted: predicted), regression[name], name)
        }
    }

    @Test func mcNemarExactAndCorrected() throws {
        let tables = try #require(reference["mcnemar"] as? [[String: Any]])
        for table in tables {
            let b = (table["b"] as? NSNumber)?.intValue ?? -1
            let c = (table["c"] as? NSNumber)?.intValue ?? -1
            close(
                McNemarResult.test(b: b, c: c, exact: true).pValue, table["exact_p"], relative: 1e-12,
                "exact p (\(b), \(c))")
            guard b + c > 0 else { continue }  // statsmodels divides by zero there; we report p = 1
            let chi = McNemarResult.test(b: b, c: c, exact: false)
            close(chi.statistic, table["chi2_statistic"], relative: 1e-12, "chi2 (\(b), \(c))")
            close(chi.pValue, table["chi2_p"], relative: 1e-9, "chi2 p (\(b), \(c))")
        }
        #expect(McNemarResult.test(b: 0, c: 0, exact: false).pValue == 1)
        // The automatic choice: exact below 25 discordant pairs.
        #expect(
            McNemarResult.test(championCorrect: [true, false, true], challengerCorrect: [false, true, true]).exact)
    }

    @Test(arguments: ["binary", "delong_large"])
    func deLongAgainstThePublishedImplementation(name: String) throws {
        let data = try #require(reference[name] as? [String: Any])
        let expected = try #require((data["delong"] ?? data["expected"]) as? [String: Any])
        let result = try #require(
            DeLongResult.test(
                positives: ints(data["y_true"]).map { $0 == 1 }, scoresA: doubles(data["score_a"]),
                scoresB: doubles(data["score_b"])))
        close(result.aucA, expected["auc_a"], relative: 1e-12, "auc a")
        close(result.aucB, expected["auc_b"], relative: 1e-12, "auc b")
        close(result.variance, expected["variance"], relative: 1e-9, "variance")
        close(result.z, expected["z"], relative: 1e-9, "z")
        close(result.pValue, expected["p_value"], relative: 1e-7, "p")
    }

    @Test func normalQuantiles() throws {
        for item in try #require(reference["normal_quantiles"] as? [[String: Any]]) {
            let p = (item["p"] as? NSNumber)?.doubleValue ?? 0.5
            close(Distributions.normalQuantile(p), item["z"], relative: 1e-12, "z(\(p))")
        }
    }
}
