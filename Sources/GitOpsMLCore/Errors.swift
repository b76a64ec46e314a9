import Foundation

/// What kind of problem an error is; decides the exit code (see `ExitStatus`).
public enum ErrorCategory: Sendable, Equatable {
    /// Bad command-line usage: unknown option, missing argument, contradictory flags.
    case usage
    /// A configuration or input file the user wrote is invalid (YAML, JSON, TOML, policies).
    case configuration
    /// A check, gate or tolerance was evaluated and failed.
    case checkFailed
    /// The world is not as expected: git object or revision missing, network, I/O, corrupt repository.
    case environment
}

/// Every error gitops-ml reports conforms to this, so that one place maps errors to exit codes.
public protocol CategorizedError: Error, CustomStringConvertible, Sendable {
    var category: ErrorCategory { get }
}

/// A place in a file: `policies/gates.yaml:14`.
public struct SourceLocation: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?

    public init(file: String, line: Int? = nil, column: Int? = nil) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        guard let line else { return file }
        return "\(file):\(line)"
    }
}

/// The general error: a category, one line of message, and where it happened when known.
public struct GitOpsMLError: CategorizedError, Equatable {
    public var category: ErrorCategory
    public var message: String
    public var location: SourceLocation?
    /// A DVC or LFS object this clone has not pulled (an environment error): the findings that need it
    /// fail with the pull to run, the others go on.
    public var notPulled = false

    public init(_ category: ErrorCategory, _ message: String, at location: SourceLocation? = nil) {
        self.category = category
        self.message = message
        self.location = location
    }

    public static func usage(_ message: String) -> GitOpsMLError { .init(.usage, message) }
    public static func configuration(_ message: String, at location: SourceLocation? = nil) -> GitOpsMLError {
        .init(.configuration, message, at: location)
    }
    public static func environment(_ message: String, at location: SourceLocation? = nil) -> GitOpsMLError {
        .init(.environment, message, at: location)
    }

    /// An object the DVC cache or the LFS store does not hold (`dvc pull`, `git lfs pull`).
    public static func notPulled(_ message: String) -> GitOpsMLError {
        var error = GitOpsMLError(.environment, message)
        error.notPulled = true
        return error
    }

    public var description: String {
        guard let location else { return Redaction.oneLine(message) }
        return Redaction.oneLine("\(location): \(message)")
    }
}
