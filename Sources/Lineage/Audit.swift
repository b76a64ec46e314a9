import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import Trust

/// `gitops-ml audit`: rules over the environment branches' history, each finding naming the commit and the
/// rule. Everything is recomputed from git objects; nothing a commit claims is taken on its word.
public enum Audit {
    /// The rules every promotion is judged by, and the files they name (report signers).
    public struct Options: Sendable {
        public var environment: String?
        public var since: Date?
        /// An allowed-signers file (git's SSH format): when given, promotion and rollback commits and the
        /// deployment notes' tip must be signed by one of them.
        public var allowedSigners: String?

        public init(environment: String? = nil, since: Date? = nil, allowedSigners: String? = nil) {
            self.environment = environment
            self.since = since
            self.allowedSigners = allowedSigners
        }
    }

    public static func run(config: ProjectConfig, repository: Repository, options: Options) throws -> [Finding] {
        let environments = try config.environments.values.filter { environment in
            guard let wanted = options.environment else { return true }
            guard config.environments[wanted] != nil else {
                throw GitOpsMLError.usage("no environment \(wanted) in gitops-ml.yaml")
            }
            return environment.name == wanted
        }.sorted { $0.name < $1.name }
        var findings: [Finding] = []
        var audited: Set<ObjectID> = []
        // The gates are re-run, and report signers read, by the default branch's rules, as `promote` does:
        // nothing on the branch under audit decides how it is judged.
        let defaultBranch = try RulesInForce.defaultBranch(in: repository, configured: config.defaultBranch)
        let history = try PromotionHistory.read(config: config, repository: repository)
        for branch in Set(environments.map(\.branch)).sorted() {
            guard let tip = (try? repository.resolve(branch)) ?? (try? repository.resolve("origin/\(branch)")) else {
                // No branch yet: nothing was promoted there (a fresh adoption), or the clone did not fetch it.
                findings.append(
                    finding(
                        "branch", branch, nil, .skip,
                        "environment branch \(branch) is not in this repository: no promotion to audit there (if it exists on the remote, fetch it first)"
                    ))
                continue
            }
            let names = Set(environments.filter { $0.branch == branch }.map(\.name))
            let commits = try repository.history(from: tip.hex).filter { commit in
                options.since.map { commit.committer.time >= $0 } ?? true
            }
            // A shallow clone ends the branch's history early: what came before was not audited, and says so.
            let boundary = repository.shallowBoundary
            if let cut = commits.last(where: { boundary.contains($0.id.hex) }) {
                findings.append(
                    finding(
                        "history", branch, cut.id, .warn,
                        "the history of \(branch) is shallow before this commit: promotions before it are not audited; fetch with fetch-depth: 0 (git fetch --unshallow)"
                    ))
            }
            let promotionCommits = Set(commits.map(\.id.hex))
            for commit in commits.reversed() where audited.insert(commit.id).inserted {
                findings += try audit(
                    commit, environments: names, config: config, defaultBranch: defaultBranch, repository: repository,
                    options: options, branchCommits: promotionCommits, history: history)
            }
        }
        if let allowed = options.allowedSigners,
            let notes = try repository.referenceTarget(DeploymentNotes.ref)
        {
            // Every notes commit, not only the tip: a signed commit carries over what unsigned ones wrote.
            let results = try repository.history(from: notes.hex).map {
                signature(of: $0.id, subject: "deployment notes", allowed: allowed, repository)
            }
            let failed = results.filter { $0.status != .pass }
            findings += failed.isEmpty ? Array(results.prefix(1)) : failed
        }
        return findings
    }

    static func finding(
        _ rule: String, _ subject: String, _ commit: ObjectID?, _ status: Finding.Status, _ message: String
    ) -> Finding {
        Finding(
            id: "audit/\(rule)/\(commit?.short ?? subject)", suite: .audit, check: rule, status: status,
            message: commit.map { "\($0.short): \(message)" } ?? message,
            details: .object([("commit", commit.map { .string($0.hex) } ?? .null), ("subject", .string(subject))]))
    }

    /// Every rule on one commit of an environment branch.
    static func audit(
        _ commit: CommitInfo, environments: Set<String>, config: ProjectConfig, defaultBranch: TrustedRules?,
        repository: Repository, options: Options, branchCommits: Set<String>, history: PromotionHistory
    ) throws -> [Finding] {
        let message = commit.message
        let environment = CommitTrailers.value(Trailer.environment, in: message)
        let touched = try touchedEnvironments(commit, repository: repository)
        // Only this audit's environments: what a commit claims, or else the files it touches.
        let relevant = environment.map { environments.contains($0) } ?? !touched.isDisjoint(with: environments)
        guard relevant || (environment == nil && touched.isEmpty) else { return [] }
        let id = commit.id

        if let rolledBack = CommitTrailers.value(Trailer.rollbackOf, in: message) {
            var results = [rollback(commit, of: rolledBack, repository: repository, branchCommits: branchCommits)]
            if let allowed = options.allowedSigners {
                results.append(signature(of: id, subject: "rollback", allowed: allowed, repository))
            }
            return results
        }
        guard let environment, let model = CommitTrailers.value(Trailer.model, in: message),
            CommitTrailers.value(Trailer.version, in: message) != nil,
            CommitTrailers.value(Trailer.sourceCommit, in: message) != nil
        else {
            return [
                finding(
                    "promotion-only", environments.sorted().joined(separator: ","), id, .fail,
                    "direct edit bypassing promotion (\(commit.message.prefix { $0 != "\n" }))")
            ]
        }
        var results: [Finding] = []
        if let stray = touched.subtracting([environment]).sorted().first {
            results.append(
                finding(
                    "promotion-only", environment, id, .fail, "promotes to \(environment) but changes \(stray)'s files")
            )
        }
        let path = ReleaseRecord.path(environment: environment, model: model)
        guard let bytes = try repository.read(path, at: .git(id.hex)) else {
            return results + [
                finding("trailers", environment, id, .fail, "promotion without its release record \(path)")
            ]
        }
        let record: ReleaseRecord
        do {
            record = try ReleaseRecord.parse(bytes, file: "\(path) (at \(id.short))")
        } catch {
            return results + [finding("trailers", environment, id, .fail, "\(error)")]
        }
        results.append(trailers(record, message: message, commit: id))
        results += try evidence(
            record, commit: commit, config: config, defaultBranch: defaultBranch, repository: repository)
        if let allowed = options.allowedSigners {
            results.append(signature(of: id, subject: "promotion", allowed: allowed, repository))
        }
        if repository.shallowBoundary.contains(id.hex) {
            // What the branch held before it is not here: the rules then in force and the champion are unknown.
            results.append(
                finding(
                    "promotion-policy", record.environment, id, .skip,
                    "not judged: the environment branch before this commit is past the shallow boundary"))
        } else if let defaultBranch, let source = try? repository.resolve(record.sourceCommit) {
            results += try promotionPolicy(
                commit, record: record, source: source, defaultBranch: defaultBranch, history: history,
                repository: repository)
        }
        return results
    }

    /// The PromotionPolicy in force when the commit was made (the environment branch's own policies before
    /// it, else the default branch's), judged at the commit's time as `promote` and the agent judge it.
    static func promotionPolicy(
        _ commit: CommitInfo, record: ReleaseRecord, source: ObjectID, defaultBranch: TrustedRules,
        history: PromotionHistory, repository: Repository
    ) throws -> [Finding] {
        let rules = try RulesInForce.promotion(
            environmentTip: commit.parents.first, trusted: defaultBranch, repository: repository)
        guard !rules.isEmpty else { return [] }
        let subject = PromotionRules.Subject(
            model: record.model, environment: record.environment, sourceCommit: source,
            time: commit.committer.time, promotionCommit: commit.id, signature: .commit(commit.id))
        let violations = try PromotionRules.evaluate(subject, rules: rules, history: history, repository: repository)
        // Freeze windows and promotions per day are judged at committer dates, which whoever pushed chose.
        let dated = rules.rules.contains {
            guard let environment = $0.policy.environments[record.environment] else { return false }
            return !environment.freezes.isEmpty || environment.maxPerDay != nil
        }
        let caveat = dated ? " (freeze and max_per_day judged at committer dates, which the pusher sets)" : ""
        guard !violations.isEmpty else {
            return [
                finding(
                    "promotion-policy", record.environment, commit.id, .pass, "the PromotionPolicy allowed it" + caveat)
            ]
        }
        return [
            finding(
                "promotion-policy", record.environment, commit.id, .fail,
                "breaks the PromotionPolicy: " + violations.map(\.description).joined(separator: "; ") + caveat)
        ]
    }

    /// The environments whose files (`environments/<env>/`, `deploy/<env>/`) a commit changes.
    static func touchedEnvironments(_ commit: CommitInfo, repository: Repository) throws -> Set<String> {
        let changed = try repository.changedPaths(from: commit.parents.first, to: commit.id)
        return Set(
            changed.compactMap { path -> String? in
                let parts = path.split(separator: "/")
                guard parts.count >= 2, parts[0] == "environments" || parts[0] == "deploy" else { return nil }
                return String(parts[1])
            })
    }

    /// The trailers must say what the release record says: a trailer edited by hand is a forgery.
    static func trailers(_ record: ReleaseRecord, message: String, commit: ObjectID) -> Finding {
        let expected: [(String, String?)] = [
            (Trailer.model, record.model), (Trailer.version, record.version),
            (Trailer.environment, record.environment), (Trailer.sourceCommit, record.sourceCommit),
            (Trailer.artifact, record.artifactDigest), (Trailer.params, record.paramsDigest),
            (Trailer.gateReport, record.gateReport),
        ]
        for (key, value) in expected where CommitTrailers.value(key, in: message) != value {
            return finding(
                "trailers", record.environment, commit, .fail,
                "forged trailer: \(key) says \(CommitTrailers.value(key, in: message) ?? "nothing"), the release record \(value ?? "nothing")"
            )
        }
        return finding("trailers", record.environment, commit, .pass, "trailers match the release record")
    }

    /// The gate report and the digests, recomputed from the source commit.
    static func evidence(
        _ record: ReleaseRecord, commit promotion: CommitInfo, config: ProjectConfig, defaultBranch: TrustedRules?,
        repository: Repository
    ) throws -> [Finding] {
        let commit = promotion.id
        let environment = record.environment
        let rules = defaultBranch?.rules
        let source = ObjectID(hex: record.sourceCommit)
        guard (try? repository.commit(source.hex)) != nil else {
            return [finding("digests", environment, commit, .fail, "the source commit \(source.short) is not here")]
        }
        var results: [Finding] = []
        // Gate report: present, for exactly this commit, passing, the digest promoted.
        if let note = try repository.note(for: source) {
            let digest = ContentDigest.sha256(Array(note.utf8))
            do {
                let claim = try GateEvidence.verify(Array(note.utf8), commit: source.hex)
                if claim.verdict != .pass {
                    results.append(finding("gate-report", environment, commit, .fail, "the gate report failed"))
                } else if record.gateReport != digest {
                    results.append(
                        finding(
                            "gate-report", environment, commit, .fail,
                            "the gate report on \(source.short) is \(digest.prefix(19))…, the promotion names \(record.gateReport ?? "none")"
                        ))
                } else if repository.shallowBoundary.contains(commit.hex) {
                    results.append(
                        finding(
                            "gate-report", environment, commit, .pass,
                            "gate report passed (not recomputed: the champion before it is past the shallow boundary)"))
                } else if let failing = try recomputed(record, promotion: promotion, rules: rules, repository) {
                    results.append(finding("gate-report", environment, commit, .fail, failing))
                } else {
                    results.append(
                        finding(
                            "gate-report", environment, commit, .pass,
                            "gate report passed\(rules == nil ? "" : ", and passes again recomputed from git objects")")
                    )
                }
            } catch {
                results.append(finding("gate-report", environment, commit, .fail, "\(error)"))
            }
        } else {
            results.append(finding("gate-report", environment, commit, .fail, "no gate report on \(source.short)"))
        }
        if let defaultBranch, let signers = defaultBranch.rules.config.environments[environment]?.reportSigners {
            results.append(
                try reportSignature(
                    source, signers: signers, in: defaultBranch.files, environment: environment, commit, repository))
        }
        // Digests: the artifact and every dataset the record names, as they are at the source commit.
        let view = try repository.fileView(.git(source.hex))
        var mismatches: [String] = []
        if let path = record.artifactPath, let digest = record.artifactDigest {
            let actual = try DataResolver.identity(path, in: view)
            if actual != digest { mismatches.append("artifact \(path) is \(actual ?? "absent"), recorded \(digest)") }
        }
        let datasets =
            try repository.read(ProjectConfig.fileName, at: .git(source.hex)).map {
                try ProjectConfig.parse($0, file: "\(ProjectConfig.fileName) (at \(source.short))").datasets
            } ?? config.datasets
        for (name, digest) in record.data.sorted(by: { $0.key < $1.key }) {
            guard let dataset = datasets[name] else {
                mismatches.append("dataset \(name) is not in gitops-ml.yaml at \(source.short)")
                continue
            }
            let actual = try DataResolver.identity(dataset.path, in: view)
            if actual != digest { mismatches.append("dataset \(name) is \(actual ?? "absent"), recorded \(digest)") }
        }
        results.append(
            mismatches.isEmpty
                ? finding("digests", environment, commit, .pass, "artifact and data digests match \(source.short)")
                : finding("digests", environment, commit, .fail, mismatches.joined(separator: "; ")))
        if let judgement = try StalePipeline.check(view) {
            if let reason = judgement.unjudged {
                results.append(
                    finding(
                        "stale-pipeline", environment, commit, .skip,
                        "dvc.lock at \(source.short) not judged: \(reason)"))
            } else {
                results.append(
                    judgement.stale.isEmpty
                        ? finding(
                            "stale-pipeline", environment, commit, .pass, "dvc.lock at \(source.short) is reproduced")
                        : finding(
                            "stale-pipeline", environment, commit, .fail,
                            "source \(source.short): " + judgement.stale.map(\.message).joined(separator: "; ")))
            }
        }
        return results
    }

    /// Why the gates fail when re-run from git objects — the source against what the environment ran
    /// before this promotion, by the default branch's rules — or nil when they pass (or there are no rules).
    static func recomputed(_ record: ReleaseRecord, promotion: CommitInfo, rules: RuleSet?, _ repository: Repository)
        throws -> String?
    {
        guard let rules else { return nil }
        let source = ObjectID(hex: record.sourceCommit)
        var champion: ObjectID?
        if let parent = promotion.parents.first,
            let bytes = try repository.read(
                ReleaseRecord.path(environment: record.environment, model: record.model), at: .git(parent.hex)),
            let previous = try? ReleaseRecord.parse(bytes, file: "release record")
        {
            champion = try? repository.resolve(previous.sourceCommit)
            // The same version again (a record edited in place): judged when it was promoted, not against itself.
            if champion == source { return nil }
        }
        let failing = try GateEvidence.recomputedFailures(
            source: source, champion: champion,
            championName: champion.map { "\(record.environment) (\($0.short))" } ?? "no champion", rules: rules,
            in: repository)
        guard !failing.isEmpty else { return nil }
        return "the gate report says pass, but re-run from git objects by the rules of \(rules.source) it fails: "
            + failing.prefix(2).map(\.message).joined(separator: " | ")
    }

    /// A report signature (`check --sign ssh`) by one of the environment's signers, as the default branch lists them.
    static func reportSignature(
        _ source: ObjectID, signers: String, in rules: any FileView, environment: String, _ commit: ObjectID,
        _ repository: Repository
    ) throws -> Finding {
        do {
            let signer = try GateEvidence.signer(of: source, signers: signers, in: rules, repository: repository)
            return finding("signatures", environment, commit, .pass, "gate report signed by \(signer)")
        } catch {
            return finding("signatures", environment, commit, .fail, "gate report signature: \(error)")
        }
    }

    static func signature(of commit: ObjectID, subject: String, allowed: String, _ repository: Repository) -> Finding {
        do {
            let verified = try CommitVerifier.verify(commit, in: repository, trust: .sshAllowedSigners(allowed))
            return finding("signatures", subject, commit, .pass, "\(subject) signed by \(verified.signer)")
        } catch {
            return finding("signatures", subject, commit, .fail, "\(subject): \(error)")
        }
    }

    /// A rollback names a promotion commit of this branch that was deployed.
    static func rollback(_ commit: CommitInfo, of target: String, repository: Repository, branchCommits: Set<String>)
        -> Finding
    {
        let environment = CommitTrailers.value(Trailer.environment, in: commit.message) ?? "?"
        guard ObjectID.isFullHex(target), branchCommits.contains(target) else {
            return finding(
                "rollback", environment, commit.id, .fail, "rolls back \(target.prefix(12)), which is not on the branch"
            )
        }
        let records = (try? DeploymentNotes.records(for: ObjectID(hex: target), in: repository)) ?? []
        guard !records.isEmpty else {
            return finding(
                "rollback", environment, commit.id, .fail,
                "rolls back \(target.prefix(12)), which has no deployment record (was it ever deployed?)")
        }
        return finding(
            "rollback", environment, commit.id, .pass, "rolls back \(target.prefix(12)) after its deployment failed")
    }
}
