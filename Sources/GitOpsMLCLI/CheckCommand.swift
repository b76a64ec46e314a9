import ArgumentParser
import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import Trust

/// `gitops-ml check`: the pull-request step. Runs the suites on the head against the champion (base),
/// reports in every requested format, stores the JSON report as a git note, exits 1 on failure.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Run data, model, gate, code and config checks on a revision against its champion.",
        discussion: """
            The base (champion) defaults to the merge base with the default branch (or the head's parent when \
            the head is on it). Formats: text (default), json, junit, markdown, github; give several as \
            --format NAME[:PATH]. Under GitHub Actions the step summary, $GITHUB_OUTPUT (verdict, report) and \
            annotations are written too.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The champion's revision; 'none' for a first deployment.")
    var base: String?

    @Option(name: .long, help: "Check every revision the pattern names, one line each: exp:PATTERN (DVC experiments).")
    var each: String?

    @Option(name: .long, help: "The challenger's revision (a revspec or 'workspace').")
    var head: String = "HEAD"

    @Option(
        name: .long, parsing: .singleValue,
        help: "Only these suites (repeatable).")
    var suite: [CheckContext.Suite] = []

    @Option(
        name: .long, parsing: .singleValue,
        help: "text, json, junit, markdown or github, optionally :PATH (repeatable).")
    var format: [String] = []

    @Option(name: .long, help: "Where the (single) --format goes, instead of standard output.")
    var output: String?

    @Flag(name: .long, help: "Do not store the JSON report as a git note on the head commit.")
    var noNote = false

    @Option(name: .long, help: "Sign the report: ssh (with --signing-key), for environments with report_signers.")
    var sign: String?

    @Option(name: .long, help: "The SSH private key that signs the report.")
    var signingKey: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where the rules (gitops-ml.yaml, policies/) come from: a revision, or 'workspace' (default: the base).",
            discussion: "A change is judged by the rules of the side it merges into, never by its own."))
    var rules: String?

    func run() throws {
        let suites = Set(suite.isEmpty ? CheckContext.Suite.allCases : suite)
        let outputs = try parseFormats()
        let signer = try reportSigner()
        let project = try Project(global)
        // Every report target is checked before the run, so that none is written when one cannot be; one
        // inside the repository may not lead out of it through a link the change committed.
        var targets: [String: OutputFile.Kind] = [:]
        for case (let name, let path?) in outputs {
            for target in [path] + (name == "json" && signer != nil ? [path + ".sig"] : []) {
                guard targets[target] == nil else { throw GitOpsMLError.usage("two formats are written to \(target)") }
                targets[target] = try OutputFile.check(target, within: project.repository.workTree)
            }
        }
        // The rules come from --rules, the base or the default branch (judgingRules), not from the work
        // tree: a clone checked out before adoption is checked by the rules it names.
        let repository = project.repository
        if let each {
            guard format.count <= 1, format.allSatisfy(["text", "json", "markdown"].contains), output == nil,
                sign == nil
            else {
                throw GitOpsMLError.usage(
                    "--each prints one table (--format text, json or markdown, to standard output): --output, --sign and report files go with a single check"
                )
            }
            try checkEach(each, project: project, suites: suites)
            return
        }
        let (report, headFiles) = try evaluate(head, project: project, suites: suites)
        let findings = report.findings

        let digest = ContentDigest.sha256(Array(report.jsonText.utf8))
        let signature = try signer?.sign(report.jsonText, namespace: CheckCommand.signatureNamespace)
        // The files are written all or none; what goes to standard output follows.
        var jsonPath: String?
        var files: [(path: String, bytes: [UInt8], kind: OutputFile.Kind)] = []
        var printed: [String] = []
        for (name, path) in outputs {
            let text: String
            switch name {
            case "json":
                text = report.jsonText
                jsonPath = path ?? jsonPath
            case "junit": text = report.junit
            case "markdown": text = report.markdown
            case "github": text = report.githubAnnotations
            default: text = report.text(color: path == nil && Output.colorEnabled)
            }
            if let path {
                files.append((path, Array(text.utf8), targets[path] ?? .absent))
            } else {
                printed.append(text)
            }
        }
        if let signature, let jsonPath {
            files.append((jsonPath + ".sig", Array(signature.utf8), targets[jsonPath + ".sig"] ?? .absent))
        }
        try OutputFile.writeAll(files)
        printed.forEach { print($0, terminator: "") }
        if !noNote, let commit = headFiles.commit {
            try repository.setNote(report.jsonText, for: commit)
            if let signature { try repository.setNote(signature, for: commit, ref: CheckCommand.signatureNotes) }
            Output.error(
                "report \(digest)\(signature == nil ? "" : ", signed,") stored as a note on \(commit.short) (refs/notes/gitops-ml)"
            )
        } else {
            Output.error("report \(digest)")
        }
        try writeGitHubOutputs(report, jsonPath: jsonPath)
        if report.verdict == .fail {
            throw CheckFailure(lines: [
                "check failed: \(findings.count(.fail)) failed, \(findings.count(.error)) errors"
            ])
        }
    }

    /// The report of `headSpec` against `--base` (else its default base), by the trusted rules (Trust's
    /// `CheckRun`); `--config` replaces gitops-ml.yaml wherever the rules are read.
    private func evaluate(_ headSpec: String, project: Project, suites: Set<CheckContext.Suite>) throws -> (
        CheckReport, RevisionFiles
    ) {
        let request = CheckRun.Request(
            head: headSpec, base: base, rules: rules, config: project.explicitConfig, suites: suites)
        let progress = ProgressLine()
        defer { progress.clear() }
        return try CheckRun.evaluate(request, revisions: project.revisions) { step in
            Log.info("checking", ["step": step])
            progress.show("checking \(step)…")
        }
    }

    /// `--each 'exp:*'`: every DVC experiment the pattern names against the champion, one line each
    /// (experiment, its gate metrics, verdict) — the significance-aware answer to `dvc exp show`. Exit 1
    /// when any fails. No notes are stored on experiment commits.
    private func checkEach(_ pattern: String, project: Project, suites: Set<CheckContext.Suite>) throws {
        guard pattern.hasPrefix("exp:") else {
            throw GitOpsMLError.usage("--each takes exp:PATTERN (DVC experiments, e.g. 'exp:*')")
        }
        let experiments = try project.revisions.experiments(matching: String(pattern.dropFirst(4)))
        guard !experiments.isEmpty else {
            throw GitOpsMLError.environment(
                "--each \(pattern): no DVC experiment matches under refs/exps/ (fetch them: dvc exp pull origin --all)")
        }
        var rows: [[String]] = []
        var records: [StructuredValue] = []
        var failed: [String] = []
        for experiment in experiments {
            // One experiment that cannot be checked (its params not pulled, a broken file) is a row that
            // says why, not the end of the table.
            let report: CheckReport
            do {
                report = try evaluate(experiment.ref, project: project, suites: suites).0
            } catch let error as GitOpsMLError {
                failed.append(experiment.name)
                rows.append([experiment.name, String(experiment.commit.short), "—", "error: \(error.description)"])
                records.append(
                    .object([
                        ("experiment", .string(experiment.name)), ("ref", .string(experiment.ref)),
                        ("commit", .string(experiment.commit.hex)), ("verdict", .string("error")),
                        ("error", .string(error.description)), ("metrics", .object([])), ("failing", .array([])),
                    ]))
                continue
            }
            let gates = report.findings.filter { $0.suite == .gate && $0.check == "champion-challenger" }
            let metrics = gates.map(Self.gateMetric)
            let numbers = gates.map { $0.observed?.number }
            let values = numbers.map { $0.map { String(format: "%.4g", $0) } ?? "—" }
            let verdict = report.verdict == .pass ? "pass" : "fail"
            if report.verdict != .pass { failed.append(experiment.name) }
            rows.append([
                experiment.name, String(experiment.commit.short),
                zip(metrics, values).map { "\($0)=\($1)" }.joined(separator: " "),
                verdict + (report.verdict == .pass ? "" : ": " + failing(report.findings)),
            ])
            records.append(
                .object([
                    ("experiment", .string(experiment.name)), ("ref", .string(experiment.ref)),
                    ("commit", .string(experiment.commit.hex)), ("verdict", .string(verdict)),
                    ("error", .null),
                    ("metrics", .object(zip(metrics, numbers).map { ($0, $1.map(StructuredValue.double) ?? .null) })),
                    (
                        "failing",
                        .array(
                            report.findings.filter { $0.status == .fail || $0.status == .error }.map {
                                .string($0.id)
                            })
                    ),
                ]))
        }
        let header = ["experiment", "commit", "metrics", "verdict"]
        switch format.first ?? "text" {
        case "json":
            print(StructuredValue.array(records).json(indent: 2))
        case "markdown":
            print("| " + header.joined(separator: " | ") + " |")
            print("|" + header.map { _ in "---|" }.joined())
            for row in rows { print("| " + row.map(CheckReport.escape).joined(separator: " | ") + " |") }
        default:
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            for row in [header] + rows {
                print(
                    row.enumerated().map {
                        $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0)
                    }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
            }
        }
        if !failed.isEmpty {
            throw CheckFailure(lines: [
                "\(failed.count) of \(experiments.count) experiments fail: \(failed.joined(separator: ", "))"
            ])
        }
    }

    /// The failing checks of a report, briefly: a gate by its metric, anything else by its check.
    private func failing(_ findings: [Finding]) -> String {
        findings.filter { $0.status == .fail || $0.status == .error }.map { finding in
            finding.suite == .gate ? Self.gateMetric(finding) : finding.check
        }.joined(separator: ", ")
    }

    /// The metric of a gate finding, from its id `gate/<model>/<metric>`.
    private static func gateMetric(_ finding: Finding) -> String {
        let parts = finding.id.split(separator: "/", maxSplits: 2)
        return parts.count == 3 ? String(parts[2]) : finding.check
    }

    /// Gate reports are signed in their own SSH namespace (a report signature cannot pass for a commit's),
    /// stored as a note of their own beside the report.
    static let signatureNamespace = GateEvidence.signatureNamespace
    static let signatureNotes = GateEvidence.signatureNotes

    private func reportSigner() throws -> CommitSigner? {
        switch sign {
        case nil: return nil
        case "ssh"?:
            guard let signingKey else { throw GitOpsMLError.usage("--sign ssh needs --signing-key PRIVATE_KEY_FILE") }
            return .ssh(key: signingKey)
        case let other?:
            throw GitOpsMLError.usage("--sign: reports are signed with ssh, not \(Redaction.quoted(other))")
        }
    }

    private func parseFormats() throws -> [(String, String?)] {
        let requested = format.isEmpty ? ["text"] : format
        let parsed = try requested.map { spec -> (String, String?) in
            let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
            guard let name = parts.first, ["text", "json", "junit", "markdown", "github"].contains(name) else {
                throw GitOpsMLError.usage("unknown format \"\(spec)\" (text, json, junit, markdown, github)")
            }
            return (name, parts.count > 1 ? parts[1] : nil)
        }
        if let output {
            guard parsed.count == 1 else {
                throw GitOpsMLError.usage("--output goes with one --format; use --format NAME:PATH")
            }
            return [(parsed[0].0, output)]
        }
        return parsed
    }

    private func writeGitHubOutputs(_ report: CheckReport, jsonPath: String?) throws {
        let environment = ProcessInfo.processInfo.environment
        guard environment["GITHUB_ACTIONS"] == "true" else { return }
        var reportPath = jsonPath
        if reportPath == nil {
            let folder = environment["RUNNER_TEMP"] ?? FileManager.default.temporaryDirectory.path
            let path = folder + "/gitops-ml-report.json"
            try OutputFile.write(Array(report.jsonText.utf8), to: path, kind: try OutputFile.check(path))
            reportPath = path
        }
        if let summary = environment["GITHUB_STEP_SUMMARY"] { try append(report.markdown, to: summary) }
        if let outputFile = environment["GITHUB_OUTPUT"] {
            try append("verdict=\(report.verdict.rawValue)\nreport=\(reportPath ?? "")\n", to: outputFile)
        }
        if !format.contains(where: { $0.hasPrefix("github") }) { print(report.githubAnnotations, terminator: "") }
    }

    private func append(_ text: String, to path: String) throws {
        guard let handle = FileHandle(forWritingAtPath: path) else {
            return try OutputFile.write(Array(text.utf8), to: path, kind: try OutputFile.check(path))
        }
        defer { try? handle.close() }
        do {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
        } catch {
            throw GitOpsMLError.environment("cannot write \(path): \(SystemErrors.describe(error) ?? "\(error)")")
        }
    }
}

/// A one-line progress indicator on a terminal's standard error; silent otherwise.
final class ProgressLine {
    private let enabled = isatty(STDERR_FILENO) == 1

    func show(_ text: String) {
        guard enabled else { return }
        StandardStreams.writeError("\r\u{1B}[K\(text)")
    }

    func clear() {
        guard enabled else { return }
        StandardStreams.writeError("\r\u{1B}[K")
    }
}

extension CheckContext.Suite: ExpressibleByArgument {}
