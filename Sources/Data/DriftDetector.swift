import Config
import Dispatch
import Foundation
import GitOpsMLCore

/// How drift is judged: Evidently's automatic choice per column unless a test is named.
public struct DriftSettings: Sendable {
    public enum Test: String, Sendable, CaseIterable { case ks, wasserstein, psi, jensenshannon, chisquare, z }

    /// Dataset drift when at least this share of the evaluated columns drifted.
    public var driftShare = 0.5
    /// One test for every column (nil: automatic).
    public var test: Test?
    public var threshold: Double?
    public var columnTests: [String: (test: Test?, threshold: Double?)] = [:]
    public var exclude: Set<String> = []
    /// Adjust the p-values of p-value tests across columns (Benjamini–Hochberg) before thresholds.
    public var benjaminiHochberg = false
    /// Fewer non-null values than this on either side: "insufficient data", not drift.
    public var minimumSample = 30

    public init() {}

    /// `drift:` of a DataPolicy: drift_share, test, threshold, columns {name: {test, threshold}}, exclude,
    /// correction (none | benjamini_hochberg), min_sample.
    public static func parse(_ value: StructuredValue?, location: SourceLocation) throws -> DriftSettings {
        var settings = DriftSettings()
        guard let value, value != .null else { return settings }
        guard case .object(let pairs) = value else {
            throw GitOpsMLError.configuration("drift must be a mapping", at: location)
        }
        func test(_ value: StructuredValue) throws -> Test {
            guard case .string(let name) = value, let test = Test(rawValue: name) else {
                throw GitOpsMLError.configuration(
                    "drift: unknown test \(value.json()) (\(Test.allCases.map(\.rawValue).joined(separator: ", ")))",
                    at: location)
            }
            return test
        }
        for (key, item) in pairs {
            switch key {
            case "drift_share": settings.driftShare = item.number ?? 0.5
            case "test", "stattest": settings.test = try test(item)
            case "threshold", "stattest_threshold": settings.threshold = item.number
            case "min_sample": settings.minimumSample = Int(item.number ?? 30)
            case "correction":
                guard case .string(let name) = item, ["none", "benjamini_hochberg"].contains(name) else {
                    throw GitOpsMLError.configuration("drift: correction is none or benjamini_hochberg", at: location)
                }
                settings.benjaminiHochberg = name == "benjamini_hochberg"
            case "exclude":
                guard case .array(let names) = item else {
                    throw GitOpsMLError.configuration("drift: exclude is a list", at: location)
                }
                settings.exclude = Set(
                    names.compactMap { if case .string(let text) = $0 { return text } else { return nil } })
            case "columns":
                guard case .object(let columns) = item else {
                    throw GitOpsMLError.configuration("drift: columns is a mapping", at: location)
                }
                for (name, spec) in columns {
                    settings.columnTests[name] = (try spec["test"].map(test), spec["threshold"]?.number)
                }
            default:
                throw GitOpsMLError.configuration(
                    "drift: unknown key \"\(key)\" (drift_share, test, threshold, columns, exclude, correction, min_sample)",
                    at: location)
            }
        }
        return settings
    }
}

/// One column's drift verdict, with everything needed to check it.
public struct ColumnDrift: Sendable {
    public var column: String
    public var kind: String
    public var test: DriftSettings.Test?
    public var statistic: Double?
    /// The p-value (for KS, chi-square, Z) or the distance (Wasserstein, PSI, JS) compared with the threshold.
    public var score: Double?
    public var threshold: Double?
    /// nil: not judged (insufficient data, excluded, an identifier).
    public var drifted: Bool?
    public var referenceCount: Int
    public var currentCount: Int
    public var note: String?

    public var isPValue: Bool { test == .ks || test == .chisquare || test == .z }
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
    public static func detect(reference: Dataset, current: Dataset, settings: DriftSettings = DriftSettings())
        -> DriftReport
    {
        // Columns are judged independently: one per core.
        let judged = Mutex<[Int: ColumnDrift]>([:])
        DispatchQueue.concurrentPerform(iterations: reference.columns.count) { index in
            let result = judge(reference.columns[index], current: current, settings: settings)
            judged.withLock { $0[index] = result }
        }
        var results = judged.withLock { values in reference.columns.indices.compactMap { values[$0] } }
        if settings.benjaminiHochberg {
            let indices = results.indices.filter { results[$0].isPValue && results[$0].score != nil }
            let adjusted = DriftStatistics.benjaminiHochberg(indices.map { results[$0].score ?? 1 })
            for (index, value) in zip(indices, adjusted) { results[index].score = value }
        }
        for index in results.indices {
            guard let score = results[index].score, let threshold = results[index].threshold else { continue }
            results[index].drifted = results[index].isPValue ? score < threshold : score >= threshold
        }
        return DriftReport(columns: results, settings: settings)
    }

    static func judge(_ referenceColumn: Column, current: Dataset, settings: DriftSettings) -> ColumnDrift {
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
        let numericType = referenceColumn.type.isNumeric || referenceColumn.type == .timestamp
        let sameType = numericType == (currentColumn.type.isNumeric || currentColumn.type == .timestamp)
        let refValues: DriftColumn
        let curValues: DriftColumn
        var uniqueCount: Int
        if numericType && sameType {
            // Sorted once here: every numeric statistic wants sorted values, and sorting in place keeps one
            // copy of each side alive instead of three.
            var r = referenceColumn.nonNullNumbers
            var c = currentColumn.nonNullNumbers
            RadixSort.sortInPlace(&r)
            RadixSort.sortInPlace(&c)
            uniqueCount = distinctCount(r, c, upTo: 6)
            if uniqueCount > 5 {
                (refValues, curValues) = (.numeric(r), .numeric(c))
            } else {
                // Evidently: a numeric column with at most 5 values is categorical.
                (refValues, curValues) = (
                    .categorical(CategoryCounts(r.map(StructuredValue.pythonFloat))),
                    .categorical(CategoryCounts(c.map(StructuredValue.pythonFloat)))
                )
            }
        } else {
            // Counted from the dictionary codes: no String a row.
            let r = CategoryCounts(counts: referenceColumn.textCounts)
            let c = CategoryCounts(counts: currentColumn.textCounts)
            uniqueCount = CategoryCounts.keys(r, c).count
            (refValues, curValues) = (.categorical(r), .categorical(c))
            if referenceColumn.type == .string && r.counts.count == r.total && r.total > 5 {
                result.referenceCount = r.total
                result.currentCount = c.total
                result.kind = "categorical"
                result.note = "every value is distinct (an identifier): not judged"
                return result
            }
        }
        result.referenceCount = refValues.count
        result.currentCount = curValues.count
        if case .numeric = refValues { result.kind = "numeric" } else { result.kind = "categorical" }
        guard refValues.count >= settings.minimumSample, curValues.count >= settings.minimumSample else {
            result.note = "insufficient data (fewer than \(settings.minimumSample) values)"
            return result
        }
        let override = settings.columnTests[name]
        let test =
            override?.test ?? settings.test ?? automatic(refValues, reference: referenceColumn, unique: uniqueCount)
        result.test = test
        let threshold = override?.threshold ?? settings.threshold ?? defaultThreshold(test)
        result.threshold = threshold
        switch (test, refValues, curValues) {
        case (.ks, .numeric(let r), .numeric(let c)):
            let ks = DriftStatistics.kolmogorovSmirnov(r, c)
            (result.statistic, result.score) = (ks.statistic, ks.pValue)
        case (.wasserstein, .numeric(let r), .numeric(let c)):
            let distance = DriftStatistics.normedWasserstein(r, c)
            (result.statistic, result.score) = (distance, distance)
        case (.psi, _, _):
            let shares = DriftStatistics.binnedShares(reference: refValues, current: curValues)
            let value = DriftStatistics.psi(reference: shares.reference, current: shares.current)
            (result.statistic, result.score) = (value, value)
        case (.jensenshannon, _, _):
            let shares = DriftStatistics.binnedShares(reference: refValues, current: curValues, emptyShare: nil)
            let value = DriftStatistics.jensenShannon(shares.reference, shares.current)
            (result.statistic, result.score) = (value, value)
        case (.chisquare, _, _):
            let chi = DriftStatistics.chiSquareGoodnessOfFit(
                reference: refValues.categories, current: curValues.categories)
            (result.statistic, result.score) = (chi.statistic, chi.pValue)
        case (.z, _, _):
            let z = DriftStatistics.proportionsZTest(reference: refValues.categories, current: curValues.categories)
            (result.statistic, result.score) = (z.statistic, z.pValue)
        default:
            result.note = "\(test.rawValue) needs a numeric column"
            result.test = nil
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

    /// Evidently's default: small reference (≤ 1000 rows): KS for numeric columns, chi-square for
    /// categorical ones with more than two values, a Z-test for binary ones; larger: normed Wasserstein
    /// for numeric, Jensen–Shannon for categorical.
    static func automatic(_ values: DriftColumn, reference: Column, unique: Int) -> DriftSettings.Test {
        let numeric: Bool
        if case .numeric = values { numeric = true } else { numeric = false }
        if reference.count <= 1000 {
            if numeric { return .ks }
            return unique > 2 ? .chisquare : .z
        }
        return numeric ? .wasserstein : .jensenshannon
    }

    static func defaultThreshold(_ test: DriftSettings.Test) -> Double {
        switch test {
        case .ks, .chisquare, .z: return 0.05
        case .wasserstein, .jensenshannon, .psi: return 0.1
        }
    }
}
