import ArgumentParser
import GitOpsMLCore

/// `gitops-ml`: the root command (async, so that its subcommands may be).
struct GitOpsML: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gitops-ml",
        abstract: "GitOps for machine learning: versions, checks and gates read straight from git.",
        discussion: """
            Exit codes: 0 all passed, 1 a check, gate or tolerance failed, 2 usage or configuration error, \
            3 environment error (git object missing, network, I/O).
            """,
        version: GitOpsMLVersion.current,
        subcommands: [
            CheckCommand.self, DataCommand.self, DiffCommand.self, ShowCommand.self, ValidateCommand.self,
            InitCommand.self, GenerateCommand.self, PromoteCommand.self, RegistryCommand.self, LineageCommand.self,
            AuditCommand.self, AgentCommand.self, PoliciesCommand.self, ApproveCommand.self, FetchListCommand.self,
            RolloutCommand.self, RevParseCommand.self, VersionCommand.self,
        ])
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The repository (or a folder inside it).")
    var repo: String = "."

    @Option(name: .long, help: "The project configuration (default: gitops-ml.yaml at the repository root).")
    var config: String?

    @Flag(name: .long, help: "Never colour the output.")
    var noColor = false

    @Option(name: .long, help: "error, warning, info or debug.")
    var logLevel: LogLevel = .warning

    /// Applies the options that affect the whole process.
    func apply() {
        if noColor { Output.colorEnabled = false }
        Log.level = logLevel
    }
}

extension LogLevel: ExpressibleByArgument {}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    @Flag(name: .long, help: "Also print the versions of the linked C libraries.")
    var verbose = false

    func run() {
        print("gitops-ml \(GitOpsMLVersion.current)")
        if verbose {
            for (name, version) in LinkedLibraries.versions { print("\(name) \(version)") }
        }
    }
}
