import ArgumentParser
import Foundation
import GitOpsMLCore
import Lineage

/// `gitops-ml audit`: the environment branches' history checked against the promotion rules.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Check that every change on the environment branches is a verified promotion or rollback.",
        discussion: """
            Rules: every commit is a promotion or a rollback (else: direct edit bypassing promotion); trailers \
            match the release record; the gate report exists, is for exactly the source commit, passed and is \
            the one promoted; the artifact and data digests match the source commit; signatures verify \
            (--allowed-signers, and report_signers of gitops-ml.yaml); rollbacks name a deployed promotion. \
            Exit 1 when a rule fails.
            """)

    enum Format: String, OutputFormat { case text, json, markdown, junit }

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only this environment.") var env: String?
    @Option(name: .long, help: "Only commits since this date (YYYY-MM-DD or ISO 8601).") var since: String?
    @Option(name: .long, help: "Allowed signers (git's SSH format): promotions and rollbacks must be signed.")
    var allowedSigners: String?
    @OptionGroup var output: OutputOptions<Format>

    func run() throws {
        let project = try Project(global)
        guard let config = project.config else {
            throw GitOpsMLError.usage("no gitops-ml.yaml: audit needs the project's environments")
        }
        var options = Audit.Options(environment: env, allowedSigners: allowedSigners)
        if let since {
            let full = ISO8601DateFormatter()
            let day = ISO8601DateFormatter()
            day.formatOptions = [.withFullDate]
            guard let date = full.date(from: since) ?? day.date(from: since) else {
                throw GitOpsMLError.usage(
                    "--since: a date (2026-01-31) or ISO 8601 time, not \(Redaction.quoted(since))")
            }
            options.since = date
        }
        let report = AuditReport(
            findings: try Audit.run(config: config, repository: project.repository, options: options))
        switch output.chosen {
        case .text: print(report.text, terminator: "")
        case .json: print(report.json.json(indent: 2))
        case .markdown: print(report.markdown, terminator: "")
        case .junit: print(report.junit, terminator: "")
        }
        if report.verdict != .pass {
            throw CheckFailure(lines: ["audit failed: \(report.failures.count) findings (rules above)"])
        }
    }
}
