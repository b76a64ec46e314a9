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

    /// One PromotionPolicy in force, with the files its signer lists are read from (those of the same
    /// revision: a file of another branch never vouches for these rules).
    public struct Rules {
        public var policy: PromotionPolicy
        public var files: any FileView
        /// "the default branch (1a2b3c4d5e6f)" or "1a2b3c4d5e6f on the environment branch", for messages.
        public var source: String
    }

    /// The rules in force for a promotion on top of `environmentTip`.
    public struct InForce {
        public var rules: [Rules]
        public var isEmpty: Bool { rules.isEmpty }
    }

    /// The rules in force for a promotion on top of `environmentTip`: the PromotionPolicies of the default
    /// branch (`defaultFiles`, whose gitops-ml.yaml is `defaultConfig`) and, added to them, those in the
    /// environment branch's own policies folder there. The environment branch's rules only add: whoever can
    /// push that branch can make the rules stricter, never looser.
    public static func inForce(
        environmentTip: ObjectID?, repository: Repository, defaultConfig: ProjectConfig, defaultFiles: any FileView,
        defaultSource: String
    ) throws -> InForce {
        let folder = TrackedFiles.normalize(defaultConfig.checks.policies)
        var rules = try promotionPolicies(in: defaultFiles, folder: folder).map {
            Rules(policy: $0, files: defaultFiles, source: defaultSource)
        }
        if let tip = environmentTip {
            let view = try repository.fileView(.git(tip.hex))
            rules += try promotionPolicies(in: view, folder: folder).map {
                Rules(policy: $0, files: view, source: "\(tip.short) on the environment branch")
            }
        }
        return InForce(rules: rules)
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
        _ subject: Subject, rules inForce: InForce, history: PromotionHistory, repository: Repository
    ) throws -> [Violation] {
        var violations: [Violation] = []
        for rules in inForce.rules {
            let policy = rules.policy
            guard let environment = policy.environments[subject.environment] else { continue }
            func broken(_ rule: String, _ message: String) {
                violations.append(Violation(rule: rule, message: message, location: environment.location))
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: policy.timeZone) ?? calendar.timeZone

            // Earlier environments, and the soak there.
            for earlier in environment.after {
                let (promotions, unverified) = try verifiedPromotions(
                    of: subject, to: earlier, rules: rules, history: history, repository: repository)
                guard !promotions.isEmpty else {
                    broken(
                        "after",
                        "\(subject.model) from \(subject.sourceCommit.short) was never promoted to \(earlier), which must come first"
                            + (unverified.isEmpty ? "" : " (not counted: \(unverified.joined(separator: "; ")))"))
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
                guard let agents = environment.agents else {
                    broken(
                        "soak",
                        "deployment notes are evidence only when an agent signed them: name the agents' allowed-signers file in `agents:`"
                    )
                    continue
                }
                guard let allowed = try rules.files.read(agents) else {
                    broken("soak", "the agents' allowed-signers file \(agents) is not in \(rules.source)")
                    continue
                }
                let healthy = try promotions.flatMap {
                    try DeploymentNotes.verifiedRecords(for: $0.commit.id, in: repository, allowedSigners: allowed)
                }
                .filter { $0.outcome == .healthy && $0.environment == earlier && $0.finished <= subject.time }
                guard let since = healthy.map(\.finished).min() else {
                    broken(
                        "soak",
                        "no healthy deployment of it in \(earlier) yet, in notes signed by an agent of \(agents) (refs/notes/gitops-ml-deployments: fetch refs/notes/* first)"
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
            if let problem = perDayProblem(subject, policy: policy, history: history) {
                broken("max-per-day", problem)
            }
        }
        return violations
    }

    /// `max_per_day` alone, on the environment branch's history as `history` has it: `promote --push`
    /// judges it again on each attempt's fresh fetch, so a stale clone or a concurrent promotion that
    /// landed first is counted.
    public static func perDayProblems(_ subject: Subject, rules inForce: InForce, history: PromotionHistory)
        -> [Violation]
    {
        inForce.rules.compactMap { rules in
            guard let environment = rules.policy.environments[subject.environment],
                let problem = perDayProblem(subject, policy: rules.policy, history: history)
            else { return nil }
            return Violation(rule: "max-per-day", message: problem, location: environment.location)
        }
    }

    static func perDayProblem(_ subject: Subject, policy: PromotionPolicy, history: PromotionHistory) -> String? {
        guard let limit = policy.environments[subject.environment]?.maxPerDay else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: policy.timeZone) ?? calendar.timeZone
        let today = history.promotions.filter {
            $0.environment == subject.environment && $0.commit.id != subject.promotionCommit
                && $0.commit.committer.time <= subject.time
                && calendar.isDate($0.commit.committer.time, inSameDayAs: subject.time)
        }
        guard today.count >= limit else { return nil }
        return
            "\(today.count) promotions to \(subject.environment) already on this day (\(policy.timeZone)); at most \(limit)"
    }

    /// The promotions of `subject`'s model and source commit to `earlier` that count for `after`: commits
    /// that write that release record with that source commit (trailers alone are not a promotion) and,
    /// when these rules ask `earlier`'s promotions to be signed, are signed by one of its signers. With why
    /// the others did not count.
    static func verifiedPromotions(
        of subject: Subject, to earlier: String, rules: Rules, history: PromotionHistory, repository: Repository
    ) throws -> (promotions: [PromotionHistory.Entry], unverified: [String]) {
        let path = ReleaseRecord.path(environment: earlier, model: subject.model)
        var promotions: [PromotionHistory.Entry] = []
        var unverified: [String] = []
        for promotion in history.promotions
        where promotion.environment == earlier && promotion.model == subject.model
            && promotion.sourceCommit == subject.sourceCommit.hex && promotion.commit.committer.time <= subject.time
        {
            let commit = promotion.commit
            let bytes = try repository.read(path, at: .git(commit.id.hex))
            let record = bytes.flatMap { try? ReleaseRecord.parse($0, file: path) }
            guard let record, record.sourceCommit == subject.sourceCommit.hex, record.model == subject.model,
                record.environment == earlier
            else {
                unverified.append("\(commit.id.short) does not write \(path) with that source commit")
                continue
            }
            if let parent = commit.parents.first, try repository.read(path, at: .git(parent.hex)) == bytes {
                unverified.append("\(commit.id.short) does not change \(path)")
                continue
            }
            if let signers = rules.policy.environments[earlier]?.signers,
                let problem = try signatureProblem(
                    .commit(commit.id), signers: signers, rules: rules, repository: repository)
            {
                unverified.append("\(commit.id.short): \(problem)")
                continue
            }
            promotions.append(promotion)
        }
        return (promotions, unverified)
    }

    /// Fewer distinct allowed approvers than required, with who approved and what did not count; nil when
    /// there are enough.
    static func approvalsProblem(
        _ required: PromotionPolicy.Approvals, _ subject: Subject, rules: Rules, repository: Repository
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
        _ signature: Signature, signers: String, rules: Rules, repository: Repository
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
