import Config
import Foundation
import GitOpsMLCore
import Statistics
import TestSupport
import Testing

@testable import Datasets

/// Drift verdicts against Evidently's own stattests (Tests/Reference/make_statistics_reference.py calls
/// them from the `evidently` package as Evidently does; the data come from the specs, built alike by
/// refgen.py and ReferenceData).
nonisolated(unsafe) private let fixture = referenceFixture("evidently_reference", in: Bundle.module)

private func dataset(_ kind: String, _ spec: [String: Any]) -> Dataset {
    let column: Column
    if kind == "numeric" {
        let values = ReferenceData.numeric(spec).map { $0 ?? .nan }
        let integral = (spec["decimals"] as? NSNumber)?.intValue == 0
        column = Column(name: "x", type: integral ? .int : .float, values: values, strings: [])
    } else if kind == "ids" {
        column = Column(name: "x", type: .string, values: [], strings: ReferenceData.identifiers(spec))
    } else {
        column = Column(name: "x", type: .string, values: [], strings: ReferenceData.categorical(spec))
    }
    return Dataset(file: "d.csv", columns: [column], rowLines: RowLines(Array(1...max(column.count, 1))))
}

private func agrees(_ ours: Double?, _ theirs: Double, _ what: String) {
    guard let ours else {
        Issue.record("\(what): no value (reference \(theirs))")
        return
    }
    let scale = max(abs(ours), abs(theirs), 1e-300)
    #expect(
        abs(ours - theirs) / scale <= 1e-9 || abs(ours - theirs) < 1e-14, "\(what): ours \(ours), Evidently \(theirs)")
}

@Suite("Drift decided as Evidently decides")
struct EvidentlyReferenceTests {
    @Test func fixtureIsLoaded() { #expect(((fixture["cases"] as? [Any])?.count ?? 0) >= 25) }

    @Test func everyCaseEveryTest() throws {
        for case_ in try #require(fixture["cases"] as? [[String: Any]]) {
            let name = case_["name"] as? String ?? "?"
            let kind = case_["kind"] as? String ?? ""
            let reference = dataset(kind, case_["reference"] as? [String: Any] ?? [:])
            let current = dataset(kind, case_["current"] as? [String: Any] ?? [:])
            let results = case_["results"] as? [String: [String: Any]] ?? [:]
            for (test, expected) in results.sorted(by: { $0.key < $1.key }) {
                var settings = DriftSettings()
                // The stattests on the column types the script gave them (the legacy table's: numbers are
                // numerical); the current API's types are PandasReferenceTests'. The defaults otherwise
                // (no minimum sample, as in Evidently): every case is compared as is.
                settings.evidently = .legacy
                if test != "auto" { settings.test = DriftSettings.Test(rawValue: test) }
                let what = "\(name) / \(test)"
                if expected["empty"] as? Bool == true {
                    let report = try DriftDetector.detect(reference: reference, current: current, settings: settings)
                    #expect(report.columns.first?.drifted == nil, "\(what): an empty column is not judged")
                    #expect(report.columns.first?.note?.contains("no values") == true, "\(what)")
                    continue
                }
                if expected["refused"] as? Bool == true {
                    #expect(throws: GitOpsMLError.self, "\(what): Evidently refuses this test on this type") {
                        _ = try DriftDetector.detect(reference: reference, current: current, settings: settings)
                    }
                    continue
                }
                let column = try #require(
                    try DriftDetector.detect(reference: reference, current: current, settings: settings).columns.first)
                #expect(
                    column.test?.rawValue == expected["test"] as? String,
                    "\(what): test \(String(describing: column.test))")
                #expect(column.drifted == expected["drifted"] as? Bool, "\(what): verdict")
                agrees(column.threshold, (expected["threshold"] as? NSNumber)?.doubleValue ?? .nan, "\(what) threshold")
                // Evidently's Z p-value is 2(1 − Φ(|z|)), which loses everything below 1e-16; ours is compared
                // with the accurate 2·P(Z > |z|) that the script computes with scipy.
                let score = (expected["accurate_score"] ?? expected["score"]) as? NSNumber
                agrees(column.score, score?.doubleValue ?? .nan, "\(what) score")
            }
        }
    }

    @Test func asymptoticKSMatchesScipysKstwo() throws {
        for item in try #require(fixture["kstwo"] as? [[String: Any]]) {
            let n = (item["n"] as? NSNumber)?.intValue ?? 1
            let d = (item["d"] as? NSNumber)?.doubleValue ?? 0
            agrees(
                KolmogorovDistribution.sf(n, d), (item["sf"] as? NSNumber)?.doubleValue ?? .nan, "kstwo.sf(\(d), \(n))")
        }
    }
}
