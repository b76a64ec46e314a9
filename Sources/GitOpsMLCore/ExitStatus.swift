/// Process exit codes, the same for every command (DESIGN.md §3).
public enum ExitStatus: Int32, Sendable {
    /// Everything passed.
    case success = 0
    /// A check, gate or tolerance failed.
    case failed = 1
    /// Usage or configuration error.
    case usage = 2
    /// Environment error: git object missing, network, I/O.
    case environment = 3

    /// The one mapping from errors to exit codes.
    public static func of(_ error: any Error) -> ExitStatus {
        guard let categorized = error as? any CategorizedError else { return .environment }
        switch categorized.category {
        case .usage, .configuration: return .usage
        case .checkFailed: return .failed
        case .environment: return .environment
        }
    }
}
