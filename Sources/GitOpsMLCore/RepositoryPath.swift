/// A path inside a repository, as a file, a pointer, a policy or the command line names it: relative,
/// without `..`, NUL or an empty name. Whatever names it (a pull request's config, a DVC pointer, an
/// argument), it cannot lead outside the repository.
public enum RepositoryPath {
    /// The path without `./` prefixes or doubled slashes; a configuration error (exit 2) when it would
    /// lead outside the repository.
    public static func clean(_ path: String) throws -> String {
        guard !path.utf8.contains(0) else { throw outside(path, "it holds a NUL byte") }
        guard !path.hasPrefix("/") else { throw outside(path, "it is absolute") }
        // `s3://bucket/model.pkl`, `gs://…`, `https://…`: a URL, not a file of the repository (its `//`
        // must not collapse into `s3:/bucket`).
        if let scheme = path.range(of: "://"), !path[..<scheme.lowerBound].isEmpty,
            path[..<scheme.lowerBound].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.-".contains($0)) })
        {
            throw outside(path, "it is a URL (remote storage), not a file of the repository")
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        guard !parts.contains("..") else { throw outside(path, "it climbs out with ..") }
        guard !parts.isEmpty else { throw outside(path, "it names no file") }
        return parts.joined(separator: "/")
    }

    static func outside(_ path: String, _ why: String) -> GitOpsMLError {
        .configuration("\(Redaction.quoted(path)) leads outside the repository: \(why)")
    }
}
