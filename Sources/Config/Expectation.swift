import Foundation
import GitOpsMLCore

extension DataPolicy {
    /// One expectation of a data policy, in Great Expectations' vocabulary (with or without the `expect_`
    /// prefix), with its arguments checked and typed where the policy is read: an unknown name or argument,
    /// a missing column, a value of the wrong kind, a bound that is not a finite number or a regex that does
    /// not compile is a configuration error at the expectation's line. Adding an expectation is a case of
    /// `Rule` here (and its parsing below) and one function in Datasets' `Expectations`.
    public struct Expectation: Sendable, Equatable {
        /// As written in the policy.
        public var type: String
        public var column: String?
        /// Column-map expectations pass when at least this share of the non-null values comply (default 1).
        public var mostly: Double?
        public var rule: Rule
        /// The arguments as written (besides `expect`, `column` and `mostly`), for reports.
        public var arguments: [(key: String, value: StructuredValue)]
        public var location: SourceLocation

        /// The name without its `expect_` prefix.
        public var name: String { Self.canonical(type) }

        public static func canonical(_ type: String) -> String {
            type.hasPrefix("expect_") ? String(type.dropFirst(7)) : type
        }

        public init(
            type: String, column: String?, mostly: Double?, arguments: [(key: String, value: StructuredValue)],
            location: SourceLocation
        ) throws {
            self.type = type
            self.column = column
            self.mostly = mostly
            self.arguments = arguments
            self.location = location
            rule = try Rule(type: type, column: column, arguments: arguments, location: location)
        }

        public static func == (a: Expectation, b: Expectation) -> Bool {
            a.type == b.type && a.column == b.column && a.mostly == b.mostly && a.location == b.location
                && StructuredValue.object(a.arguments) == StructuredValue.object(b.arguments)
        }
    }

    /// Inclusive bounds; nil is no bound.
    public struct Bounds: Sendable, Equatable {
        public var low: Double?
        public var high: Double?
        public init(_ low: Double?, _ high: Double?) {
            self.low = low
            self.high = high
        }
        public func contains(_ value: Double) -> Bool {
            (low.map { value >= $0 } ?? true) && (high.map { value <= $0 } ?? true)
        }
    }

    /// The type `column_values_to_be_of_type` asks for (pandas' and SQL's spellings accepted).
    public enum ValueType: String, Sendable, Equatable {
        case int, float, bool, string, timestamp

        static let spellings: [String: ValueType] = [
            "int": .int, "int64": .int, "integer": .int, "INTEGER": .int, "float": .float, "float64": .float,
            "double": .float, "FLOAT": .float, "str": .string, "string": .string, "object": .string, "bool": .bool,
            "boolean": .bool, "datetime": .timestamp, "timestamp": .timestamp, "datetime64": .timestamp,
        ]
    }

    /// How a quantile between two values is taken (pandas' `interpolation`). Great Expectations asks pandas
    /// for `nearest` unless `allow_relative_error` names another.
    public enum QuantileInterpolation: String, Sendable, Equatable, CaseIterable {
        case linear, lower, higher, midpoint, nearest
    }

    /// A summary statistic of a column held between bounds.
    public enum ColumnStatistic: String, Sendable, Equatable {
        case mean, stdev, min, max, median
    }

    /// What an expectation asks, with its typed arguments.
    public enum Rule: Sendable, Equatable {
        case tableColumnsToMatchSet(columns: [String], exactMatch: Bool)
        case tableColumnsToMatchOrderedList([String])
        case tableRowCountToBeBetween(Bounds)
        case compoundColumnsToBeUnique([String])
        case columnToExist
        case columnValuesToBeOfType(ValueType)
        case columnValuesToNotBeNull
        case columnValuesToBeNull
        case columnValuesToBeUnique
        case columnValuesToBeBetween(Bounds, strictMin: Bool, strictMax: Bool)
        case columnValuesToBeInSet([StructuredValue])
        case columnValuesToMatchRegex(String)
        case columnValueLengthsToBeBetween(Bounds)
        case columnStatisticToBeBetween(ColumnStatistic, Bounds)
        /// The quantiles and, for each, its bounds; `written` is `value_ranges` as the policy gave it.
        case columnQuantileValuesToBeBetween(
            quantiles: [Double], ranges: [Bounds], written: [StructuredValue], interpolation: QuantileInterpolation)
        case columnProportionOfNonNullValuesToBeBetween(Bounds)
        /// `now`: the time to judge at, as written (else the time of the check).
        case columnValuesToBeFresh(maxAgeSeconds: Double, now: String?)

        /// The names known, with whether each needs a column and the arguments it takes.
        public static let catalogue: [String: (needsColumn: Bool, arguments: Set<String>)] = [
            "table_columns_to_match_set": (false, ["column_set", "exact_match"]),
            "table_columns_to_match_ordered_list": (false, ["column_list"]),
            "column_to_exist": (true, []),
            "column_values_to_be_of_type": (true, ["type_"]),
            "column_values_to_not_be_null": (true, []),
            "column_values_to_be_null": (true, []),
            "column_values_to_be_unique": (true, []),
            "compound_columns_to_be_unique": (false, ["column_list"]),
            "column_values_to_be_between": (true, ["min_value", "max_value", "strict_min", "strict_max"]),
            "column_values_to_be_in_set": (true, ["value_set"]),
            "column_values_to_match_regex": (true, ["regex"]),
            "column_value_lengths_to_be_between": (true, ["min_value", "max_value"]),
            "table_row_count_to_be_between": (false, ["min_value", "max_value"]),
            "column_mean_to_be_between": (true, ["min_value", "max_value"]),
            "column_stdev_to_be_between": (true, ["min_value", "max_value"]),
            "column_min_to_be_between": (true, ["min_value", "max_value"]),
            "column_max_to_be_between": (true, ["min_value", "max_value"]),
            "column_median_to_be_between": (true, ["min_value", "max_value"]),
            "column_quantile_values_to_be_between": (true, ["quantile_ranges", "allow_relative_error"]),
            "column_proportion_of_non_null_values_to_be_between": (true, ["min_value", "max_value"]),
            "column_values_to_be_fresh": (true, ["max_age_seconds", "max_age_days", "now"]),
        ]

        init(
            type: String, column: String?, arguments pairs: [(key: String, value: StructuredValue)],
            location: SourceLocation
        ) throws {
            let name = Expectation.canonical(type)
            func fail(_ message: String) -> GitOpsMLError { .configuration("\(type): \(message)", at: location) }
            guard let entry = Self.catalogue[name] else {
                throw GitOpsMLError.configuration(
                    "unknown expectation \"\(type)\" (known: \(Self.catalogue.keys.sorted().joined(separator: ", ")))",
                    at: location)
            }
            if entry.needsColumn && column == nil {
                throw GitOpsMLError.configuration("\(type) needs a column", at: location)
            }
            for argument in pairs where !entry.arguments.contains(argument.key) {
                throw fail(
                    "unknown argument \"\(argument.key)\" (expected: \(entry.arguments.sorted().joined(separator: ", ")))"
                )
            }
            // NaN compares false with everything and an infinite bound is none: either would pass every row.
            func finite(_ value: StructuredValue) -> Bool {
                switch value {
                case .double(let number): return number.isFinite
                case .array(let items): return items.allSatisfy(finite)
                case .object(let pairs): return pairs.allSatisfy { finite($0.value) }
                default: return true
                }
            }
            for argument in pairs where !finite(argument.value) {
                throw fail("\(argument.key) must be a finite number")
            }
            let arguments = Arguments(pairs: pairs, fail: fail)
            func bounds() throws -> Bounds {
                Bounds(try arguments.double("min_value"), try arguments.double("max_value"))
            }
            switch name {
            case "table_columns_to_match_set":
                self = .tableColumnsToMatchSet(
                    columns: try arguments.strings("column_set"), exactMatch: try arguments.bool("exact_match") ?? true)
            case "table_columns_to_match_ordered_list":
                self = .tableColumnsToMatchOrderedList(try arguments.strings("column_list"))
            case "table_row_count_to_be_between": self = .tableRowCountToBeBetween(try bounds())
            case "compound_columns_to_be_unique":
                self = .compoundColumnsToBeUnique(try arguments.strings("column_list"))
            case "column_to_exist": self = .columnToExist
            case "column_values_to_be_of_type":
                let wanted = try arguments.string("type_") ?? ""
                guard let type = ValueType.spellings[wanted] else { throw fail("unknown type \"\(wanted)\"") }
                self = .columnValuesToBeOfType(type)
            case "column_values_to_not_be_null": self = .columnValuesToNotBeNull
            case "column_values_to_be_null": self = .columnValuesToBeNull
            case "column_values_to_be_unique": self = .columnValuesToBeUnique
            case "column_values_to_be_between":
                self = .columnValuesToBeBetween(
                    try bounds(), strictMin: try arguments.bool("strict_min") ?? false,
                    strictMax: try arguments.bool("strict_max") ?? false)
            case "column_values_to_be_in_set": self = .columnValuesToBeInSet(try arguments.values("value_set"))
            case "column_values_to_match_regex":
                let pattern = try arguments.string("regex") ?? ""
                guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                    throw fail("invalid regex \"\(pattern)\"")
                }
                self = .columnValuesToMatchRegex(pattern)
            case "column_value_lengths_to_be_between": self = .columnValueLengthsToBeBetween(try bounds())
            case "column_quantile_values_to_be_between":
                guard case .object(let spec)? = arguments.value("quantile_ranges"),
                    case .array(let quantiles)? = StructuredValue.object(spec)["quantiles"],
                    case .array(let ranges)? = StructuredValue.object(spec)["value_ranges"],
                    quantiles.count == ranges.count
                else { throw fail("quantile_ranges needs quantiles and value_ranges of the same length") }
                let levels = try quantiles.map { item -> Double in
                    guard let level = Arguments.finite(item), (0...1).contains(level) else {
                        throw fail("quantile_ranges: quantiles must be numbers between 0 and 1")
                    }
                    return level
                }
                let bounds = try ranges.map { range -> Bounds in
                    guard case .array(let pair) = range, pair.count == 2,
                        pair.allSatisfy({ $0 == .null || Arguments.finite($0) != nil })
                    else { throw fail("quantile_ranges: each value range must be [low, high], numbers or null") }
                    return Bounds(Arguments.finite(pair[0]), Arguments.finite(pair[1]))
                }
                let interpolation: QuantileInterpolation
                switch arguments.value("allow_relative_error") {
                case nil, .null, .bool(false): interpolation = .nearest
                case .string(let name):
                    guard let named = QuantileInterpolation(rawValue: name) else {
                        throw fail(
                            "allow_relative_error must be one of \(QuantileInterpolation.allCases.map(\.rawValue).joined(separator: ", ")) (pandas' interpolation)"
                        )
                    }
                    interpolation = named
                default:
                    throw fail(
                        "allow_relative_error is false or the name of pandas' interpolation (linear, nearest, …)")
                }
                self = .columnQuantileValuesToBeBetween(
                    quantiles: levels, ranges: bounds, written: ranges, interpolation: interpolation)
            case "column_proportion_of_non_null_values_to_be_between":
                self = .columnProportionOfNonNullValuesToBeBetween(try bounds())
            case "column_values_to_be_fresh":
                let maxAge =
                    try arguments.double("max_age_seconds") ?? (try arguments.double("max_age_days")).map {
                        $0 * 86_400
                    }
                    ?? 86_400
                self = .columnValuesToBeFresh(maxAgeSeconds: maxAge, now: try arguments.string("now"))
            default:
                guard
                    let statistic = ColumnStatistic(
                        rawValue: name.replacingOccurrences(of: "column_", with: "").replacingOccurrences(
                            of: "_to_be_between", with: ""))
                else { throw fail("no rule for this expectation") }
                self = .columnStatisticToBeBetween(statistic, try bounds())
            }
        }
    }

    /// An expectation's arguments read by kind, each error naming the expectation and the argument.
    struct Arguments {
        var pairs: [(key: String, value: StructuredValue)]
        var fail: (String) -> GitOpsMLError

        func value(_ key: String) -> StructuredValue? { pairs.last { $0.key == key }?.value }

        static func finite(_ value: StructuredValue) -> Double? {
            switch value {
            case .int(let number): return Double(number)
            case .double(let number) where number.isFinite: return number
            default: return nil
            }
        }

        func double(_ key: String) throws -> Double? {
            guard let value = value(key), value != .null else { return nil }
            switch value {
            case .int(let number): return Double(number)
            case .double(let number) where number.isFinite: return number
            case .double: throw fail("\(key) must be a finite number")
            default: throw fail("\(key) must be a number")
            }
        }

        func bool(_ key: String) throws -> Bool? {
            guard let value = value(key) else { return nil }
            guard case .bool(let flag) = value else { throw fail("\(key) must be true or false") }
            return flag
        }

        func string(_ key: String) throws -> String? {
            guard let value = value(key) else { return nil }
            guard case .string(let text) = value else { throw fail("\(key) must be text") }
            return text
        }

        func values(_ key: String) throws -> [StructuredValue] {
            guard case .array(let items)? = value(key) else { throw fail("\(key) must be a list") }
            return items
        }

        func strings(_ key: String) throws -> [String] {
            try values(key).map { item in
                guard case .string(let text) = item else { throw fail("\(key) must be a list of text") }
                return text
            }
        }
    }
}
