import ArgumentParser
import Config
import GitOpsMLCore
import Lineage

/// `gitops-ml lineage MODEL[@VERSION] [--env ENV]`: what a model version came from and what happened to it.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "Trace a model version to its data, code, params, gate report, promotions and deployments.",
        discussion: """
            Read from commit history alone: the promotion commits' trailers on the environment branches, the \
            source commit, the gate report note, the agent's deployment notes and revert commits. Without a \
            version: what --env runs now, else the latest promotion.
            """)

    enum Format: String, OutputFormat { case text, json, mermaid, dot }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The model, optionally @VERSION (churn@v1.2.0).") var model: String
    @Option(name: .long, help: "Start from what this environment runs.") var env: String?
    @Option(
        name: .long,
        help:
            "What a promotion of this revision would record (its data, params, code and gate report), promoted or not."
    ) var rev: String?
    @OptionGroup var output: OutputOptions<Format>

    func run() throws {
        let project = try Project(global)
        // Without gitops-ml.yaml (a GTO repository), the registry's tags name the versions and stages.
        let config = project.config ?? ProjectConfig()
        let parts = model.split(separator: "@", maxSplits: 1).map(String.init)
        if rev != nil && (env != nil || parts.count > 1) {
            throw GitOpsMLError.usage("--rev names the version itself: give it without @VERSION or --env")
        }
        let lineage = try ModelLineage.trace(
            model: parts[0], version: parts.count > 1 ? parts[1] : nil, environment: env, config: config,
            repository: project.repository, revision: try rev.map { (try project.revisions.commit($0), $0) })
        switch output.chosen {
        case .text: print(lineage.text, terminator: "")
        case .json: print(lineage.json.json(indent: 2))
        case .mermaid: print(lineage.mermaid, terminator: "")
        case .dot: print(lineage.dot, terminator: "")
        }
    }
}
