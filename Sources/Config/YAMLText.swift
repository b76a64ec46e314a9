import Yams

/// Writing YAML scalars that read back as the same text.
public enum YAMLText {
    /// A JSON string literal, which YAML reads as the same double-quoted scalar. Control characters,
    /// line and paragraph separators and the BOM are escaped so the result is one safe line.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case _
            where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028
                || scalar.value == 0x2029 || scalar.value == 0xFEFF:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `text` unquoted when YAML reads it back as that same string, else quoted.
    public static func scalar(_ text: String) -> String {
        let plain =
            !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "._/-+@:".unicodeScalars.contains($0)
            } && !text.hasPrefix("-") && !text.hasPrefix("@") && !text.hasSuffix(":")
            && YAMLReader.resolve(Node.Scalar(text)) == .string(text)
        return plain ? text : quoted(text)
    }
}
