import Foundation
import GitOpsMLCore

/// Class labels compared as values: when every label of a task is a number or a boolean, `1`, `1.0`,
/// `true`, `True` and `yes` are one class (written `1`), as they are to pandas and scikit-learn once the
/// column is numeric; otherwise labels are compared as text. Numbers are plain decimals (no hex, no
/// `inf` or `nan`: those stay text).
public enum ClassLabels {
    /// The function that canonicalises every label of a task whose labels (all of them: both columns,
    /// the declared classes, the positive label) are `labels`.
    public static func canonicaliser(for labels: some Sequence<String>) -> @Sendable (String) -> String {
        let valued = labels.allSatisfy { value($0) != nil }
        guard valued else { return { $0 } }
        return { label in value(label).map(text) ?? label }
    }

    /// The numeric value of a numeric or boolean label.
    public static func value(_ label: String) -> Double? {
        let trimmed = label.trimmingCharacters(in: .whitespaces)
        switch trimmed.lowercased() {
        case "true", "yes": return 1
        case "false", "no": return 0
        default: break
        }
        guard isDecimal(trimmed), let number = Double(trimmed), number.isFinite else { return nil }
        return number
    }

    /// `1`, not `1.0`; `2.5`; `-0` is `0`.
    static func text(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func isDecimal(_ text: String) -> Bool { DecimalGrammar.matches(text.utf8) }

    /// Numerically when every label is a number (as scikit-learn orders numeric classes), else as text.
    public static func sorted(_ labels: Set<String>) -> [String] {
        let numbers = labels.map { label in Double(label).flatMap { isDecimal(label) ? $0 : nil } }
        if numbers.allSatisfy({ $0 != nil }) {
            return zip(labels, numbers).sorted { ($0.1 ?? 0) < ($1.1 ?? 0) }.map(\.0)
        }
        return labels.sorted()
    }
}
