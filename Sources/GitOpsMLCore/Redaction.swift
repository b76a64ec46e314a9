import Foundation

/// Removes credentials from text that may reach logs or error messages.
public enum Redaction {
    /// `https://user:token@host/p?access_token=x` → `https://***@host/p?access_token=***`.
    public static func url(_ url: String) -> String {
        var result = url
        if let scheme = result.range(of: "://") {
            let rest = result[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            if let at = rest[..<authorityEnd].lastIndex(of: "@") {
                result.replaceSubrange(scheme.upperBound..<at, with: "***")
            }
        }
        guard let query = result.firstIndex(of: "?") else { return result }
        let head = result[..<query]
        let pairs = result[result.index(after: query)...].split(separator: "&", omittingEmptySubsequences: false)
        let cleaned = pairs.map { pair -> String in
            guard let eq = pair.firstIndex(of: "=") else { return String(pair) }
            let key = pair[..<eq].lowercased()
            let secret = ["token", "access_token", "password", "secret", "key", "sig", "signature", "auth"]
            return secret.contains(where: { key.contains($0) }) ? "\(pair[..<eq])=***" : String(pair)
        }
        return head + "?" + cleaned.joined(separator: "&")
    }

    /// Replaces every occurrence of the given secrets (tokens read from the environment) with `***`.
    public static func secrets(_ text: String, _ secrets: [String]) -> String {
        secrets.filter { $0.count >= 4 }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    /// `text` on one line: line breaks and other control characters written as escapes (`\n`, `\r`, `\t`,
    /// `\u{7F}`), so input echoed in a message can neither break it in two nor forge a second line.
    public static func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControl(scalar): result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// `text` as one word of a POSIX shell command a message tells the user to run: as it is when it holds
    /// only characters no shell interprets, else in single quotes (a path from a repository can hold `$(…)`).
    public static func shellWord(_ text: String) -> String {
        let plain = text.unicodeScalars.allSatisfy {
            ($0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._/@%+=:,-".unicodeScalars.contains($0)))
        }
        return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// User input for a one-line message: a JSON string literal (quotes and control characters escaped),
    /// cut to 200 characters (a name of a megabyte or with a newline in it must not forge or flood the output).
    public static func quoted(_ text: String, limit: Int = 200) -> String {
        let scalars = text.unicodeScalars
        guard scalars.count > limit else { return StructuredValue.jsonString(text) }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(limit))
        return StructuredValue.jsonString(String(cut) + "…")
    }
}
