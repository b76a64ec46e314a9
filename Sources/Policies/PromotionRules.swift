import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// PromotionPolicy rules, judged the same way where a promotion is written (`promote`) and where it is
/// applied (the agent), both at the present, and afterwards (`audit`), at the promotion commit's time.
/// The rules come from the environment branch's own policies folder as it was before the promotion, else
/// from the default branch — never from the commit being promoted or judged.
public enum PromotionRules {
    /// What is being promoted.
    public struct Subject: Sendable {
        public var model: String
        public var environment: String
        public var sourceCommit: ObjectID
        /// When: now for `promote` and the agent, the promotion commit's committer time for `audit`.
        public var time: Date
        /// The promotion commit, once written (it does not count against its own day's limit).
        public var promotionCommit: ObjectID?
        public var signature: Signature

        public init(
            model: String, environment: String, sourceCommit: ObjectID, time: Date, promotionCommit: ObjectID? = nil,
            signature: Signature
        ) {
            self.model = model
            self.environment = environment
            self.sourceCommit = sourceCommit
            self.time = time
            self.promotionCommit = promotionCommit
            self.signature = signature
        }
    }

    /// The promotion commit's signature: a written commit, or the signer `promote` will sign with.
    public enum Signature: Sendable {
        case commit(ObjectID)
        case signer(CommitSigner?)
    }

    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        /// after, soak, signature, approvals, freeze, max-per-day.
        public var rule: String
        public var message: String
        public var location: SourceLocation

        public var description: String { "\(rule): \(message) (\(location.file):\(location.line ?? 1))" }
    }

    /// The rules in force for a promotion on top of `environmentTip`, and the files their signer lists are
    /// read from.
    public struct InForce {
        public var policies: [PromotionPolicy]
        public var files: any FileView
        /// "gitops (1a2b3c4d5e6f)" or "the default branch (…)", for messages.
        public var source: String
    }

    /// The rules in force for a promotion on top of `environmentTip`: the PromotionPolicies in the
    /// environment branch's own policies folder there when it has any, else those of the default branch
    /// (`defaultFiles`, whose gitops-ml.yaml is `defaultConfig`).
    public static func inForce(
        environmentTip: ObjectID?, repository: Repository, defaultConfig: ProjectConfig, defaultFiles: any FileView,
        defaultSource: String
    ) throws -> InForce {
        let folder = TrackedFiles.normalize(defaultConfig.checks.policies)
        if let tip = environmentTip {
            let view = try repository.fileView(.git(tip.hex))
            let own = try promotionPolicies(in: view, folder: folder)
            if !own.isEmpty {
                return InForce(policies: own, files: view, source: "\(tip.short) on the environment branch")
            }
        }
        return InForce(
            policies: try promotionPolicies(in: defaultFiles, folder: folder), files: defaultFiles,
            source: defaultSource)
    }

    static func promotionPolicies(in view: any FileView, folder: String) throws -> [PromotionPolicy] {
        var found: [PromotionPolicy] = []
        for path in try view.list(folder, limit: 2000) where path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
            guard !path.dropFirst(folder.count + 1).contains("/"), let bytes = try view.read(path) else { continue }
            for case .promotion(let policy) in try Policy.parse(bytes, file: path) { found.append(policy) }
        }
        return found
    }

    /// Every rule `subject` breaks.
    public static func evaluate(
        _ subject: Subject, rules: InForce, history: PromotionHistory, repository: Repository
    ) throws -> [Violation] {
        var violations: [Violation] = []
        for policy in rules.policies {
            guard let environment = policy.environments[subject.environment] else { continue }
            func broken(_ rule: String, _ message: String) {
                violations.append(Violation(rule: rule, message: message, location: environment.location))
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: policy.timeZone) ?? calendar.timeZone

            // Earlier environments, and the soak there.
            for earlier in environment.after {
                let promotions = history.promotions.filter {
                    $0.environment == earlier && $0.model == subject.model
                        && $0.sourceCommit == subject.sourceCommit.hex && $0.commit.committer.time <= subject.time
                }
                guard !promotions.isEmpty else {
                    broken(
                        "after",
                        "\(subject.model) from \(subject.sourceCommit.short) was never promoted to \(earlier), which must come first"
                    )
                    continue
                }
                let commits = Set(promotions.map(\.commit.id.hex))
                if let rollback = history.rollbacks.first(where: {
                    $0.environment == earlier && commits.contains($0.rolledBack)
                        && $0.commit.committer.time <= subject.time
                }) {
                    broken("soak", "it was rolled back in \(earlier) by \(rollback.commit.id.short)")
                    continue
                }
                guard let soak = environment.soak else { continue }
                let healthy = try promotions.flatMap { try DeploymentNotes.records(for: $0.commit.id, in: repository) }
                    .filter { $0.outcome == .healthy && $0.finished <= subject.time }
                guard let since = healthy.map(\.finished).min() else {
                    broken(
                        "soak",
                        "no healthy deployment of it in \(earlier) yet (the agent's notes, refs/notes/gitops-ml-deployments: fetch refs/notes/* first)"
                    )
                    continue
                }
                let soaked = subject.time.timeIntervalSince(since)
                if soaked < soak {
                    broken(
                        "soak",
                        "it has run healthy in \(earlier) for \(duration(soaked)) of \(duration(soak)) (since \(ISO8601DateFormatter().string(from: since)))"
                    )
                }
            }

            // The promotion commit's signature.
            if let signers = environment.signers,
                let problem = try signatureProblem(
                    subject.signature, signers: signers, rules: rules, repository: repository)
            {
                broken("signature", problem)
            }

            // Approvals.
            if let required = environment.approvals,
                let problem = try approvalsProblem(required, subject, rules: rules, repository: repository)
            {
                broken("approvals", problem)
            }

            // Freeze windows.
            let parts = calendar.dateComponents([.weekday, .hour, .minute], from: subject.time)
            let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
            for freeze in environment.freezes
            where (freeze.days.isEmpty || freeze.days.contains(parts.weekday ?? 0))
                && freeze.from <= minute && minute < freeze.to
            {
                let day = PromotionPolicy.weekdays.first { $0.value == parts.weekday }?.key ?? "?"
                violations.append(
                    Violation(
                        rule: "freeze",
                        message:
                            "\(subject.environment) is frozen on \(day) \(clock(freeze.from))–\(clock(freeze.to)) \(policy.timeZone)"
                            + (freeze.reason.map { ": \($0)" } ?? ""),
                        location: freeze.location))
            }

            // Promotions per day.
            if let limit = environment.maxPerDay {
                let today = history.promotions.filter {
                    $0.environment == subject.environment && $0.commit.id != subject.promotionCommit
                        && $0.commit.committer.time <= subject.time
                        && calendar.isDate($0.commit.committer.time, inSameDayAs: subject.time)
                }
                if today.count >= limit {
                    broken(
                        "max-per-day",
                        "\(today.count) promotions to \(subject.environment) already on this day (\(policy.timeZone)); at most \(limit)"
                    )
                }
            }
        }
        return violations
    }

    /// Fewer distinct allowed approvers than required, with who approved and what did not count; nil when
    /// there are enough.
    static func approvalsProblem(
        _ required: PromotionPolicy.Approvals, _ subject: Subject, rules: InForce, repository: Repository
    ) throws -> String? {
        guard let allowed = try rules.files.read(required.signers) else {
            return "the approvers file \(required.signers) is not in \(rules.source)"
        }
        let (approvals, rejected) = try Approvals.verified(
            model: subject.model, source: subject.sourceCommit, environment: subject.environment, in: repository,
            allowedSigners: allowed)
        guard approvals.count < required.count else { return nil }
        let who = approvals.isEmpty ? "none" : approvals.map(\.signer).joined(separator: ", ")
        return "\(approvals.count) of \(required.count) approvals by allowed approvers (\(who))"
            + (rejected.isEmpty ? "" : "; not counted: \(rejected.joined(separator: "; "))")
            + "; approve with: gitops-ml approve \(subject.model) --env \(subject.environment) --rev \(subject.sourceCommit.short)"
    }

    /// What is wrong with the promotion commit's signature, nil when an allowed signer made it.
    static func signatureProblem(
        _ signature: Signature, signers: String, rules: InForce, repository: Repository
    ) throws -> String? {
        guard let allowed = try rules.files.read(signers) else {
            return "the allowed signers file \(signers) is not in \(rules.source)"
        }
        switch signature {
        case .commit(let commit):
            do {
                _ = try CommitVerifier.verify(commit, in: repository, allowedSignersContents: allowed)
                return nil
            } catch let failure as VerificationFailure {
                return "the promotion commit must be signed by one of \(signers): \(failure.reason)"
            }
        case .signer(nil):
            return "the promotion commit must be signed by one of \(signers): promote with --sign ssh --signing-key KEY"
        case .signer(.openPGP?):
            return "\(signers) lists SSH keys: promote with --sign ssh"
        case .signer(let signer?):
            // Sign a probe as git signs commits and verify it: the key must be an allowed signer's.
            let probe = "gitops-ml promotion signer check\n"
            do {
                _ = try SSHSignature.verify(
                    Array(probe.utf8), signature: try signer.sign(probe), allowedSignersContents: allowed,
                    namespace: "git")
                return nil
            } catch let failure as SSHSignature.Failure {
                return "the signing key is not one of \(signers): \(failure.description)"
            }
        }
    }

    static func duration(_ seconds: Double) -> String {
        let minutes = Int(seconds / 60)
        let (days, hours) = (minutes / 1440, minutes % 1440 / 60)
        if days > 0 { return "\(days)d\(hours > 0 ? " \(hours)h" : "")" }
        return hours > 0 ? "\(hours)h \(minutes % 60)m" : "\(minutes)m"
    }

    static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }
}
