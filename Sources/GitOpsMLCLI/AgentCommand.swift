import Agent
import ArgumentParser
import Config
import Foundation
import GitOpsMLCore
import Logging

/// `gitops-ml agent`: follows environment branches and applies what their release records say.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "The sync agent: apply promotions, check their health, roll back with a commit.",
        discussion: """
            Each pass fetches the environment branch, verifies its tip (agent.yaml verify), starts what its \
            release record names, checks its health within the deadline and records the outcome as a note \
            (refs/notes/gitops-ml-deployments). A release that fails its checks is replaced by the last \
            healthy one and reverted on the branch by a commit with Gitops-Ml-Rollback-Of.
            """,
        subcommands: [AgentRunCommand.self, AgentOnceCommand.self, AgentStatusCommand.self],
        defaultSubcommand: AgentRunCommand.self)
}

/// Options of every agent subcommand.
struct AgentOptions: ParsableArguments {
    @Option(name: .long, help: "The agent's configuration.") var config = "agent.yaml"
    @Option(name: .long, help: "The state directory (default: agent.yaml's state_dir).") var stateDir: String?
    @Option(name: .long, help: "error, warning, info or debug.") var logLevel: LogLevel = .info

    func load() throws -> AgentConfig {
        guard let bytes = FileManager.default.contents(atPath: config) else {
            throw GitOpsMLError.usage("cannot read \(config)")
        }
        var loaded = try AgentConfig.parse(Array(bytes), file: config)
        if let stateDir {
            guard stateDir.hasPrefix("/") else { throw GitOpsMLError.usage("--state-dir must be an absolute path") }
            loaded.stateDirectory = stateDir
        }
        return loaded
    }
}

/// What `run` and `once` share: the reconciler, built from agent.yaml and the signing options.
struct AgentSetup: ParsableArguments {
    @OptionGroup var agent: AgentOptions
    @OptionGroup var signing: SigningOptions
    @Option(name: .long, help: "Name this agent in deployment records (default: gitops-ml VERSION on HOST).")
    var name: String?

    func reconciler() throws -> Reconciler {
        let config = try agent.load()
        // The tokens agent.yaml names are credentials too: out of the environment model servers inherit.
        for environment in config.environments {
            for variable in [
                environment.drift?.tokenVariable, environment.prometheus?.tokenVariable,
                environment.feedbackTokenVariable,
            ].compactMap(\.self) {
                ProcessSecrets.take(variable)
            }
        }
        var options = Reconciler.Options(remote: config.repository)
        options.grace = config.stopGrace
        options.signer = try signing.signer()
        if let name { options.agent = name }
        Log.level = agent.logLevel
        return try Reconciler(config: config, options: options)
    }
}

struct AgentRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run the loop and the endpoints until SIGTERM or SIGINT.")

    @OptionGroup var setup: AgentSetup
    @Option(name: .long, help: "Where the endpoints listen (HOST:PORT; port 0 takes a free one, logged at start).")
    var listen = "127.0.0.1:9090"

    func run() async throws {
        let (host, port) = try Self.address(listen)
        let reconciler = try setup.reconciler()
        var webhook: GitHubWebhook?
        if let variable = reconciler.config.webhookSecretVariable {
            guard let secret = ProcessSecrets.take(variable), !secret.isEmpty else {
                throw GitOpsMLError.environment("agent.yaml's webhook secret variable \(variable) is not set")
            }
            webhook = try GitHubWebhook(
                secret: secret, branches: Set(reconciler.config.environments.map(\.branch)))
        }
        var logger = Logger(label: "gitops-ml.agent") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(setup.agent.logLevel)
        // What the libraries log (fetches, pushes, pruning, lock recovery) goes through the same logger.
        let shared = logger
        Log.sink = { level, message, fields in
            shared.log(level: Logger.Level(level), "\(message)", metadata: fields.mapValues { .string($0) })
        }
        let service = AgentService(reconciler: reconciler, logger: logger)
        try await AgentApplication.run(service: service, host: host, port: port, webhook: webhook, logger: logger)
    }

    static func address(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port), colon > text.startIndex
        else { throw GitOpsMLError.usage("--listen: HOST:PORT, not \(Redaction.quoted(text))") }
        return (String(text[..<colon]), port)
    }
}

struct AgentOnceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "once",
        abstract: "One pass over every environment, then exit (the local target's server stops with it).",
        discussion: "Prints the status as JSON. Exit 0 when every environment runs what git names, 1 otherwise.")

    @OptionGroup var setup: AgentSetup

    func run() throws {
        let reconciler = try setup.reconciler()
        let results = reconciler.pass()
        reconciler.shutdown()
        let status = AgentStatus(
            agent: reconciler.options.agent, ready: true, recovery: reconciler.recovery, state: reconciler.state,
            config: reconciler.config)
        print(String(decoding: status.json(), as: UTF8.self), terminator: "")
        let failed = results.filter {
            if case .stopped = $0.value { return true }
            if case .rolledBack = $0.value { return true }
            return false
        }
        if !failed.isEmpty {
            throw CheckFailure(
                lines: failed.sorted { $0.key < $1.key }.map { "error: \($0.key): \($0.value)" })
        }
    }
}

struct AgentStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Print what the state directory says runs, as JSON (no agent needed).")

    @OptionGroup var agent: AgentOptions

    func run() throws {
        let config = try agent.load()
        let path = config.stateDirectory + "/state.json"
        let state = try StateStore(path: path).peek()
        let status = AgentStatus(agent: "read from \(path)", ready: true, recovery: nil, state: state, config: config)
        print(String(decoding: status.json(), as: UTF8.self), terminator: "")
    }
}

extension Logger.Level {
    init(_ level: LogLevel) {
        switch level {
        case .error: self = .error
        case .warning: self = .warning
        case .info: self = .info
        case .debug: self = .debug
        }
    }
}
