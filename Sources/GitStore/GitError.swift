import GitOpsMLCore

/// An error from libgit2 or from the repository's content, with the operation and object it concerns.
public struct GitError: CategorizedError, Equatable {
    public enum Code: Sendable, Equatable {
        case notARepository
        case revisionNotFound
        case ambiguousRevision
        case invalidRevision
        case pathNotFound
        case notAFile
        case bareRepository
        /// The remote refused the update because it is not a fast-forward.
        case nonFastForward
        /// A compare-and-swap reference update lost: the reference moved since it was read.
        case referenceMoved
        case referenceExists
        case locked
        case authentication
        case network
        case other(Int32)
    }

    public var code: Code
    /// What we were doing: "resolve", "read", "push"…
    public var operation: String
    /// The revision, path, reference or remote concerned.
    public var subject: String
    /// libgit2's own message (credentials redacted), or ours.
    public var message: String

    public init(_ code: Code, operation: String, subject: String, message: String) {
        self.code = code
        self.operation = operation
        self.subject = subject
        self.message = Redaction.url(message)
    }

    public var category: ErrorCategory {
        code == .invalidRevision ? .usage : .environment
    }

    /// The host of a URL, for messages.
    static func host(_ url: String) -> String {
        guard let start = url.range(of: "://")?.upperBound else { return url }
        let rest = url[start...]
        let authority = rest.prefix { $0 != "/" }
        return String(authority.split(separator: "@").last ?? authority)
    }

    public var description: String { Redaction.oneLine(text) }

    private var text: String {
        let detail = message.isEmpty ? "" : ": \(message)"
        switch code {
        case .revisionNotFound: return "unknown revision '\(subject)'\(detail)"
        case .ambiguousRevision: return "ambiguous revision '\(subject)'\(detail)"
        case .invalidRevision: return "invalid revision '\(subject)'\(detail)"
        case .notARepository: return "not a git repository: \(subject)"
        case .network where message.contains("unsupported URL protocol"):
            return "\(operation) \(subject): no remote of that name, and no repository at that path or URL"
        case .network where ["SSL", "TLS", "certificate", "x509"].contains(where: message.contains):
            return "\(operation) \(subject): TLS failure talking to \(Self.host(subject))\(detail)"
        default: return "\(operation) \(subject)\(detail)"
        }
    }
}
