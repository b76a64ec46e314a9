import Check
import Config
import Datasets
import GitOpsMLCore
import GitStore
import Promotion

/// `check` as one call: the head and base revisions resolved (the base defaulting to the champion), the
/// rules in force chosen by `RulesInForce`, every suite run and the report made. The CLI prints, writes and
/// stores what it returns; it decides nothing about the check itself.
public enum CheckRun {
    public struct Request: Sendable {
        /// The challenger: a revspec, `env:`/`registry:`/`exp:` revision, or `workspace`.
        public var head: String
        /// The champion; nil for the default base of the head, `none` for a first deployment.
        public var base: String?
        /// Where the rules come from (`--rules`); nil for the base, else the default branch.
        public var rules: String?
        /// Replaces gitops-ml.yaml wherever the rules are read (`--config`).
        public var config: ProjectConfig?
        public var suites: Set<CheckContext.Suite>

        public init(
            head: String, base: String?, rules: String?, config: ProjectConfig?,
            suites: Set<CheckContext.Suite> = Set(CheckContext.Suite.allCases)
        ) {
            self.head = head
            self.base = base
            self.rules = rules
            self.config = config
            self.suites = suites
        }
    }

    /// The report of the request's head against its base, by the trusted rules, with the head's files.
    public static func evaluate(
        _ request: Request, revisions: Revisions, progress: (String) -> Void = { _ in }
    ) throws -> (report: CheckReport, head: RevisionFiles) {
        let repository = revisions.repository
        let headFiles = try revisions.files(request.head)
        let head = CheckRevision(files: headFiles, name: request.head, commit: headFiles.commit?.hex)
        let defaults = try request.base == nil ? revisions.defaultBase(head: headFiles.commit) : nil
        let base = try (request.base ?? defaults?.revision).flatMap { spec -> CheckRevision? in
            guard spec != "none" else { return nil }
            let files = try revisions.files(spec)
            return CheckRevision(files: files, name: defaults?.name ?? spec, commit: files.commit?.hex)
        }
        let baseFiles = try base.flatMap { base in try base.commit.map { (try revisions.files($0), base.name) } }
        let (trusted, policyFinding) = try RulesInForce.check(
            head: headFiles, headName: headFiles.commit.map { "\(request.head) (\($0.short))" } ?? request.head,
            base: baseFiles, rules: request.rules, config: request.config, revisions: revisions)
        let context = CheckContext(
            config: trusted.config, policies: trusted.policies, head: head, base: base, suites: request.suites,
            workTree: repository.workTree,
            stores: DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree))
        let findings = (policyFinding.map { [$0] } ?? []) + (try CheckRunner.run(context, progress: progress))
        let report = CheckReport(
            toolVersion: GitOpsMLVersion.current, base: base.map { ($0.name, $0.commit) },
            head: (request.head, head.commit), findings: findings)
        return (report, headFiles)
    }
}
