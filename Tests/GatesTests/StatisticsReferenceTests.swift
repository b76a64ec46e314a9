import Foundation
import GitOpsMLCore
import Statistics
import TestSupport
import Testing

@testable import Gates

/// Gate metrics and tests against scikit-learn, statsmodels, scipy and a DeLong from the paper
/// (Tests/Reference/make_statistics_reference.py; data built alike from the specs by refgen.py and
/// ReferenceData), on the committed cases and on fresh random ones.
nonisolated(unsafe) private let fixture = referenceFixture("statistics_reference", in: Bundle.module)

private func agrees(_ ours: Double?, _ theirs: Any?, _ what: String) {
    guard let theirs = (theirs as? NSNumber)?.doubleValue else {
        #expect(ours == nil, "\(what): ours \(String(describing: ours)), the reference has none")
        return
    }
    guard let ours else {
        Issue.record("\(what): none of ours, reference \(theirs)")
        return
    }
    let scale = max(abs(ours), abs(theirs), 1e-300)
    #expect(
        abs(ours - theirs) / scale <= 1e-9 || abs(ours - theirs) < 1e-15, "\(what): ours \(ours), reference \(theirs)")
}

/// The labels as a CSV would hold them: 1/0, 1.0/0.0, True/False or yes/no.
private func text(_ value: Int, _ style: String) -> String {
    switch style {
    case "float": return value == 1 ? "1.0" : "0.0"
    case "bool": return value == 1 ? "True" : "False"
    case "yes": return value == 1 ? "yes" : "no"
    default: return String(value)
    }
}

/// The committed cases of `kind` and, when GITOPS_ML_GATES_CORPUS names a fresh corpus (`make test` draws
/// one with a new seed every run), its cases too.
private func cases(_ kind: String) throws -> [[String: Any]] {
    var items = try #require(fixture[kind] as? [[String: Any]])
    if let fresh = ProcessInfo.processInfo.environment["GITOPS_ML_GATES_CORPUS"] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fresh))
        let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        items += try #require(corpus[kind] as? [[String: Any]], "\(fresh): no \(kind) cases")
    }
    return items
}

@Suite("Gate statistics against scikit-learn, statsmodels and scipy")
struct StatisticsReferenceTests {
    @Test func binaryCases() throws {
        for item in try cases("binary") {
            let name = item["name"] as? String ?? "?"
            let spec = item["spec"] as? [String: Any] ?? [:]
            let style = item["labels"] as? String ?? "int"
            let data = ReferenceData.classification(spec)
            // Labels as written, canonicalised as the check does: 1, 1.0, True and yes are one class.
            let canonical = ClassLabels.canonicaliser(for: ["0", "1"].map { text(Int($0) ?? 0, style) })
            var sides: [String: ClassificationPredictions] = [:]
            for side in ["a", "b"] {
                let predictions = ClassificationPredictions(
                    ids: (0..<data.truth.count).map(String.init),
                    truth: data.truth.map { canonical(text($0, style)) },
                    predicted: (data.predicted[side] ?? []).map { canonical(text($0, style)) },
                    score: data.probabilities[side]?.map { $0[1] }, positiveLabel: "1", classes: ["0", "1"])
                sides[side] = predictions
                let expected = item["metrics_\(side)"] as? [String: Any] ?? [:]
                for (metric, value) in expected.sorted(by: { $0.key < $1.key }) {
                    let ours = try? ClassificationMetrics.metric(metric, predictions)
                    agrees(ours ?? nil, value, "\(name) \(metric) (\(side))")
                }
            }
            let a = try #require(sides["a"])
            let b = try #require(sides["b"])
            let mcnemar = try #require(item["mcnemar"] as? [String: Any])
            let ours = McNemarScore.test(championCorrect: a.correct, challengerCorrect: b.correct)
            #expect(ours.championOnly == (mcnemar["b"] as? NSNumber)?.intValue, "\(name) b")
            #expect(ours.challengerOnly == (mcnemar["c"] as? NSNumber)?.intValue, "\(name) c")
            agrees(ours.pValue, mcnemar["p_value"], "\(name) McNemar p")
            if mcnemar["statistic"] != nil { agrees(ours.statistic, mcnemar["statistic"], "\(name) McNemar χ²") }
            for (key, confidence) in [("tango_95", 0.95), ("tango_90", 0.90)] {
                guard let bounds = (mcnemar[key] as? [NSNumber])?.map(\.doubleValue) else { continue }
                let interval = ours.interval(confidence: confidence)
                #expect(abs(interval.lowerBound - bounds[0]) < 1e-9, "\(name) \(key) lower: \(interval) vs \(bounds)")
                #expect(abs(interval.upperBound - bounds[1]) < 1e-9, "\(name) \(key) upper: \(interval) vs \(bounds)")
                // One interval per test: it excludes 0 exactly when p < α.
                #expect(interval.contains(0) == (ours.pValue >= 1 - confidence), "\(name) \(key) agrees with p")
            }
            let positives = a.positives
            let result = DeLongResult.test(
                positives: positives, scoresA: a.score ?? [], scoresB: b.score ?? [])
            if let delong = item["delong"] as? [String: Any] {
                if delong["undefined"] as? Bool == true {
                    #expect(result == nil, "\(name): DeLong is undefined")
                } else {
                    let result = try #require(result, "\(name)")
                    agrees(result.aucA, delong["auc_a"], "\(name) DeLong AUC a")
                    agrees(result.variance, delong["variance"], "\(name) DeLong variance")
                    agrees(result.z, delong["z"], "\(name) DeLong z")
                    let df = (delong["degrees_of_freedom"] as? NSNumber)?.intValue
                    #expect(result.degreesOfFreedom == df, "\(name) DeLong: Student's t below 30 differing")
                    agrees(result.pValue, delong[df == nil ? "p_value" : "p_value_t"], "\(name) DeLong p")
                }
            } else {
                #expect(result == nil, "\(name): too few of a class for DeLong")
            }
        }
    }

    @Test func multiclassCases() throws {
        for item in try cases("multiclass") {
            let name = item["name"] as? String ?? "?"
            let spec = item["spec"] as? [String: Any] ?? [:]
            let classes = (spec["classes"] as? [Any])?.map { "\($0)" } ?? []
            let data = ReferenceData.classification(spec)
            for side in ["a", "b"] {
                let rows = data.probabilities[side] ?? []
                let predictions = ClassificationPredictions(
                    ids: [], truth: data.truth.map { classes[$0] },
                    predicted: (data.predicted[side] ?? []).map { classes[$0] }, score: nil,
                    probabilities: classes.indices.map { k in rows.map { $0[k] } }, positiveLabel: nil,
                    classes: classes)
                for (metric, value) in (item["metrics_\(side)"] as? [String: Any] ?? [:]).sorted(by: { $0.key < $1.key }
                ) {
                    let ours = try? ClassificationMetrics.metric(metric, predictions)
                    agrees(ours ?? nil, value, "\(name) \(metric) (\(side))")
                }
                // A binary metric on a multiclass task is refused with the reason, not computed.
                #expect(throws: MetricUnavailable.self) { try ClassificationMetrics.metric("f1", predictions) }
                var withoutProbabilities = predictions
                withoutProbabilities.probabilities = nil
                #expect(throws: MetricUnavailable.self) {
                    try ClassificationMetrics.metric("roc_auc", withoutProbabilities)
                }
            }
        }
    }

    @Test func regressionCases() throws {
        for item in try cases("regression") {
            let spec = item["spec"] as? [String: Any] ?? [:]
            let truth = ReferenceData.numeric(spec["truth"] as? [String: Any] ?? [:]).map { $0 ?? .nan }
            for side in ["a", "b"] {
                let predicted = ReferenceData.numeric(spec[side] as? [String: Any] ?? [:]).map { $0 ?? .nan }
                for (metric, value) in item["metrics_\(side)"] as? [String: Any] ?? [:] {
                    agrees(
                        RegressionMetrics.metric(metric, truth: truth, predicted: predicted), value,
                        "\(item["name"] ?? "") \(metric) (\(side))")
                }
            }
        }
    }

    @Test func studentT() throws {
        for item in try #require(fixture["student_t"] as? [[String: Any]]) {
            let t = (item["t"] as? NSNumber)?.doubleValue ?? 0
            let df = (item["df"] as? NSNumber)?.doubleValue ?? 1
            agrees(SpecialFunctions.studentTCDF(t, df: df), item["cdf"], "T\(df)(\(t))")
            let q = (item["quantile_of"] as? NSNumber)?.doubleValue ?? 0.5
            agrees(SpecialFunctions.studentTQuantile(q, df: df), item["quantile"], "t\(df)(\(q))")
        }
    }

    @Test func normalTailsKeepTheirRelativeAccuracy() throws {
        for item in try #require(fixture["normal_tails"] as? [[String: Any]]) {
            let z = (item["z"] as? NSNumber)?.doubleValue ?? 0
            agrees(Distributions.normalTwoSided(z), item["p"], "2·P(Z > \(z))")
        }
    }
}
