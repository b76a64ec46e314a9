import GitOpsMLCore
import Yams

/// Writing YAML scalars that read back as the same text.
public enum YAMLText {
    /// A JSON string literal, which YAML reads as the same double-quoted scalar, on one line.
    public static func quoted(_ text: String) -> String { StructuredValue.jsonString(text) }

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
