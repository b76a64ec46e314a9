import Foundation

/// A value read from a JSON, YAML or TOML file, keeping what the file said: ints stay ints,
/// floats stay floats, and mapping keys keep their order.
public indirect enum StructuredValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([StructuredValue])
    case object([(key: String, value: StructuredValue)])

    public static func == (a: StructuredValue, b: StructuredValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default:
            // Numbers compare by value, as Python does (1 == 1.0, True == 1).
            if let x = a.number, let y = b.number { return x == y }
            return false
        }
    }

    /// The numeric value of ints, floats and booleans (Python treats bool as int), else nil.
    public var number: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        case .bool(let value): return value ? 1 : 0
        default: return nil
        }
    }

    public var isNumeric: Bool { number != nil }

    /// `new - old` with Python's arithmetic: int − int stays an int; anything else is a float.
    public static func difference(_ new: StructuredValue, _ old: StructuredValue) -> StructuredValue? {
        func integer(_ value: StructuredValue) -> Int? {
            switch value {
            case .int(let v): return v
            case .bool(let v): return v ? 1 : 0
            default: return nil
            }
        }
        if let x = integer(new), let y = integer(old) {
            let (result, overflow) = x.subtractingReportingOverflow(y)
            return overflow ? .double(Double(x) - Double(y)) : .int(result)
        }
        guard let x = new.number, let y = old.number else { return nil }
        return .double(x - y)
    }

    /// Subvalue by key for objects.
    public subscript(key: String) -> StructuredValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.last { $0.key == key }?.value
    }
}

extension StructuredValue {
    /// Flattens nested objects into dotted keys, as DVC does (`{"a": {"b": 1}}` → `a.b`).
    /// Empty objects disappear; other values, arrays included, are leaves.
    public func flattened(prefix: String = "") -> [(key: String, value: StructuredValue)] {
        guard case .object(let pairs) = self else { return [(prefix, self)] }
        return pairs.flatMap { pair in
            let key = prefix.isEmpty ? pair.key : prefix + "." + pair.key
            if case .object = pair.value { return pair.value.flattened(prefix: key) }
            return [(key, pair.value)]
        }
    }

    /// Python's `repr` of the equivalent value; DVC shows lists this way (`[32, 64]`, `['a', 'b']`).
    public var pythonRepr: String {
        switch self {
        case .null: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .double(let value): return StructuredValue.pythonFloat(value)
        case .string(let value):
            let quote = value.contains("'") && !value.contains("\"") ? "\"" : "'"
            var out = quote
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where String(scalar) == quote: out += "\\" + quote
                case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                    out += String(format: "\\x%02x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + quote
        case .array(let values): return "[" + values.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .object(let pairs):
            return "{"
                + pairs.map { "\(StructuredValue.string($0.key).pythonRepr): \($0.value.pythonRepr)" }
                .joined(separator: ", ") + "}"
        }
    }

    /// Python's `repr(float)`: the shortest digits that round-trip (Swift finds them too), written
    /// in fixed notation unless the decimal exponent is below -4 or at least 16.
    public static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        let sign = value.sign == .minus ? "-" : ""
        let text = "\(abs(value))"  // e.g. "0.0001", "1e-05", "1.2345678901234568e+17"
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(mantissa[0])
        var digits = integer + (mantissa.count > 1 ? String(mantissa[1]) : "")
        var point = integer.count + (parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
        while digits.hasPrefix("0") {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        if digits.isEmpty { return sign + "0.0" }
        let exponent = point - 1
        if exponent < -4 || exponent >= 16 {
            let rest = digits.dropFirst()
            let exponentText = (exponent < 0 ? "-" : "+") + (abs(exponent) < 10 ? "0" : "") + String(abs(exponent))
            return sign + String(digits.prefix(1)) + (rest.isEmpty ? "" : "." + rest) + "e" + exponentText
        }
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) + ".0" }
        return sign + digits.prefix(point) + "." + digits.dropFirst(point)
    }

    /// This value with every NaN and infinity replaced by a string ("NaN", "Infinity", "-Infinity"), for
    /// reports that must be strict JSON (a χ² of a new category is infinite; a parser must not choke on it).
    public var strictJSON: StructuredValue {
        switch self {
        case .double(let value) where !value.isFinite:
            return .string(value.isNaN ? "NaN" : (value < 0 ? "-Infinity" : "Infinity"))
        case .array(let values): return .array(values.map(\.strictJSON))
        case .object(let pairs): return .object(pairs.map { ($0.key, $0.value.strictJSON) })
        default: return self
        }
    }

    /// JSON text for this value, with floats written in Python's shortest form (NaN and infinities as
    /// Python's `json` writes them; `strictJSON` first for strict JSON).
    public func json(sortedKeys: Bool = false, indent: Int? = nil, level: Int = 0) -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) } ?? ""
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value):
            if value.isNaN { return "NaN" }
            if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
            return StructuredValue.pythonFloat(value)
        case .string(let value): return StructuredValue.jsonString(value)
        case .array(let values):
            if values.isEmpty { return "[]" }
            return "[" + newline
                + values.map { $0.json(sortedKeys: sortedKeys, indent: indent, level: level + 1) }
                .joined(separator: separator + newline) + closing + "]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            let ordered = sortedKeys ? pairs.sorted { $0.key < $1.key } : pairs
            return "{" + newline
                + ordered.map {
                    StructuredValue.jsonString($0.key) + ": "
                        + $0.value.json(sortedKeys: sortedKeys, indent: indent, level: level + 1)
                }.joined(separator: separator + newline) + closing + "}"
        }
    }

    /// A JSON string literal. Beyond JSON's required escapes it escapes DEL, NEL, the line and paragraph
    /// separators and the BOM, so the result is also one safe line of YAML (a double-quoted scalar).
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028
                || scalar.value == 0x2029 || scalar.value == 0xFEFF:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
