import Config
import Datasets
import GitOpsMLCore

/// A DataPolicy's `reference:` rules: the head's dataset against the champion's version of it.
enum ReferenceComparison {
    static func findings(
        _ rules: DataPolicy.ReferenceRules, head: Dataset, reference: Dataset, id: String, base: String
    ) -> [Finding] {
        var findings: [Finding] = []
        func add(_ check: String, _ failures: [String], _ passed: String) {
            findings.append(
                Finding(
                    id: "\(id)/reference-\(check)", suite: .data, check: "reference-\(check)",
                    status: failures.isEmpty ? .pass : .fail,
                    message: failures.isEmpty ? passed : failures.joined(separator: "; "),
                    location: rules.location))
        }
        if rules.stableSchema {
            var failures: [String] = []
            let (was, now) = (reference.columnNames, head.columnNames)
            let removed = was.filter { !now.contains($0) }
            let added = now.filter { !was.contains($0) }
            if !removed.isEmpty { failures.append("columns removed since \(base): \(removed.joined(separator: ", "))") }
            if !added.isEmpty { failures.append("columns added since \(base): \(added.joined(separator: ", "))") }
            if removed.isEmpty && added.isEmpty && was != now { failures.append("columns reordered since \(base)") }
            for name in now {
                guard let old = reference.column(name)?.type, let new = head.column(name)?.type, old != new,
                    !(old.isNumeric && new.isNumeric && old == .int)  // whole numbers that gained decimals
                else { continue }
                failures.append("\(name) was \(old.rawValue) at \(base), is \(new.rawValue)")
            }
            add("schema", failures, "the schema is the one of \(base) (\(now.count) columns)")
        }
        if let limit = rules.maxNullIncrease {
            var failures: [String] = []
            for name in head.columnNames {
                guard let now = head.column(name), let was = reference.column(name), now.count > 0, was.count > 0
                else { continue }
                let (share, before) = (
                    Double(now.nullCount) / Double(now.count), Double(was.nullCount) / Double(was.count)
                )
                if share - before > limit + 1e-12 {
                    failures.append(
                        "\(name) is \(percent(share)) null, \(percent(before)) at \(base) (at most +\(percent(limit)))")
                }
            }
            add("nulls", failures, "no column's null share grew by more than \(percent(limit)) since \(base)")
        }
        if let tolerance = rules.rangeTolerance {
            var failures: [String] = []
            for name in head.columnNames {
                guard let now = head.column(name), let was = reference.column(name), now.type.isNumeric,
                    was.type.isNumeric
                else { continue }
                // The reference's finite values: an infinity there would widen the range to everything.
                let old = was.nonNullNumbers.filter(\.isFinite)
                guard let low = old.min(), let high = old.max() else { continue }
                let slack = (high - low) * tolerance
                let outside = now.nonNullNumbers.filter { $0 < low - slack || $0 > high + slack }
                if let first = outside.first {
                    failures.append(
                        "\(name): \(outside.count) values outside [\(format(low - slack)), \(format(high + slack))] (the range at \(base) widened by \(percent(tolerance))), e.g. \(format(first))"
                    )
                }
            }
            add("ranges", failures, "numbers lie within the ranges of \(base) (widened by \(percent(tolerance)))")
        }
        return findings
    }

    static func percent(_ share: Double) -> String {
        let value = (share * 1000).rounded() / 10
        return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))" : "\(value)"
    }
}
