/// The names models (artifacts) have: GTO's rule — ASCII letters, digits, '-', '_' and '/', starting and
/// ending with a letter or digit — with no empty segment (`a//b`), so a name is never `..`, `.git`, an
/// option (`-rf`) or a path that leaves its folder. Checked where a name is read (`gitops-ml.yaml`,
/// registry tags), before it reaches a path, a tag or a command.
public enum ModelName {
    public static func isValid<S: StringProtocol>(_ text: S) -> Bool {
        guard let first = text.first, let last = text.last, isAlphanumeric(first), isAlphanumeric(last) else {
            return false
        }
        return text.allSatisfy { isAlphanumeric($0) || $0 == "-" || $0 == "/" || $0 == "_" } && !text.contains("//")
    }

    private static func isAlphanumeric(_ character: Character) -> Bool {
        character.isASCII && (character.isLetter || character.isNumber)
    }
}
