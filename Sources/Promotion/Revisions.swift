import Config
import Foundation
import GitOpsMLCore
import GitStore

/// Revisions as every command accepts them: a git revspec, `workspace`, `env:ENV[/MODEL]` (the source
/// commit an environment's release record names) and `registry:MODEL#STAGE` / `registry:MODEL@VERSION`
/// (GTO tags, confirmed against the tags themselves). Release records and branch tips with them.
public struct Revisions {
    public let repository: Repository
    /// gitops-ml.yaml (environments and models), when the project has one.
    public let config: ProjectConfig?

    public init(repository: Repository, config: ProjectConfig?) {
        self.repository = repository
        self.config = config
    }

    /// A view of `text` as a revision: a git revspec, `workspace`, `env:ENV[/MODEL]` or
    /// `registry:MODEL#STAGE` / `registry:MODEL@VERSION`.
    public func files(_ text: String) throws -> RevisionFiles {
        if Revision(text) == .workspace { return try repository.fileView(.workspace) }
        return try repository.fileView(.git(try commit(text)))
    }

    /// The commit `text` names: a git revspec, `env:ENV[/MODEL]`, `registry:MODEL#STAGE`,
    /// `registry:MODEL@VERSION` or `exp:NAME` (not `workspace`, which is no commit).
    public func commit(_ text: String) throws -> String {
        if text.hasPrefix("env:") { return try environmentCommit(String(text.dropFirst(4))) }
        if text.hasPrefix("registry:") { return try registryCommit(String(text.dropFirst("registry:".count))) }
        if text.hasPrefix("exp:") { return try experimentCommit(String(text.dropFirst(4))).commit.hex }
        return text
    }

    /// DVC experiments: `refs/exps/<xx>/<rest of the baseline>/<name>`, named by the last component (not
    /// DVC's own `refs/exps/exec/…` and stash refs). The two folders are the baseline commit's 40 hex
    /// digits, and the experiment descends from that baseline when it is here: a ref of another shape
    /// pushed under refs/exps/ is not an experiment.
    public func experiments(matching pattern: String = "*") throws -> [(name: String, ref: String, commit: ObjectID)] {
        try repository.references(matching: "refs/exps/*").compactMap { ref in
            let parts = ref.split(separator: "/").map(String.init)
            guard parts.count == 5, ObjectID.isFullHex(parts[2] + parts[3]), parts[2].count == 2,
                fnmatch(pattern, parts[4], 0) == 0, let commit = try repository.referenceTarget(ref)
            else { return nil }
            let baseline = ObjectID(hex: (parts[2] + parts[3]).lowercased())
            if (try? repository.commit(baseline.hex)) != nil, try !repository.isAncestor(baseline, of: commit) {
                return nil
            }
            return (parts[4], ref, commit)
        }.sorted { $0.name < $1.name }
    }

    /// The experiment `name` (`exp:NAME`); an ambiguous name lists its refs.
    public func experimentCommit(_ name: String) throws -> (ref: String, commit: ObjectID) {
        let found = try experiments().filter { $0.name == name }
        guard let first = found.first else {
            let known = try experiments().map(\.name)
            throw GitOpsMLError.environment(
                "exp:\(name): no DVC experiment of that name under refs/exps/ (\(known.isEmpty ? "none; fetch them with `dvc exp pull origin --all`" : "known: " + known.joined(separator: ", ")))"
            )
        }
        guard found.count == 1 else {
            throw GitOpsMLError.usage(
                "exp:\(name) is ambiguous: \(found.map(\.ref).joined(separator: ", ")); name one of them by its full ref"
            )
        }
        return (first.ref, first.commit)
    }

    /// The source commit an environment runs: from its release record on the environment's branch (local,
    /// else origin's). `ENV/MODEL` picks the model when the environment runs several.
    public func environmentCommit(_ spec: String) throws -> String {
        let parts = spec.split(separator: "/", maxSplits: 1).map(String.init)
        let name = parts.first ?? ""
        guard let config, let environment = config.environments[name] else {
            throw GitOpsMLError.usage("env:\(spec): no environment '\(name)' in gitops-ml.yaml")
        }
        guard branchTip(environment.branch) != nil else {
            throw GitOpsMLError.environment("env:\(spec): branch '\(environment.branch)' not found (fetch it first)")
        }
        let models = parts.count == 2 ? [parts[1]] : config.models.keys.sorted()
        var commits: [String: String] = [:]
        for model in models {
            commits[model] = try releaseRecord(environment: name, model: model)?.sourceCommit
        }
        let distinct = Set(commits.values)
        guard let commit = distinct.first else {
            throw GitOpsMLError.environment("env:\(spec): \(name) has no release record on \(environment.branch)")
        }
        guard distinct.count == 1 else {
            throw GitOpsMLError.usage(
                "env:\(spec): \(name) runs several models from different commits; name one: env:\(name)/\(commits.keys.sorted()[0])"
            )
        }
        return commit
    }

    /// The tip of a branch here, else of origin's copy of it (a CI checkout has only origin's).
    public func branchTip(_ branch: String) -> ObjectID? {
        (try? repository.resolve(branch)) ?? (try? repository.resolve("origin/\(branch)"))
    }

    /// The release record of `model` on the environment's branch; nil when the branch or the record is absent.
    public func releaseRecord(environment: String, model: String) throws -> ReleaseRecord? {
        guard let branch = config?.environments[environment]?.branch, let tip = branchTip(branch) else { return nil }
        let path = ReleaseRecord.path(environment: environment, model: model)
        guard let bytes = try repository.read(path, at: .git(tip.hex)) else { return nil }
        return try ReleaseRecord.parse(bytes, file: "\(path) (at \(branch))")
    }

    /// The commit of a registry version: `MODEL@VERSION`, or the version holding `MODEL#STAGE`.
    public func registryCommit(_ spec: String) throws -> String {
        let registry = Registry(repository)
        let state = try registry.state()
        if let hash = spec.firstIndex(of: "#") {
            let model = String(spec[..<hash])
            let stage = String(spec[spec.index(after: hash)...])
            guard let version = state.artifact(model)?.stageVersions[stage] else {
                throw GitOpsMLError.environment("registry:\(spec): no version of \(model) is in stage '\(stage)'")
            }
            try registry.confirm(version)
            return version.commit
        }
        if let at = spec.lastIndex(of: "@") {
            let model = String(spec[..<at])
            let name = String(spec[spec.index(after: at)...])
            guard let version = state.artifact(model)?.versions.first(where: { $0.version == name && $0.isRegistered })
            else { throw GitOpsMLError.environment("registry:\(spec): \(model) has no registered version \(name)") }
            try registry.confirm(version)
            return version.commit
        }
        throw GitOpsMLError.usage("registry:\(spec): expected registry:MODEL#STAGE or registry:MODEL@VERSION")
    }

    /// The default branch's tip, origin's copy first (a CI clone has only that), with its short name.
    public func defaultBranchTip() throws -> (commit: ObjectID, name: String, isRemote: Bool)? {
        try Self.defaultBranchTip(in: repository, configured: config?.defaultBranch)
    }

    /// The default branch's tip in `repository`: `configured`, else `main`, else `master`; origin's copy
    /// first (a CI clone, the agent's mirror, have only that), then the local branch.
    public static func defaultBranchTip(in repository: Repository, configured: String?) throws
        -> (commit: ObjectID, name: String, isRemote: Bool)?
    {
        for name in ProjectConfig.defaultBranchNames(configured) {
            for (ref, remote) in [("refs/remotes/origin/\(name)", true), ("refs/heads/\(name)", false)] {
                if let tip = try repository.referenceTarget(ref) {
                    return (tip, remote ? "origin/\(name)" : name, remote)
                }
            }
        }
        return nil
    }

    /// The base `check` compares with by default: the merge base of `head` with the default branch, or the
    /// head's first parent when the head is on that branch; `HEAD` for the workspace. With a name for reports.
    public func defaultBase(head: ObjectID?) throws -> (revision: String, name: String)? {
        guard let head else { return ("HEAD", "HEAD") }
        if let tip = try defaultBranchTip(), let mergeBase = try repository.mergeBase(head, tip.commit),
            mergeBase != head
        {
            return (mergeBase.hex, mergeBase == tip.commit ? tip.name : "merge-base(\(tip.name))")
        }
        return try repository.commit(head.hex).parents.first.map { ($0.hex, "\(head.short)^") }
    }
}
