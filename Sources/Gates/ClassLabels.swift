import Foundation

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

    /// [+-]digits[.digits][e[+-]digits], or .digits: Python's `float()` without inf, nan and underscores.
    static func isDecimal(_ text: String) -> Bool {
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            bytes = bytes.dropFirst()
        }
        func digits() -> Int {
            let count = bytes.prefix(while: { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }).count
            bytes = bytes.dropFirst(count)
            return count
        }
        var mantissa = digits()
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                bytes = bytes.dropFirst()
            }
            guard digits() > 0 else { return false }
        }
        return bytes.isEmpty
    }

    /// Numerically when every label is a number (as scikit-learn orders numeric classes), else as text.
    public static func sorted(_ labels: Set<String>) -> [String] {
        let numbers = labels.map { label in Double(label).flatMap { isDecimal(label) ? $0 : nil } }
        if numbers.allSatisfy({ $0 != nil }) {
            return zip(labels, numbers).sorted { ($0.1 ?? 0) < ($1.1 ?? 0) }.map(\.0)
        }
        return labels.sorted()
    }
}
