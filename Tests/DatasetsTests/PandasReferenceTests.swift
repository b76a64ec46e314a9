import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Config
@testable import Datasets

/// Data read and judged as pandas, Great Expectations and Evidently do, against values those libraries
/// computed (Tests/Reference/make_pandas_reference.py; `make test` adds a fresh CSV corpus with a new seed,
/// named by GITOPS_ML_PANDAS_CORPUS, and fresh cases for Evidently, GITOPS_ML_EVIDENTLY_CORPUS).
nonisolated(unsafe) private let fixture = referenceFixture("pandas_reference", in: Bundle.module)

private func dataset(_ text: String) throws -> Dataset { try Dataset.read(Array(text.utf8), file: "d.csv") }

private func expectation(_ type: String, column: String?, _ arguments: [(String, StructuredValue)]) throws
    -> DataPolicy
    .Expectation
{
    try DataPolicy.Expectation(
        type: type, column: column, mostly: nil, arguments: arguments,
        location: SourceLocation(file: "policies/data.yaml", line: 3))
}

private func judge(_ type: String, column: String? = nil, _ arguments: [(String, StructuredValue)], on data: Dataset)
    throws -> ExpectationResult
{
    try Expectations.evaluate(try expectation(type, column: column, arguments), on: data, now: Date())
}

/// A typed value of the fixture ({"int": 1}, {"float": 2.5}, {"bool": true}, {"str": "a"}) as the YAML
/// value a policy would hold.
private func structured(_ value: Any) -> StructuredValue {
    let item = value as? [String: Any] ?? [:]
    if let number = item["int"] as? Int { return .int(number) }
    if let number = item["float"] as? Double { return .double(number) }
    if let text = item["float"] as? String, let number = Double(text) { return .double(number) }
    if let flag = item["bool"] as? Bool { return .bool(flag) }
    if let text = item["str"] as? String { return .string(text) }
    return .null
}

private func observed(_ result: ExpectationResult, _ key: String) -> Int? {
    guard case .object(let pairs) = result.observed, let value = pairs.first(where: { $0.key == key })?.value,
        case .int(let count) = value
    else { return nil }
    return count
}

@Suite("Data read and judged as pandas, Great Expectations and Evidently do")
struct PandasReferenceTests {
    /// Every column of every corpus file: the same kind (number, bool, text, nothing but nulls) and the
    /// same value in every row as `pandas.read_csv` with its defaults.
    @Test func csvCorpusReadsAsPandasReadsIt() throws {
        var corpora = [try #require(fixture["corpus"] as? [String: Any])]
        if let fresh = ProcessInfo.processInfo.environment["GITOPS_ML_PANDAS_CORPUS"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fresh))
            corpora.append(try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]))
        }
        var compared = 0
        for corpus in corpora {
            let entries = try #require(corpus["entries"] as? [[String: Any]])
            #expect(entries.count > 100)
            for entry in entries {
                let csv = try #require(entry["csv"] as? String)
                let data = try dataset(csv)
                for reference in try #require(entry["columns"] as? [[String: Any]]) {
                    let name = reference["name"] as? String ?? ""
                    let kind = reference["kind"] as? String ?? ""
                    let values = reference["values"] as? [Any] ?? []
                    let column = try #require(data.column(name), "\(name) in\n\(csv)")
                    let ours: String
                    switch column.type {
                    case _ where column.nullCount == column.count: ours = "nulls"
                    case .int, .float: ours = "number"
                    case .bool: ours = "bool"
                    case .string, .timestamp: ours = "text"
                    }
                    #expect(ours == kind, "column \(name) is \(ours), pandas: \(kind), in\n\(csv)")
                    guard ours == kind, values.count == column.count else { continue }
                    for (row, value) in values.enumerated() {
                        let cell = value as? [String: Any]
                        let same: Bool
                        if let text = cell?["number"] as? String {
                            let theirs =
                                text == "inf" ? Double.infinity : text == "-inf" ? -Double.infinity : Double(text)
                            same = column.number(row)?.bitPattern == theirs?.bitPattern
                        } else if let flag = cell?["bool"] as? Bool {
                            same = column.text(row) == (flag ? "true" : "false")
                        } else if let text = cell?["text"] as? String {
                            same = column.text(row).map { Array($0.utf8) == Array(text.utf8) } ?? false
                        } else {
                            same = column.isNull(row)
                        }
                        #expect(same, "row \(row + 2) of \(name): ours \(column.texts[row] ?? "null"), pandas \(value)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared > 1000)
    }

    /// One `inf` among 300 normal values: pandas reads a number, Evidently drops the infinity and judges
    /// the column with KS (no drift), where a text column would be judged with chi-square (p = 0, drift).
    @Test func anInfinityLeavesAColumnNumeric() throws {
        let reference = try #require(fixture["drift_infinity"] as? [String: Any])
        let base = try dataset(try #require(reference["reference_csv"] as? String))
        let head = try dataset(try #require(reference["current_csv"] as? String))
        #expect(head.column("x")?.type == .float)
        #expect(head.column("x")?.values.contains(.infinity) == true)
        let drift = try #require(try DriftDetector.detect(reference: base, current: head).columns.first)
        #expect(drift.test?.rawValue == reference["test"] as? String)
        let p = try #require(reference["p_value"] as? Double)
        #expect(abs((drift.score ?? -1) - p) <= 1e-9 * p, "ours \(drift.score ?? -1), Evidently \(p)")
        #expect(drift.drifted == reference["drifted"] as? Bool)
        #expect(drift.currentCount == 299, "the infinity is dropped before the test, as Evidently drops it")
        #expect(drift.method.contains("drift when p ≤ 0.05"), "\(drift.method)")
        #expect(drift.method.contains { $0.hasPrefix("Evidently's choice") })
    }

    /// Evidently's current API (`Report` + `DataDriftPreset`) on the same CSV files: its column types
    /// (integers with at most 10 values are categorical, identifiers are text, all typed on the current
    /// data), its tests and its scores; a text column is named as not judged here.
    /// `make test` adds random cases with a new seed (GITOPS_ML_EVIDENTLY_CORPUS).
    @Test func driftAsEvidentlysCurrentReport() throws {
        var items = try #require(fixture["evidently_current"] as? [[String: Any]])
        if let fresh = ProcessInfo.processInfo.environment["GITOPS_ML_EVIDENTLY_CORPUS"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fresh))
            let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            items += try #require(corpus["evidently_current"] as? [[String: Any]], "\(fresh): no cases")
        }
        for item in items {
            let name = item["name"] as? String ?? "?"
            let base = try dataset(try #require(item["reference_csv"] as? String))
            let head = try dataset(try #require(item["current_csv"] as? String))
            let report = try DriftDetector.detect(reference: base, current: head)
            let expected = try #require(item["columns"] as? [String: [String: Any]])
            // A column Evidently leaves out (one it gives no type: booleans with nulls) is named, not judged.
            for ours in report.columns where expected[ours.column] == nil {
                #expect(ours.kind == "unknown" && ours.drifted == nil, "\(name)/\(ours.column): \(ours.kind)")
            }
            // Evidently counts drifted columns with its legacy table, which disagrees with its own column
            // verdicts in three places, so the count is compared where it has none of them: it judges text,
            // it judges the booleans with nulls it leaves out of the column list, and it measures distances
            // with the infinities in (NaN: not drifted) where its column metric drops them.
            let infinite = (base.columns + head.columns).contains { $0.values.contains { $0.isInfinite } }
            if !infinite, !report.columns.contains(where: { $0.kind == "unknown" || $0.kind == "text" }) {
                let drifted = report.columns.filter { $0.drifted == true }.count
                #expect(drifted == item["drifted_count"] as? Int, "\(name): columns drifted")
            }
            for (column, reference) in expected {
                let ours = try #require(report.columns.first { $0.column == column }, "\(name)/\(column)")
                let test = reference["test"] as? String
                if test == "text" {
                    #expect(ours.drifted == nil && ours.kind == "text", "\(name)/\(column): \(ours.note ?? "")")
                    continue
                }
                #expect(
                    ours.test?.rawValue == test,
                    "\(name)/\(column): ours \(String(describing: ours.test)), Evidently \(test ?? "")")
                let score = try #require(reference["score"] as? Double)
                let ourScore = try #require(ours.score, "\(name)/\(column)")
                #expect(
                    abs(ourScore - score) <= 1e-9 * max(abs(score), 1e-300) || abs(ourScore - score) < 1e-14,
                    "\(name)/\(column): ours \(ourScore), Evidently \(score)")
                #expect(ours.threshold == reference["threshold"] as? Double, "\(name)/\(column)")
            }
        }
    }

    /// Every verdict names its comparison (KS at p ≤ threshold, chi-square and Z at p < threshold, distances
    /// at ≥ threshold) and whether the policy chose the test.
    @Test func driftNamesItsRuleAndWhoChoseTheTest() throws {
        let base = try dataset("x,c\n" + (0..<60).map { "\($0),\(["a", "b", "c"][$0 % 3])" }.joined(separator: "\n"))
        let head = try dataset(
            "x,c\n" + (0..<60).map { "\($0 + 5),\(["a", "b", "c"][$0 % 2])" }.joined(separator: "\n"))
        var settings = DriftSettings()
        settings.columnTests["x"] = .init(test: .wasserstein, threshold: 0.2)
        let report = try DriftDetector.detect(reference: base, current: head, settings: settings)
        let x = try #require(report.columns.first { $0.column == "x" })
        #expect(x.method.contains("wasserstein set by the policy for this column (not Evidently's choice)"))
        #expect(x.method.contains("drift when the distance ≥ 0.2"), "\(x.method)")
        let c = try #require(report.columns.first { $0.column == "c" })
        #expect(c.test == .chisquare && c.method.contains("drift when p < 0.05"), "\(c.method)")
    }

    /// pandas' whole `na_values` list is null to `expect_column_values_to_not_be_null`.
    @Test func pandasNullTokensAreNulls() throws {
        let data = try dataset("v\n1\nn/a\n#N/A\n<NA>\n-nan\n1.#IND\n#NA\nNULL\n2\n")
        #expect(data.column("v")?.type == .int)
        let result = try judge("expect_column_values_to_not_be_null", column: "v", [], on: data)
        #expect(observed(result, "null_count") == 7)
        #expect(result.failingLines.prefix(5) == [3, 4, 5, 6, 7])
    }

    /// `isin` on typed columns: numbers match numbers (1 == 1.0), booleans booleans, text text.
    @Test func valueSetsCompareTypedValues() throws {
        for item in try #require(fixture["isin"] as? [[String: Any]]) {
            let csv = try #require(item["csv"] as? String)
            let set = (item["value_set"] as? [Any] ?? []).map(structured)
            let result = try judge(
                "expect_column_values_to_be_in_set", column: item["column"] as? String,
                [("value_set", .array(set))], on: try dataset(csv))
            #expect(observed(result, "unexpected_count") == item["unexpected"] as? Int, "\(set) on\n\(csv)")
            #expect(observed(result, "element_count") == item["element_count"] as? Int, "\(set) on\n\(csv)")
        }
    }

    /// Random expectations on random CSV files (the corpus's tokens: pandas' null spellings, infinities,
    /// padded and signed integers, booleans, text), judged by pandas as Great Expectations judges them: the
    /// committed cases and, when GITOPS_ML_EXPECTATIONS_CORPUS names one (`make test`), fresh ones.
    @Test func expectationsAsPandasJudgesThem() throws {
        var cases = try #require(fixture["expectations"] as? [String: Any])["cases"] as? [[String: Any]] ?? []
        if let fresh = ProcessInfo.processInfo.environment["GITOPS_ML_EXPECTATIONS_CORPUS"] {
            let data = try Data(contentsOf: URL(fileURLWithPath: fresh))
            let corpus = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            cases += try #require(corpus["cases"] as? [[String: Any]], "\(fresh): no cases")
        }
        #expect(cases.count > 500)
        var datasets: [String: Dataset] = [:]
        for item in cases {
            let csv = try #require(item["csv"] as? String)
            let data = try datasets[csv] ?? dataset(csv)
            datasets[csv] = data
            let type = try #require(item["expectation"] as? String)
            let arguments = (item["arguments"] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map {
                (key, value) -> (String, StructuredValue) in
                if let list = value as? [Any] { return (key, .array(list.map(structured))) }
                if let name = value as? String { return (key, .string(name)) }
                if let spec = value as? [String: Any], let levels = spec["quantiles"] as? [NSNumber] {
                    return (
                        key,
                        .object([
                            ("quantiles", .array(levels.map { .double($0.doubleValue) })),
                            ("value_ranges", .array(levels.map { _ in .array([.null, .null]) })),
                        ])
                    )
                }
                return (key, structured(value))
            }
            let what = "\(type) on \(item["column"] as? String ?? "")\(arguments) in\n\(csv)"
            let result = try judge(type, column: item["column"] as? String, arguments, on: data)
            for key in ["null_count", "element_count"] where item[key] != nil {
                #expect(observed(result, key) == item[key] as? Int, "\(key): \(what)")
            }
            if let unexpected = item["unexpected"] as? Int {
                #expect(observed(result, "unexpected_count") == unexpected, "\(what)")
                #expect(result.success == (unexpected == 0), "\(what)")
            }
            if let expected = item["quantiles"] as? [String] {
                let theirs = expected.compactMap(Double.init)
                guard case .array(let values) = result.observed else {
                    Issue.record("no quantiles: \(result.observed): \(what)")
                    continue
                }
                let ours = values.map { value -> Double in if case .double(let number) = value { number } else { .nan }
                }
                let same =
                    ours.count == theirs.count && zip(ours, theirs).allSatisfy { $0 == $1 || $0.isNaN && $1.isNaN }
                #expect(same, "ours \(ours), pandas \(theirs): \(what)")
            }
            if let expected = item["observed"] {
                let theirs = try #require((expected as? String).flatMap(Double.init), "\(expected)")
                guard case .double(let ours) = result.observed else {
                    Issue.record("no statistic: \(result.observed), pandas \(theirs): \(what)")
                    continue
                }
                let close = ours == theirs || (ours.isNaN && theirs.isNaN) || abs(ours - theirs) <= 1e-12 * abs(theirs)
                #expect(close, "ours \(ours), pandas \(theirs): \(what)")
            }
        }
    }

    /// Great Expectations' compound uniqueness: every row of a repeated combination, rows null in every
    /// column left out.
    @Test func compoundUniquenessCountsEveryRepeatedRow() throws {
        for item in try #require(fixture["compound"] as? [[String: Any]]) {
            let csv = try #require(item["csv"] as? String)
            let columns = (item["columns"] as? [String] ?? []).map(StructuredValue.string)
            let result = try judge(
                "expect_compound_columns_to_be_unique", [("column_list", .array(columns))], on: try dataset(csv))
            #expect(observed(result, "unexpected_count") == item["unexpected"] as? Int, "\(csv)")
            #expect(observed(result, "element_count") == item["element_count"] as? Int, "\(csv)")
            #expect(result.failingLines == item["lines"] as? [Int], "\(csv)")
            #expect(result.success == ((item["unexpected"] as? Int) == 0))
        }
    }

    /// Lengths in code points and equality by code points, as Python's `len` and `==`.
    @Test func textIsCodePoints() throws {
        let reference = try #require(fixture["text"] as? [String: Any])
        let values = try #require(reference["values"] as? [String])
        let lengths = try #require(reference["lengths"] as? [Int])
        let data = try dataset("v\n" + values.joined(separator: "\n") + "\n")
        for (row, length) in lengths.enumerated() {
            let one = try dataset("v\n\(values[row])\n")
            let bounds: [(String, StructuredValue)] = [("min_value", .int(length)), ("max_value", .int(length))]
            #expect(try judge("expect_column_value_lengths_to_be_between", column: "v", bounds, on: one).success)
        }
        // café and cafe + U+0301 are two values (pandas' nunique is 2), so the column is unique.
        #expect(data.column("v")?.dictionary.count == values.count)
        #expect(reference["distinct"] as? Int == 2)
        #expect(try judge("expect_column_values_to_be_unique", column: "v", [], on: data).success)
    }
}
