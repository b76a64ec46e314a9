import Agent
import ArgumentParser
import Config
import Foundation
import GitOpsMLCore
import HTTPClient

/// `gitops-ml rollout`: the live analysis of canary, blue-green and shadow rollouts.
struct RolloutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Canary, blue-green and shadow rollouts judged by always-valid sequential tests.",
        subcommands: [RolloutStatusCommand.self, RolloutAnalyzeCommand.self, RolloutProxyCommand.self])
}

/// `gitops-ml rollout status [--agent URL] [--env ENV]`: the live analysis, as the running agent has it.
struct RolloutStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "The rollout under way (or last decided), from a running agent's /status.")

    @Option(name: .long, help: "The agent's address.") var agent = "http://127.0.0.1:9090"
    @Option(name: .long, help: "Only this environment.") var env: String?
    @OptionGroup var output: OutputOptions<TextOrJSON>

    func run() throws {
        let answer = try HTTPClient.perform(HTTPRequest("GET", agent + "/status", timeout: 10))
        guard answer.status == 200,
            let status = try? JSONDecoder().decode(AgentStatus.self, from: Data(answer.body))
        else {
            throw GitOpsMLError.environment(
                "\(Redaction.url(agent))/status answered HTTP \(answer.status), not an agent's status")
        }
        let rollouts = status.environments.filter { env == nil || $0.key == env }.sorted { $0.key < $1.key }
            .compactMap { name, environment in environment.rollout.map { (name, $0) } }
        if output.chosen == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(
                positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            let data = try encoder.encode(Dictionary(uniqueKeysWithValues: rollouts))
            FileHandle.standardOutput.write(data + Data("\n".utf8))
            return
        }
        guard !rollouts.isEmpty else {
            print(env.map { "\($0): no rollout behind the agent's proxy" } ?? "no rollout behind the agent's proxy")
            return
        }
        for (name, progress) in rollouts { print("\(name): " + progress.text, terminator: "") }
    }
}

/// `gitops-ml rollout analyze --outcomes FILE --record FILE`: the analysis replayed from recorded outcomes.
struct RolloutAnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Replay a rollout's analysis from its recorded outcomes.",
        discussion: """
            Reads the outcomes the agent's rollout proxy recorded (JSON Lines, rollout-<environment>.jsonl in \
            its state directory) and the rollout settings of the release record, and decides as the agent \
            decides: after every request, with the record's confidence sequences, margins, steps and budget. \
            Exit 1 when the rollout is rolled back.
            """)

    enum Format: String, OutputFormat { case text, json, markdown }

    @Option(name: .long, help: "The recorded outcomes (JSON Lines).") var outcomes: String
    @Option(name: .long, help: "The release record whose rollout: settings judge them.") var record: String
    @OptionGroup var output: OutputOptions<Format>

    func run() throws {
        guard let recordBytes = FileManager.default.contents(atPath: record) else {
            throw GitOpsMLError.usage("cannot read \(record)")
        }
        let release = try ReleaseRecord.parse(Array(recordBytes), file: record)
        guard let settings = release.rollout, settings.strategy != .replace else {
            throw GitOpsMLError.configuration(
                "the release record has no rollout: to analyze (its version replaces the last at once)",
                at: SourceLocation(file: record))
        }
        guard let outcomeBytes = FileManager.default.contents(atPath: outcomes) else {
            throw GitOpsMLError.usage("cannot read \(outcomes)")
        }
        let replay = RolloutReplay.run(
            try OutcomeRecord.read(Array(outcomeBytes), file: outcomes), settings: settings, model: release.model)
        switch output.chosen {
        case .text: print(replay.text, terminator: "")
        case .markdown: print(replay.markdown, terminator: "")
        case .json: FileHandle.standardOutput.write(Data(replay.json()))
        }
        if replay.decision == "roll-back" {
            throw CheckFailure(lines: ["rollout rolled back: " + (replay.events.last?.summary ?? "")])
        }
    }
}

/// `gitops-ml rollout proxy --port P --upstream U`: the agent's rollout proxy alone, in front of one server
/// (what it adds to a request is measured this way: benchmarks/bench_proxy.py).
struct RolloutProxyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Serve a port through the agent's rollout proxy to one model server (for measurements).")

    @Option(name: .long, help: "The port to serve.") var port: Int
    @Option(name: .long, help: "The model server's port on 127.0.0.1.") var upstream: Int
    @Option(name: .long, help: "The address to listen on.") var host = "127.0.0.1"
    @Flag(name: .long, help: "A new connection to the server for every request.") var perRequest = false

    func run() throws {
        let proxy = RolloutProxy(port: port, host: host, outcomesPath: "/dev/null", reuseConnections: !perRequest)
        proxy.serve(port: upstream)
        try proxy.start()
        // Unbuffered: a script waits for this line before it sends requests.
        FileHandle.standardOutput.write(
            Data("serving \(host):\(port) through the rollout proxy to 127.0.0.1:\(upstream)\n".utf8))
        while true { sleep(3600) }
    }
}
