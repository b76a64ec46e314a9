import ArgumentParser
internal import CProcess
import Foundation
import GitOpsMLCore

/// The command-line entry point: parses, runs, and maps every error to an exit code in one place.
public enum CLI {
    /// Async, so that long-running commands (`AsyncParsableCommand`, the agent) can be written; the others
    /// run as they are.
    public static func main(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        StandardStreams.prepare()
        ProcessSecrets.takeFromEnvironment()
        _ = gitops_ml_set_nondumpable()  // same-user children cannot read this process's memory or /proc
        let status: ExitStatus
        do {
            // Bare `gitops-ml` and `help <unknown>` are usage errors, not a help page that exits 0.
            let named = Examples.command(in: arguments)
            if arguments.isEmpty {
                StandardStreams.writeError(GitOpsML.helpMessage() + Examples.section([]))
                throw GitOpsMLError.usage("name a command (see above, or gitops-ml help COMMAND)")
            }
            if arguments.first == "help", let unknown = named.unknown {
                throw GitOpsMLError.usage(
                    "no command \(Redaction.quoted(unknown)) in gitops-ml\(named.path.isEmpty ? "" : " " + named.path.joined(separator: " ")) (see gitops-ml --help)"
                )
            }
            var command = try GitOpsML.parseAsRoot(arguments)
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
            status = .success
        } catch {
            status = report(error, arguments: arguments)
        }
        exit(StandardStreams.finish(status).rawValue)
    }

    /// Prints `error` (one line on stderr; help on stdout) and returns its exit status.
    static func report(_ error: any Error, arguments: [String] = []) -> ExitStatus {
        if let failure = error as? CheckFailure {
            failure.lines.forEach { Output.error(Redaction.oneLine($0)) }
            return .failed
        }
        if let report = error as? any ListedError {
            Output.error("error: " + Redaction.oneLine(report.headline))
            report.items.forEach { StandardStreams.writeError("  - " + Redaction.oneLine($0) + "\n") }
            return ExitStatus.of(report)
        }
        if error is any CategorizedError {
            Output.error("error: " + Redaction.oneLine("\(error)"))
            return ExitStatus.of(error)
        }
        // Foundation's file errors escape from a few reads and writes: in our words, as the world's fault.
        if let described = SystemErrors.describe(error) {
            Output.error("error: " + described)
            return .environment
        }
        // Errors of the argument parser: help and version requests, or usage mistakes.
        let code = GitOpsML.exitCode(for: error)
        if code == .success {
            let message = GitOpsML.fullMessage(for: error)
            if !message.isEmpty {
                let command = Examples.command(in: arguments)
                let asksForHelp = arguments.first == "help" || arguments.contains { $0 == "--help" || $0 == "-h" }
                print(message + (asksForHelp ? Examples.section(command.path) : ""))
            }
            return .success
        }
        // One line: the parser's own message (a list of valid values, one per line, joined), and where to read more.
        let lines = GitOpsML.message(for: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let items = lines.dropFirst().filter { $0.hasPrefix("- ") }.map { $0.dropFirst(2) }
        let message = (lines.first ?? "invalid usage") + (items.isEmpty ? "" : " " + items.joined(separator: ", "))
        let help = (["gitops-ml"] + Examples.command(in: arguments).path + ["--help"]).joined(separator: " ")
        Output.error("error: \(message) (see '\(help)' for more information)")
        return .usage
    }
}

/// A check, gate or tolerance failed: each line says which and why. Exit code 1.
/// An error that lists its items under a headline (broken rules, say): printed as the headline and one
/// `  - item` line each, every one kept to one line whatever text it echoes.
protocol ListedError: CategorizedError {
    var headline: String { get }
    var items: [String] { get }
}

extension ListedError {
    var description: String { ([headline] + items.map { "  - " + $0 }).joined(separator: "\n") }
}

struct CheckFailure: CategorizedError {
    var lines: [String]
    var category: ErrorCategory { .checkFailed }
    var description: String { lines.joined(separator: "\n") }
}

/// Writing to the terminal: colour only on a TTY, and never when NO_COLOR is set or --no-color given.
enum Output {
    nonisolated(unsafe) static var colorEnabled: Bool = {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }()

    static func error(_ line: String) {
        StandardStreams.flushOutput()  // what was printed before the error comes before it
        StandardStreams.writeError("gitops-ml: " + line + "\n")
    }

    /// Writes raw bytes to standard output, straight from the caller's buffer.
    static func write(_ bytes: UnsafeRawBufferPointer) throws {
        StandardStreams.flushOutput()
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(STDOUT_FILENO, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw GitOpsMLError.environment("cannot write to standard output: \(String(cString: strerror(errno)))")
            }
            offset += count
        }
    }

    static func paint(_ text: String, _ code: String) -> String {
        colorEnabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }
}
