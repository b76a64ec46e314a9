import ArgumentParser
import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import Render
import Trust

/// `gitops-ml promote MODEL --to ENV`: a promotion commit on the environment branch.
struct PromoteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promote",
        abstract: "Release a model version to an environment: one commit with its record, report and manifests.",
        discussion: """
            Requires a passing gate report (the note `gitops-ml check` stores) for exactly the source commit, or \
            runs check with --run-checks. Writes environments/ENV/MODEL.yaml, the report, and deploy/ENV/ on \
            the environment's branch without a work tree; with --push, lands it on the remote by \
            compare-and-swap, retrying on the new tip when a concurrent promotion touched other files. A \
            promotion that changes nothing writes nothing and exits 0.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The model (a key of models in gitops-ml.yaml).") var model: String
    @Option(name: .long, help: "The environment.") var to: String
    @Option(name: .long, help: "The source commit (default HEAD).") var rev = "HEAD"
    @Option(name: .long, help: "The version to release (default: see docs/promote.md).") var version: String?
    @Option(name: .long, help: "Push to this remote (a name or URL).") var push: String?
    @Flag(name: .long, help: "Push to gitops-ml/promote/ENV/MODEL-VERSION instead, for a pull request.")
    var branchPerPromotion = false
    @OptionGroup var signing: SigningOptions
    @Flag(name: .long, help: "Print the commit message and the diff; write nothing.") var dryRun = false
    @Option(
        name: .long,
        help:
            "What enforces the environment's requires_approval when no PromotionPolicy approvals do: github-environment (this job runs in a GitHub environment with required reviewers, as the generated ml-promote workflow does)."
    )
    var approval: ApprovalEnforcer?

    enum ApprovalEnforcer: String, ExpressibleByArgument, CaseIterable { case githubEnvironment = "github-environment" }
    @Flag(name: .long, help: "Run `gitops-ml check` on the source commit first (against the deployed version).")
    var runChecks = false
    @Flag(name: .long, help: "Also register the version and assign the stage named after the environment.")
    var registry = false

    func validate() throws {
        if branchPerPromotion && push == nil { throw ValidationError("--branch-per-promotion needs --push REMOTE") }
    }

    func run() throws {
        let project = try Project(global)
        guard let config = project.config else {
            throw GitOpsMLError.usage("no gitops-ml.yaml: promote needs the project's models and environments")
        }
        let repository = project.repository
        let source = try repository.resolve(rev)
        var promoter = Promoter(
            repository: repository, config: config,
            library: TemplateLibrary(overridesAt: repository.root + "/templates"))
        let branch = try promoter.branch(of: to)
        promoter.signer = try signing.signer()
        // Checked unless the promotion already landed (then nothing is judged or written).
        let deployed = try project.releaseRecord(environment: to, model: model)
        let landed = version == nil && !dryRun && deployed?.sourceCommit == source.hex
        if runChecks && !landed { try check(source, project: project) }
        var request = PromotionRun.Request(model: model, environment: to, source: source)
        request.version = version
        request.push = push
        request.propose = branchPerPromotion
        request.approvalEnforcedElsewhere = approval != nil
        request.dryRun = dryRun
        let outcome: PromotionRun.Outcome
        do {
            outcome = try PromotionRun.run(request, promoter: promoter, revisions: project.revisions)
        } catch let refusal as PromotionRun.Refusal {
            throw PolicyRefusal(environment: refusal.environment, problems: refusal.problems)
        }
        switch outcome {
        case .alreadyRuns(let record), .promoted(.unchanged(let record), _, _):
            print("unchanged: \(to) already runs \(model) \(record.version) from \(record.sourceCommit.prefix(12))")
        case .preview(let message, let diff, let signer):
            if let signer { Output.error("gate report on \(source.short) signed by \(signer)") }
            print(message)
            print(diff.isEmpty ? "(no changes: \(to) already runs this)" : diff, terminator: "")
        case .promoted(.committed(let commit, let plan, let attempts), let report, let signer):
            if let signer { Output.error("gate report on \(source.short) signed by \(signer)") }
            let target =
                branchPerPromotion
                ? Promoter.proposalBranch(environment: to, model: model, version: plan.record.version) : branch
            let retried = attempts > 1 ? " after \(attempts) attempts" : ""
            print(
                "promoted \(model) \(plan.record.version) to \(to): \(commit.hex) on \(target)\(push.map { " (pushed to \(Redaction.url($0))\(retried))" } ?? "")"
            )
            if let push { try publishEvidence(source, report: report, remote: push, repository: repository) }
            if registry {
                // The promotion commit stands; if the tags fail, say exactly what finishes the job.
                do {
                    try assignStage(plan.record, source: source, repository: repository)
                } catch {
                    throw GitOpsMLError.environment(
                        "\(to) now runs \(model) \(plan.record.version) (\(commit.short)), but its registry tags failed: \(error); to finish, run: gitops-ml registry assign \(model) --version \(plan.record.version) --stage \(to)\(push.map { " --push \(Redaction.url($0))" } ?? "")"
                    )
                }
            }
        }
    }

    /// The gate report (and its signature) go where the promotion went, so that `audit` and `lineage` find
    /// them in any clone of the remote.
    private func publishEvidence(_ source: ObjectID, report: String, remote: String, repository: Repository) throws {
        do {
            let url = try repository.remoteURL(remote)
            try NotesPublisher.update("refs/notes/gitops-ml", on: source, remote: url) { _ in report }
            if let signature = try repository.note(for: source, ref: CheckCommand.signatureNotes) {
                try NotesPublisher.update(CheckCommand.signatureNotes, on: source, remote: url) { _ in signature }
            }
        } catch {
            throw GitOpsMLError.environment(
                "\(to) was promoted, but the gate report note of \(source.short) was not pushed: \(error); to finish, "
                    + "run: git push \(Redaction.url(remote)) refs/notes/gitops-ml")
        }
    }

    /// `check` on the source commit against the version the environment runs (a first deployment when none).
    private func check(_ source: ObjectID, project: Project) throws {
        var base = "none"
        if let record = try project.releaseRecord(environment: to, model: model),
            (try? project.repository.resolve(record.sourceCommit)) != nil
        {
            base = record.sourceCommit
        }
        let request = CheckRun.Request(head: source.hex, base: base, rules: nil, config: project.explicitConfig)
        let report = try CheckRun.evaluate(request, revisions: project.revisions).report
        print(report.text(color: Output.colorEnabled), terminator: "")
        try project.repository.setNote(report.jsonText, for: source)
        Output.error("report \(ContentDigest.sha256(Array(report.jsonText.utf8))) stored as a note on \(source.short)")
        if report.verdict == .fail {
            throw CheckFailure(lines: [
                "check failed: \(report.findings.count(.fail)) failed, \(report.findings.count(.error)) errors"
            ])
        }
    }

    /// Registers the released version (when it is not yet) and assigns the environment's stage.
    private func assignStage(_ record: ReleaseRecord, source: ObjectID, repository: Repository) throws {
        let registry = Registry(repository)
        var tags: [String] = []
        if (try? registry.resolveVersion(model, version: record.version, commit: nil)) == nil {
            tags.append(try registry.register(model, commit: source, version: record.version).tag)
        }
        tags.append(try registry.assign(model, stage: to, version: record.version))
        for tag in tags { print("created tag \(tag)") }
        if let push {
            try repository.push(push, refspecs: tags.map { "refs/tags/\($0):refs/tags/\($0)" })
        }
    }
}

/// A promotion the environment's policies do not allow: every broken rule, one a line.
struct PolicyRefusal: ListedError {
    var environment: String
    var problems: [String]
    var category: ErrorCategory { .checkFailed }
    var headline: String {
        "the promotion to \(environment) breaks \(problems.count) polic\(problems.count == 1 ? "y rule" : "y rules"):"
    }
    var items: [String] { problems }
}
