import Foundation
import GitOpsMLCore

/// What a metrics or params file holds at one revision, as DVC reads it.
public enum FileValues: Sendable, Equatable {
    /// The file is absent at this revision.
    case missing
    /// Dotted keys and values, flattened.
    case values([(key: String, value: StructuredValue)])

    public static func == (a: FileValues, b: FileValues) -> Bool {
        switch (a, b) {
        case (.missing, .missing): return true
        case (.values(let x), .values(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// Metrics keep numbers, booleans and strings; lists and nulls are dropped (DVC `_extract_metrics`).
    /// A file holding a bare number is one metric with an empty name.
    public static func metrics(_ value: StructuredValue, keys: [String] = []) -> FileValues {
        func extract(_ value: StructuredValue) -> StructuredValue? {
            switch value {
            case .int, .double, .bool, .string: return value
            case .object(let pairs):
                let kept = pairs.compactMap { pair in extract(pair.value).map { (key: pair.key, value: $0) } }
                return kept.isEmpty ? nil : .object(kept)
            default: return nil
            }
        }
        guard let kept = extract(value) else { return .values([]) }
        if case .object = kept { return .values(select(kept.flattened(), keys)) }
        return .values([("", kept)])
    }

    /// Params keep every value; lists are shown as Python would print them (DVC `format_dict`).
    public static func params(_ value: StructuredValue, keys: [String] = []) -> FileValues {
        func format(_ value: StructuredValue) -> StructuredValue {
            switch value {
            case .array: return .string(value.pythonRepr)
            case .object(let pairs): return .object(pairs.map { ($0.key, format($0.value)) })
            default: return value
            }
        }
        let formatted = format(value)
        guard case .object = formatted else { return .values([("", formatted)]) }
        return .values(select(formatted.flattened(), keys))
    }

    /// Keeps the keys under any of `keys` (all when empty).
    private static func select(_ pairs: [(key: String, value: StructuredValue)], _ keys: [String])
        -> [(key: String, value: StructuredValue)]
    {
        guard !keys.isEmpty else { return pairs }
        return pairs.filter { pair in keys.contains { pair.key == $0 || pair.key.hasPrefix($0 + ".") } }
    }

    var lookup: [String: StructuredValue] {
        guard case .values(let pairs) = self else { return [:] }
        return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    var keys: [String] {
        guard case .values(let pairs) = self else { return [] }
        return pairs.map(\.key)
    }
}

/// One changed (or, with `all`, unchanged) value between two revisions.
public struct ValueChange: Sendable, Equatable {
    public var path: String
    public var key: String
    public var old: StructuredValue?
    public var new: StructuredValue?
    /// `new − old` when both are numbers.
    public var diff: StructuredValue?

    public var changed: Bool { old != new }
}

/// DVC's `metrics diff` / `params diff` semantics: compare the flattened values of each file at two
/// revisions; numbers that are equal (`0.2` and `0.20`, `1` and `1.0`) are unchanged.
public enum ValueDiff {
    public static func compare(
        old: [String: FileValues], new: [String: FileValues], includeUnchanged: Bool = false
    ) -> [ValueChange] {
        var changes: [ValueChange] = []
        for path in Set(old.keys).union(new.keys).sorted() {
            let before = old[path] ?? .missing
            let after = new[path] ?? .missing
            let oldValues = before.lookup
            let newValues = after.lookup
            var keys = before.keys
            keys += after.keys.filter { oldValues[$0] == nil }
            for key in keys {
                let a = oldValues[key]
                let b = newValues[key]
                guard includeUnchanged || !equal(a, b) else { continue }
                let diff = a.flatMap { a in b.flatMap { StructuredValue.difference($0, a) } }
                changes.append(ValueChange(path: path, key: key, old: a, new: b, diff: diff))
            }
        }
        return changes
    }

    private static func equal(_ a: StructuredValue?, _ b: StructuredValue?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?): return x == y
        // Python: None == None, but a null value and an absent key are both None to DVC.
        case (nil, .null?), (.null?, nil): return true
        default: return false
        }
    }

    /// The JSON shape of `dvc metrics diff --json`: `{path: {key: {old, new, diff}}}`.
    public static func json(_ changes: [ValueChange], withDiff: Bool = true) -> StructuredValue {
        var byPath: [(key: String, value: StructuredValue)] = []
        for path in uniqueInOrder(changes.map(\.path)) {
            let entries = changes.filter { $0.path == path }.map { change -> (key: String, value: StructuredValue) in
                var fields: [(key: String, value: StructuredValue)] = [
                    ("old", change.old ?? .null), ("new", change.new ?? .null),
                ]
                if withDiff, let diff = change.diff { fields.append(("diff", diff)) }
                return (change.key, .object(fields))
            }
            byPath.append((path, .object(entries)))
        }
        return .object(byPath)
    }

    private static func uniqueInOrder(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }
}

/// A tolerance that fails CI: `accuracy<-0.01` (absolute change), `loss>5%` (relative change),
/// optionally scoped to a file (`eval/metrics.json:accuracy<0`).
public struct Tolerance: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">", equal = "==", notEqual = "!="
    }

    public var path: String?
    public var key: String
    public var comparison: Comparison
    public var limit: Double
    public var relative: Bool
    public let description: String

    /// Parses `[path:]key OP number[%]`; the rule is violated when the change satisfies the comparison.
    public init(parsing text: String) throws {
        description = text
        let usage = GitOpsMLError.usage(
            "--fail-on '\(text)': expected METRIC<OP>CHANGE, e.g. 'accuracy<-0.01' or 'loss>5%'")
        let trimmed = text.replacingOccurrences(of: " ", with: "")
        guard let opStart = trimmed.firstIndex(where: { "<>=!".contains($0) }) else { throw usage }
        let twoChars = String(trimmed[opStart...].prefix(2))
        guard let op = Comparison(rawValue: twoChars) ?? Comparison(rawValue: String(twoChars.prefix(1))) else {
            throw usage
        }
        comparison = op
        var name = String(trimmed[..<opStart])
        var number = String(trimmed[opStart...].dropFirst(op.rawValue.count))
        relative = number.hasSuffix("%")
        if relative { number.removeLast() }
        guard DecimalGrammar.matches(number.utf8), let value = Double(number), value.isFinite, !name.isEmpty else {
            throw usage
        }
        limit = relative ? value / 100 : value
        if let colon = name.lastIndex(of: ":") {
            path = String(name[..<colon])
            name = String(name[name.index(after: colon)...])
        }
        key = name
    }

    public func applies(to change: ValueChange) -> Bool {
        change.key == key && (path.map { $0 == change.path } ?? true)
    }

    /// Why `change` violates this rule, or nil when it does not.
    public func violation(_ change: ValueChange) -> String? {
        guard let old = change.old?.number, let new = change.new?.number else {
            let side =
                change.new == nil
                ? "missing in the new revision" : change.old == nil ? "missing in the old revision" : "not a number"
            return "\(change.path):\(change.key) is \(side)"
        }
        // A NaN on either side compares as nothing, which would pass every rule: it is a violation.
        guard !old.isNaN, !new.isNaN else {
            return "\(change.path):\(change.key) is NaN \(old.isNaN ? "in the old revision" : "in the new revision"), "
                + "so no change can be judged: violating --fail-on '\(description)'"
        }
        var delta = new - old
        if relative {
            // A relative change from zero is infinite in the direction of the change.
            delta = old == 0 ? (delta == 0 ? 0 : Double.infinity * (delta < 0 ? -1 : 1)) : delta / abs(old)
        }
        let hit: Bool
        switch comparison {
        case .less: hit = delta < limit
        case .lessOrEqual: hit = delta <= limit
        case .greater: hit = delta > limit
        case .greaterOrEqual: hit = delta >= limit
        case .equal: hit = delta == limit
        case .notEqual: hit = delta != limit
        }
        guard hit else { return nil }
        let shown = relative ? String(format: "%+.4g%%", delta * 100) : String(format: "%+.6g", delta)
        return
            "\(change.path):\(change.key) changed by \(shown) (\(StructuredValue.pythonFloat(old)) → \(StructuredValue.pythonFloat(new))), violating --fail-on '\(description)'"
    }
}
