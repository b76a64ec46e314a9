import Check
import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// The rules of the default branch, with the files they were read from (signer lists are read from the
/// same revision: a file of another branch never vouches for these rules).
public struct TrustedRules {
    public var rules: RuleSet
    public var files: any FileView
    public var tip: ObjectID
    /// `origin/main`, or `main` when only the local branch exists.
    public var branch: String
}

/// Which rules judge an action — the one place that decides it (DESIGN §9):
/// - `check`: `--rules` alone, else the base the change would merge into, else the default branch; the
///   change's own rules only when nothing before it has any (it adopts gitops-ml), said as a finding;
/// - `promote`, the agent and `audit`: the default branch, to which the environment branch's own
///   PromotionPolicies before the promotion commit may only add (`promotion`).
/// Nothing a change or a promotion contains decides how it is judged.
public enum RulesInForce {
    /// The default branch's rules; nil when there is no default branch or it has no gitops-ml.yaml. With
    /// `policies: false`, gitops-ml.yaml alone, its policies neither loaded nor checked against it: the
    /// agent's environments are agent.yaml's, which a PromotionPolicy may name though gitops-ml.yaml does
    /// not, and `promotion` reads the PromotionPolicies itself.
    public static func defaultBranch(in repository: Repository, configured: String?, policies: Bool = true) throws
        -> TrustedRules?
    {
        guard let branch = try Revisions.defaultBranchTip(in: repository, configured: configured) else { return nil }
        let files = try repository.fileView(.git(branch.commit.hex))
        let source = "the default branch (\(branch.name), \(branch.commit.short))"
        let rules: RuleSet?
        if policies {
            rules = try RuleSet.load(files, source: source)
        } else {
            rules = try files.read(ProjectConfig.fileName).map {
                RuleSet(config: try ProjectConfig.parse($0, file: ProjectConfig.fileName), policies: [], source: source)
            }
        }
        return rules.map { TrustedRules(rules: $0, files: files, tip: branch.commit, branch: branch.name) }
    }

    /// The default branch's rules, which `promote` cannot go without: the error says which ref was read, and
    /// when the local branch holds the gitops-ml.yaml the remote one does not have yet.
    public static func requireDefaultBranch(in repository: Repository, configured: String?) throws -> TrustedRules {
        guard let branch = try Revisions.defaultBranchTip(in: repository, configured: configured) else {
            throw GitOpsMLError.configuration(
                "no default branch (\(ProjectConfig.defaultBranchNames(configured).joined(separator: " or "))) to read the promotion's rules from: set default_branch in gitops-ml.yaml"
            )
        }
        if let trusted = try defaultBranch(in: repository, configured: configured) { return trusted }
        var ahead = ""
        let local = String(branch.name.dropFirst("origin/".count))
        if branch.isRemote, let localTip = try? repository.referenceTarget("refs/heads/\(local)"),
            localTip != branch.commit, (try? repository.isAncestor(branch.commit, of: localTip)) == true
        {
            ahead = "; the local \(local) is ahead of it: push the commit that adds \(ProjectConfig.fileName) first"
        }
        throw GitOpsMLError.configuration(
            "no \(ProjectConfig.fileName) on the default branch \(branch.name) (\(branch.commit.short)): promote reads its rules there, never from the commit it promotes\(ahead)"
        )
    }

    /// The PromotionPolicies in force for a promotion on top of `environmentTip` (the environment branch
    /// before the promotion commit): the default branch's, and the environment branch's own added to them.
    public static func promotion(environmentTip: ObjectID?, trusted: TrustedRules, repository: Repository) throws
        -> PromotionRules.InForce
    {
        try PromotionRules.inForce(
            environmentTip: environmentTip, repository: repository, defaultConfig: trusted.rules.config,
            defaultFiles: trusted.files, defaultSource: trusted.rules.source)
    }

    /// The rules `check` judges `head` by, and the `policy` finding that shows what the change does to them.
    /// `rules`: the user's `--rules REV`; `base`: the base revision's files and name; `config`: the user's
    /// `--config`, which replaces gitops-ml.yaml wherever the rules are read.
    public static func check(
        head: RevisionFiles, headName: String, base: (files: RevisionFiles, name: String)?, rules: String?,
        config explicit: ProjectConfig?, revisions: Revisions
    ) throws -> (rules: RuleSet, finding: Finding?) {
        var candidates: [(files: RevisionFiles, name: String)] = []
        if let rules {
            candidates.append((try revisions.files(rules), rules))
        } else {
            if let base { candidates.append(base) }
            if let branch = try revisions.defaultBranchTip() {
                candidates.append((try revisions.files(branch.commit.hex), "the default branch \(branch.name)"))
            }
        }
        for candidate in candidates {
            let source = candidate.files.commit.map { "\(candidate.name) (\($0.short))" } ?? candidate.name
            guard let trusted = try RuleSet.load(candidate.files, source: source, config: explicit) else {
                if rules != nil {
                    throw GitOpsMLError.configuration("--rules \(candidate.name): no \(ProjectConfig.fileName) there")
                }
                continue
            }
            let sameRevision = candidate.files.commit != nil && candidate.files.commit == head.commit
            let proposed = Result { try RuleSet.load(head, source: headName, config: explicit) }
            // Neither side has rules (two revisions from before adoption): the change touches no rules.
            if case .success(nil) = proposed, let base, try base.files.read(ProjectConfig.fileName) == nil {
                return (trusted, nil)
            }
            return (
                trusted,
                sameRevision ? nil : PolicyChanges.finding(trusted: trusted, proposed: proposed, proposedName: headName)
            )
        }
        guard let own = try RuleSet.load(head, source: headName, config: explicit) else {
            let looked = candidates.map { candidate in
                candidate.files.commit.map { "\(candidate.name) (\($0.short))" } ?? candidate.name
            }
            throw GitOpsMLError.configuration(
                "no \(ProjectConfig.fileName) at \(headName)\(looked.isEmpty ? "" : ", nor at " + looked.joined(separator: " or ")): commit one (gitops-ml init), or judge by other rules with --rules REV (or --rules workspace)"
            )
        }
        let finding = Finding(
            id: "policy/changes", suite: .policy, check: "rules", status: .warn,
            message:
                "judged by its own rules: \(headName) has nothing before it with a \(ProjectConfig.fileName) (the change adopts gitops-ml, or --base none); once merged, later changes are judged by these",
            details: .object([("trusted", .string(headName))]))
        return (own, finding)
    }
}
