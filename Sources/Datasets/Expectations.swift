import Config
import Foundation
import GitOpsMLCore
import Statistics

/// The outcome of one expectation on one dataset.
public struct ExpectationResult: Sendable {
    public var type: String
    public var column: String?
    public var success: Bool
    public var message: String
    public var observed: StructuredValue
    public var expected: StructuredValue
    /// File lines of a few failing rows.
    public var failingLines: [Int]
    public var location: SourceLocation
}

/// Great Expectations' vocabulary (with or without the `expect_` prefix), evaluated on typed columns.
/// Column-map expectations ignore nulls and pass when at least `mostly` of the non-null values comply.
public enum Expectations {
    /// For a column of whole numbers spanning at most 2²⁶ values: which rows hold a value that occurs more
    /// than once, by counting into a byte per possible value (linear, no sort); empty when none repeats.
    /// nil for other columns.
    static func repeatedIntegers(_ values: [Double]) -> [Bool]? {
        var low = Double.infinity
        var high = -Double.infinity
        for value in values where !value.isNaN {
            guard value.rounded() == value else { return nil }
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        guard low <= high, high - low < Double(1 << 26) else { return nil }
        var counts = [UInt8](repeating: 0, count: Int(high - low) + 1)
        var repeats = false
        for value in values where !value.isNaN {
            let slot = Int(value - low)
            if counts[slot] < 2 { counts[slot] += 1 }
            if counts[slot] == 2 { repeats = true }
        }
        guard repeats else { return [] }
        return values.map { $0.isNaN ? false : counts[Int($0 - low)] > 1 }
    }

    /// The columns whose values these expectations read (names alone are not values: the table-shape
    /// expectations need none), so that only these are read from the file.
    public static func columnsRead(by expectations: [DataPolicy.Expectation]) -> Set<String> {
        var names = Set(expectations.compactMap(\.column))
        for expectation in expectations {
            if case .compoundColumnsToBeUnique(let columns) = expectation.rule { names.formUnion(columns) }
        }
        return names
    }

    /// One expectation on one dataset: one function per rule (`Table` for the table's shape, `ColumnCheck`
    /// for a column's values).
    public static func evaluate(_ expectation: DataPolicy.Expectation, on data: Dataset, now: Date = Date()) throws
        -> ExpectationResult
    {
        let table = Table(expectation: expectation, data: data)
        // The rule was checked where the policy was read: a column rule has its column.
        func check() throws -> ColumnCheck {
            let name = expectation.column ?? ""
            return ColumnCheck(table: table, name: name, column: try column(name, in: data, expectation.location))
        }
        switch expectation.rule {
        case .tableColumnsToMatchSet(let columns, let exactMatch): return table.columnsMatchSet(columns, exactMatch)
        case .tableColumnsToMatchOrderedList(let columns): return table.columnsMatchOrderedList(columns)
        case .tableRowCountToBeBetween(let bounds): return table.rowCountBetween(bounds)
        case .compoundColumnsToBeUnique(let columns): return try table.compoundUnique(columns)
        case .columnToExist: return table.columnExists(expectation.column ?? "")
        case .columnValuesToBeOfType(let type): return try check().ofType(type)
        case .columnValuesToNotBeNull: return try check().notNull()
        case .columnValuesToBeNull: return try check().null()
        case .columnProportionOfNonNullValuesToBeBetween(let bounds): return try check().nonNullShare(bounds)
        case .columnValuesToBeUnique: return try check().unique()
        case .columnValuesToBeBetween(let bounds, let strictMin, let strictMax):
            return try check().between(bounds, strictMin: strictMin, strictMax: strictMax)
        case .columnValuesToBeInSet(let set): return try check().inSet(set)
        case .columnValuesToMatchRegex(let pattern): return try check().matchRegex(pattern)
        case .columnValueLengthsToBeBetween(let bounds): return try check().lengthsBetween(bounds)
        case .columnStatisticToBeBetween(let statistic, let bounds): return try check().statistic(statistic, bounds)
        case .columnQuantileValuesToBeBetween(let quantiles, let ranges, let written, let interpolation):
            return try check().quantiles(quantiles, ranges, written: written, interpolation: interpolation)
        case .columnValuesToBeFresh(let maxAge, let reference): return try check().fresh(maxAge, reference, now: now)
        }
    }

    static func column(_ name: String, in data: Dataset, _ location: SourceLocation) throws -> Column {
        guard let column = data.column(name) else {
            guard !data.columnNames.contains(name) else {
                throw GitOpsMLError.environment("internal: column \(name) of \(data.file) was not read")
            }
            throw ExpectationColumnMissing(column: name, location: location, columns: data.columnNames)
        }
        return column
    }

    static func range(_ bounds: DataPolicy.Bounds) -> String {
        "[\(bounds.low.map { String(format: "%g", $0) } ?? "−∞"), \(bounds.high.map { String(format: "%g", $0) } ?? "∞")]"
    }

    static func rangeValue(_ bounds: DataPolicy.Bounds) -> StructuredValue {
        .object([
            ("min_value", bounds.low.map(StructuredValue.double) ?? .null),
            ("max_value", bounds.high.map(StructuredValue.double) ?? .null),
        ])
    }
}

/// An expectation named a column the dataset does not have: a failed expectation, not a crash.
public struct ExpectationColumnMissing: Error {
    public var column: String
    public var location: SourceLocation
    public var columns: [String]
}
