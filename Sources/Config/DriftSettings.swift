import GitOpsMLCore

/// How a DataPolicy's `drift:` judges drift (by Datasets' `DriftDetector`): Evidently's automatic choice
/// per column unless a test is named.
public struct DriftSettings: Sendable, Equatable {
    public enum Test: String, Sendable, CaseIterable { case ks, wasserstein, psi, jensenshannon, chisquare, z }

    /// Dataset drift when at least this share of the evaluated columns drifted.
    public var driftShare = 0.5
    /// One test for every column (nil: automatic).
    public var test: Test?
    public var threshold: Double?
    public var columnTests: [String: ColumnTest] = [:]
    public struct ColumnTest: Sendable, Equatable {
        public var test: Test?
        public var threshold: Double?
    }
    public var exclude: Set<String> = []
    /// Adjust the p-values of p-value tests across columns (Benjamini–Hochberg) before thresholds.
    public var benjaminiHochberg = false
    /// Fewer non-null values than this on either side: "insufficient data", not drift. None by default,
    /// as in Evidently (whose verdicts these are); `min_sample` sets one.
    public var minimumSample = 1

    /// Whose column types: Evidently's current API (`Report` with `DataDriftPreset`, the default), or its
    /// legacy `DataDriftTable`. The tests and their choice are the same; the types differ (see `Kind`).
    public enum Evidently: String, Sendable, CaseIterable { case current, legacy }
    public var evidently = Evidently.current

    public init() {}

    /// `drift:` of a DataPolicy: drift_share, test, threshold, columns {name: {test, threshold}}, exclude,
    /// correction (none | benjamini_hochberg), min_sample, evidently (current | legacy).
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
        /// A finite number in `range` (NaN and infinities are refused, as everywhere in policies).
        func number(_ item: StructuredValue, _ key: String, _ range: ClosedRange<Double>) throws -> Double {
            guard let value = item.number, value.isFinite, range.contains(value) else {
                throw GitOpsMLError.configuration(
                    "drift: \(key) must be a number from \(range.lowerBound) to \(range.upperBound), not \(item.json().prefix(40))",
                    at: location)
            }
            return value
        }
        for (key, item) in pairs {
            switch key {
            case "drift_share": settings.driftShare = try number(item, key, 0...1)
            case "test", "stattest": settings.test = try test(item)
            case "threshold", "stattest_threshold": settings.threshold = try number(item, key, 0...1e300)
            case "evidently":
                guard case .string(let name) = item, let api = Evidently(rawValue: name) else {
                    throw GitOpsMLError.configuration("drift: evidently is current or legacy", at: location)
                }
                settings.evidently = api
            case "min_sample":
                settings.minimumSample = Int(try number(item, key, 1...1e9).rounded(.down))  // e.g. 30
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
                    settings.columnTests[name] = ColumnTest(
                        test: try spec["test"].map(test),
                        threshold: try spec["threshold"].map { try number($0, "threshold", 0...1e300) })
                }
            default:
                throw GitOpsMLError.configuration(
                    "drift: unknown key \"\(key)\" (drift_share, test, threshold, columns, exclude, correction, min_sample, evidently)",
                    at: location)
            }
        }
        return settings
    }
}
