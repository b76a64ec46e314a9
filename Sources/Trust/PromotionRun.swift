import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// `promote` as one call: the gate report admitted (`GateEvidence.admit`), the promotion judged
/// (`PromotionGate`) on the commit it would write, then written — previewed, committed locally, or pushed by
/// compare-and-swap with the per-day rule judged again on what the remote holds. The CLI prints what it
/// returns and publishes the evidence; it decides nothing about the promotion.
public enum PromotionRun {
    public struct Request: Sendable {
        public var model: String
        public var environment: String
        public var source: ObjectID
        /// The version to release; nil: the registered one, else the next (docs/promote.md).
        public var version: String?
        /// A remote to push to (a name or URL); nil: commit on the local branch.
        public var push: String?
        /// Push to a branch of its own, for a pull request.
        public var propose = false
        /// `requires_approval` is enforced by a CI environment with required reviewers.
        public var approvalEnforcedElsewhere = false
        public var dryRun = false

        public init(model: String, environment: String, source: ObjectID) {
            self.model = model
            self.environment = environment
            self.source = source
        }
    }

    public enum Outcome: Sendable {
        /// The environment already runs this source commit: nothing was judged or written.
        case alreadyRuns(ReleaseRecord)
        /// `dryRun`: the commit message and the diff it would write (and who signed the gate report).
        case preview(message: String, diff: String, signer: String?)
        /// Judged and written; `report` is the gate report the promotion carries, `signer` who signed it.
        case promoted(Promoter.Outcome, report: String, signer: String?)
    }

    /// A promotion the environment's policies do not allow: every broken rule.
    public struct Refusal: Error, Sendable {
        public var environment: String
        public var problems: [String]
    }

    public static func run(_ request: Request, promoter: Promoter, revisions: Revisions) throws -> Outcome {
        let repository = promoter.repository
        let (model, environment, source) = (request.model, request.environment, request.source)
        guard let config = revisions.config, let modelConfig = config.models[model] else {
            throw GitOpsMLError.configuration(
                "model '\(model)' is not in gitops-ml.yaml", at: SourceLocation(file: ProjectConfig.fileName))
        }
        // A promotion that already landed: nothing to judge or write (judging the source against itself as
        // the champion would only fail).
        let deployed = try revisions.releaseRecord(environment: environment, model: model)
        if request.version == nil, !request.dryRun, let deployed, deployed.sourceCommit == source.hex {
            return .alreadyRuns(deployed)
        }
        let trusted = try RulesInForce.requireDefaultBranch(in: repository, configured: config.defaultBranch)
        try PromotionGate.releasable(
            model: model, image: modelConfig.serving.image, environment: environment, trusted: trusted,
            approvalEnforcedElsewhere: request.approvalEnforcedElsewhere)
        let champion = deployed.flatMap { try? repository.resolve($0.sourceCommit) }
        let admitted = try GateEvidence.admit(
            source, to: environment, champion: champion, trusted: trusted, repository: repository)

        let lineage = try BuildLineage.at(
            try repository.fileView(.git(source.hex)), artifact: modelConfig.artifact, config: config)
        let versions = try Registry(repository).state().artifact(model)?.versions ?? []
        var promotion = PromotionRequest(
            model: model, environment: environment, sourceCommit: source, lineage: lineage,
            gateReport: admitted.report, version: request.version,
            registeredVersion: versions.last { $0.commit == source.hex && $0.isRegistered && $0.isActive }?.version,
            highestRegisteredVersion: versions.filter(\.isRegistered).compactMap { SemVer($0.version) }.max()?
                .description)
        // How it takes over on live traffic: the trusted PromotionPolicy's word, never the source commit's.
        promotion.rollout =
            trusted.rules.policies.lazy.compactMap { policy -> RolloutSettings? in
                guard case .promotion(let promotion) = policy else { return nil }
                return promotion.environments[environment]?.rollout
            }.first
        promotion.released = try PromotionHistory.read(config: config, repository: repository).promotions
            .filter { $0.model == model }.map { ($0.version, $0.sourceCommit) }

        // What the promotion goes on top of: the local branch, else the remote's copy (a remote name; for a
        // URL, origin's).
        let branch = try promoter.branch(of: environment)
        let remoteName = request.push.flatMap { $0.contains("/") || $0.contains(":") ? nil : $0 } ?? "origin"
        let tip =
            try repository.referenceTarget("refs/heads/\(branch)")
            ?? (try? repository.referenceTarget("refs/remotes/\(remoteName)/\(branch)")) ?? nil
        let subject = PromotionRules.Subject(
            model: model, environment: environment, sourceCommit: source, time: Date(),
            signature: .signer(promoter.signer))
        let problems = try PromotionGate.violations(
            subject, environmentTip: tip, trusted: trusted, repository: repository
        ) {
            try promoter.plan(promotion, tip: tip).changes.compactMap { change in
                change.contents.map { (path: change.path, text: String(decoding: $0, as: UTF8.self)) }
            }
        }
        guard problems.isEmpty else { throw Refusal(environment: environment, problems: problems) }
        if request.dryRun {
            let (plan, diff) = try promoter.preview(promotion, tip: tip)
            return .preview(message: plan.message, diff: diff, signer: admitted.signer)
        }
        guard let push = request.push else {
            return .promoted(try promoter.promoteLocally(promotion), report: admitted.report, signer: admitted.signer)
        }
        // What the remote holds now, not what this clone last fetched, counts towards max_per_day.
        let rules = try RulesInForce.promotion(environmentTip: tip, trusted: trusted, repository: repository)
        let outcome = try promoter.promote(promotion, pushTo: push, propose: request.propose) { store in
            let late = PromotionRules.perDayProblems(
                subject, rules: rules,
                history: try PromotionHistory.read(config: trusted.rules.config, repository: store))
            guard late.isEmpty else { throw Refusal(environment: environment, problems: late.map(\.description)) }
        }
        return .promoted(outcome, report: admitted.report, signer: admitted.signer)
    }
}
