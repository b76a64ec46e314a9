import Config
import Dispatch
import Foundation
import GitOpsMLCore
import Statistics

/// One column's drift verdict, with everything needed to check it.
public struct ColumnDrift: Sendable {
    public var column: String
    public var kind: String
    public var test: DriftSettings.Test?
    public var statistic: Double?
    /// The p-value (for KS, chi-square, Z) or the distance (Wasserstein, PSI, JS) compared with the threshold.
    public var score: Double?
    public var threshold: Double?
    /// nil: not judged (no values, insufficient data, excluded, missing in the current data).
    public var drifted: Bool?
    public var referenceCount: Int
    public var currentCount: Int
    public var note: String?
    /// How the statistic was computed, for the report: the variant (KS exact or asymptotic), the binning
    /// of PSI and Jensen–Shannon, the category compared by the Z-test, a p-value adjustment.
    public var method: [String] = []

    public var isPValue: Bool { test == .ks || test == .chisquare || test == .z }

    /// Evidently's comparison: KS drifts at p ≤ threshold, the other p-value tests at p < threshold, the
    /// distances at ≥ threshold.
    func drifts(_ score: Double, _ threshold: Double) -> Bool {
        switch test {
        case .ks?: return score <= threshold
        case .chisquare?, .z?: return score < threshold
        default: return score >= threshold
        }
    }

    /// The same comparison in words, for the report: "drift when p ≤ 0.05".
    func rule(_ threshold: Double) -> String {
        let number = StructuredValue.pythonFloat(threshold)
        switch test {
        case .ks?: return "drift when p ≤ \(number)"
        case .chisquare?, .z?: return "drift when p < \(number)"
        default: return "drift when the distance ≥ \(number)"
        }
    }
}

public struct DriftReport: Sendable {
    public var columns: [ColumnDrift]
    public var settings: DriftSettings

    public var evaluated: [ColumnDrift] { columns.filter { $0.drifted != nil } }
    public var driftedCount: Int { evaluated.filter { $0.drifted == true }.count }
    public var share: Double { evaluated.isEmpty ? 0 : Double(driftedCount) / Double(evaluated.count) }
    public var datasetDrift: Bool { !evaluated.isEmpty && share >= settings.driftShare }
}

public enum DriftDetector {
    /// Throws a configuration error when a named test cannot judge a column's type (as Evidently refuses
    /// it): KS and Wasserstein take numeric columns, chi-square and Z categorical ones, PSI and
    /// Jensen–Shannon both.
    public static func detect(reference: Dataset, current: Dataset, settings: DriftSettings = DriftSettings())
        throws -> DriftReport
    {
        // Columns are judged independently: one per core.
        var results = try Parallel.map(reference.columns.count) { index in
            try judge(reference.columns[index], current: current, settings: settings)
        }
        if settings.benjaminiHochberg {
            let indices = results.indices.filter { results[$0].isPValue && results[$0].score != nil }
            let adjusted = DriftStatistics.benjaminiHochberg(indices.map { results[$0].score ?? 1 })
            for (index, value) in zip(indices, adjusted) {
                results[index].score = value
                results[index].method.append("p-value Benjamini–Hochberg adjusted across \(indices.count) columns")
            }
        }
        for index in results.indices {
            guard let score = results[index].score, let threshold = results[index].threshold else { continue }
            results[index].drifted = results[index].drifts(score, threshold)
        }
        return DriftReport(columns: results, settings: settings)
    }

    /// The column types a test takes, as Evidently's `allowed_feature_types`.
    static func accepts(_ test: DriftSettings.Test, numeric: Bool) -> Bool {
        switch test {
        case .ks, .wasserstein: return numeric
        case .chisquare, .z: return !numeric
        case .psi, .jensenshannon: return true
        }
    }

    static func judge(_ referenceColumn: Column, current: Dataset, settings: DriftSettings) throws -> ColumnDrift {
        let name = referenceColumn.name
        guard let currentColumn = current.column(name) else {
            return ColumnDrift(
                column: name, kind: "missing", referenceCount: referenceColumn.count, currentCount: 0,
                note: "not in the current data")
        }
        var result = ColumnDrift(column: name, kind: "", referenceCount: 0, currentCount: 0)
        if settings.exclude.contains(name) {
            result.note = "excluded"
            return result
        }
        let override = settings.columnTests[name]
        let forced = override?.test ?? settings.test
        let kind = ColumnKind.of(reference: referenceColumn, current: currentColumn, api: settings.evidently)
        switch kind.type {
        case .unknown:
            result.kind = "unknown"
            result.note = "not judged: \(kind.reason)"
            return result
        case .text where forced == nil:
            result.kind = "text"
            result.note =
                "not judged: \(kind.reason); Evidently judges text with a text-content classifier gitops-ml does not run (name a test for it, exclude it, or set evidently: legacy)"
            return result
        default: break
        }
        let bothNumbers = referenceColumn.type.isNumeric && currentColumn.type.isNumeric
        let refValues: DriftColumn
        let curValues: DriftColumn
        let uniqueCount: Int
        var integerValued = false
        if kind.type == .numerical && bothNumbers {
            // Nulls and infinities dropped first, as Evidently does before choosing a test. Sorted once
            // here: every numeric statistic wants sorted values, and sorting in place keeps one copy of each
            // side alive instead of three.
            var r = referenceColumn.nonNullNumbers.filter(\.isFinite)
            var c = currentColumn.nonNullNumbers.filter(\.isFinite)
            RadixSort.sortInPlace(&r)
            RadixSort.sortInPlace(&c)
            uniqueCount = distinctCount(r, c, upTo: 6)
            (refValues, curValues) = (.numeric(r), .numeric(c))
            // pandas keeps an integer dtype only for integer columns without nulls on both sides (numpy's
            // Sturges width is then at least 1).
            integerValued =
                referenceColumn.type == .int && currentColumn.type == .int && referenceColumn.nullCount == 0
                && currentColumn.nullCount == 0
        } else {
            // Counted from the dictionary codes: no String a row. Numbers judged as categories are keyed
            // alike on both sides (1 and 1.0 are one value to pandas).
            let asFloats = bothNumbers && !(referenceColumn.type == .int && currentColumn.type == .int)
            // Numbers on one side, text on the other: a number never equals text to pandas (8 is not "8"),
            // so no category is shared and Evidently finds every current value new. The numbers' keys are
            // set apart by a NUL, which no CSV field holds.
            let apart = referenceColumn.type.isNumeric != currentColumn.type.isNumeric
            func counts(_ column: Column) -> CategoryCounts {
                if asFloats {
                    return CategoryCounts(column.nonNullNumbers.filter(\.isFinite).map(StructuredValue.pythonFloat))
                }
                guard apart, column.type.isNumeric else { return CategoryCounts(counts: column.textCounts) }
                return CategoryCounts(
                    counts: Dictionary(uniqueKeysWithValues: column.textCounts.map { ("\u{0}" + $0.key, $0.value) }))
            }
            let r = counts(referenceColumn)
            let c = counts(currentColumn)
            uniqueCount = CategoryCounts.keys(r, c).count
            // An identifier (every value distinct) is judged too when the policy names its test, or with
            // the legacy types; `exclude` skips it.
            (refValues, curValues) = (.categorical(r), .categorical(c))
        }
        let numeric: Bool
        if case .numeric = refValues { numeric = true } else { numeric = false }
        result.referenceCount = refValues.count
        result.currentCount = curValues.count
        result.kind = numeric ? "numeric" : "categorical"
        if let forced, !accepts(forced, numeric: numeric) {
            throw GitOpsMLError.configuration(
                "drift test \(forced.rawValue) cannot judge column \"\(name)\": it is \(result.kind), and \(forced.rawValue) takes \(forced == .ks || forced == .wasserstein ? "numeric" : "categorical") columns (psi and jensenshannon take both)"
            )
        }
        guard refValues.count > 0, curValues.count > 0 else {
            result.note =
                "no values \(refValues.count == 0 ? "in the reference" : "in the current data") once nulls are dropped"
            return result
        }
        guard refValues.count >= settings.minimumSample, curValues.count >= settings.minimumSample else {
            result.note = "insufficient data (fewer than \(settings.minimumSample) values)"
            return result
        }
        let test =
            override?.test ?? settings.test
            ?? automatic(numeric: numeric, referenceCount: refValues.count, unique: uniqueCount)
        result.test = test
        if let forced = override?.test ?? settings.test {
            result.method.append(
                "\(forced.rawValue) set by the policy\(override?.test != nil ? " for this column" : "") (not Evidently's choice)"
            )
        } else {
            result.method.append(
                "Evidently's choice: \(refValues.count) reference values \(refValues.count <= 1000 ? "≤" : ">") 1000, \(result.kind)\(numeric ? ", \(uniqueCount > 5 ? "> 5" : "≤ 5") distinct" : "")"
            )
        }
        result.method.append(kind.reason)
        let threshold = override?.threshold ?? settings.threshold ?? defaultThreshold(test)
        result.threshold = threshold
        result.method.append(result.rule(threshold))
        switch test {
        case .ks:
            guard case .numeric(let r) = refValues, case .numeric(let c) = curValues else { break }
            let ks = DriftStatistics.kolmogorovSmirnov(r, c)
            (result.statistic, result.score) = (ks.statistic, ks.pValue)
            result.method.append(
                ks.method == "exact" ? "exact p-value" : "asymptotic p-value (scipy's method=\"asymp\")")
        case .wasserstein:
            guard case .numeric(let r) = refValues, case .numeric(let c) = curValues else { break }
            let distance = DriftStatistics.normedWasserstein(r, c)
            (result.statistic, result.score) = (distance, distance)
            result.method.append("normed by max(reference std, 0.001)")
        case .psi, .jensenshannon:
            let binned = DriftStatistics.evidentlyBins(
                reference: refValues, current: curValues, floorEmpty: test == .psi, integerValued: integerValued)
            let value =
                test == .psi
                ? DriftStatistics.psi(reference: binned.reference, current: binned.current)
                : DriftStatistics.jensenShannon(binned.reference, binned.current)
            (result.statistic, result.score) = (value, value)
            result.method.append(binned.description)
        case .chisquare:
            let chi = DriftStatistics.chiSquareGoodnessOfFit(
                reference: refValues.categories, current: curValues.categories)
            (result.statistic, result.score) = (chi.statistic, chi.pValue)
            result.method.append("goodness of fit of the current counts to the reference shares")
        case .z:
            let z = DriftStatistics.proportionsZTest(reference: refValues.categories, current: curValues.categories)
            (result.statistic, result.score) = (z.statistic, z.pValue)
            if let category = z.category {
                // (A number set apart from text by its NUL is shown as written.)
                let shown = category.hasPrefix("\u{0}") ? String(category.dropFirst()) : category
                result.method.append("share of \(shown) against all other values")
            }
        }
        return result
    }

    /// The number of distinct values, counting no further than `limit` (deciding "at most 5 values"
    /// must not hash a million numbers).
    static func distinctCount(_ a: [Double], _ b: [Double], upTo limit: Int) -> Int {
        var seen: [Double] = []
        for values in [a, b] {
            for value in values where !seen.contains(value) {
                seen.append(value)
                if seen.count >= limit { return seen.count }
            }
        }
        return seen.count
    }

    /// Evidently's `_get_default_stattest`, on non-null values: a reference of at most 1000 values: KS
    /// for numeric columns with more than 5 distinct values (reference and current together), else
    /// chi-square with more than 2 distinct values and a Z-test with 2; larger: normed Wasserstein for
    /// numeric columns with more than 5 values, Jensen–Shannon for the rest.
    static func automatic(numeric: Bool, referenceCount: Int, unique: Int) -> DriftSettings.Test {
        if referenceCount <= 1000 {
            if numeric && unique > 5 { return .ks }
            return unique > 2 ? .chisquare : .z
        }
        return numeric && unique > 5 ? .wasserstein : .jensenshannon
    }

    static func defaultThreshold(_ test: DriftSettings.Test) -> Double {
        switch test {
        case .ks, .chisquare, .z: return 0.05
        case .wasserstein, .jensenshannon, .psi: return 0.1
        }
    }
}

/// A column's type as Evidently gives it, which decides its tests.
///
/// The current API (`Report` + `DataDriftPreset`) types each column on the **current** data, by pandas'
/// dtype (`infer_column_type`): floats are numerical; integers (an int64 column: no nulls) numerical with
/// more than 10 distinct values, else categorical; booleans categorical (with a null they are objects that
/// are not text: no type); text with more than half its values distinct is text (judged by a text-content
/// classifier, not here), else categorical. The legacy `DataDriftTable` types a column numerical when
/// its values are numbers on both sides, else categorical. Dates and times are text to pandas.
struct ColumnKind {
    enum Kind { case numerical, categorical, text, unknown }
    var type: Kind
    /// Why, in words, for the report.
    var reason: String

    static func of(reference: Column, current: Column, api: DriftSettings.Evidently) -> ColumnKind {
        guard api == .current else {
            let numeric = reference.type.isNumeric && current.type.isNumeric
            return ColumnKind(
                type: numeric ? .numerical : .categorical,
                reason: "\(numeric ? "numerical" : "categorical"): Evidently's legacy types (numbers on both sides)")
        }
        let present = current.count - current.nullCount
        switch current.type {
        case .float:
            return ColumnKind(type: .numerical, reason: "numerical: a float column in the current data")
        case .int where current.nullCount > 0:
            return ColumnKind(
                type: .numerical,
                reason: "numerical: an integer column with nulls (float to pandas) in the current data")
        case .int:
            // Counted no further than 11: deciding "at most 10 values" must not hash a million numbers.
            let distinct = DriftDetector.distinctCount(current.values, [], upTo: 11)
            return distinct > 10
                ? ColumnKind(
                    type: .numerical,
                    reason: "numerical: an integer column with more than 10 distinct values in the current data")
                : ColumnKind(
                    type: .categorical,
                    reason: "categorical: an integer column with \(distinct) distinct values (≤ 10) in the current data"
                )
        case .bool where current.nullCount > 0:
            return ColumnKind(
                type: .unknown, reason: "booleans with nulls, which Evidently's current API gives no type")
        case .bool:
            return ColumnKind(type: .categorical, reason: "categorical: a boolean column")
        case .string, .timestamp:
            guard present > 0 else { return ColumnKind(type: .unknown, reason: "no values in the current data") }
            let distinct = current.textCounts.count  // dates as written, as pandas counts them
            let text = Double(distinct) > 0.5 * Double(present)
            return ColumnKind(
                type: text ? .text : .categorical,
                reason:
                    "\(text ? "text" : "categorical"): \(distinct) distinct of \(present) values in the current data (text when more than half)"
            )
        }
    }
}
