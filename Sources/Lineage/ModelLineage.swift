import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import Trust

/// Everything a model version came from and everything that happened to it, read from commit history:
/// the promotion commits' trailers on the environment branches, the source commit, its data (with the
/// commit that introduced each version), params (and their change from the previous version), code files,
/// the gate report note, the agent's deployment notes and revert commits.
public struct ModelLineage: Sendable {
    /// A promotion commit and what its trailers say.
    public typealias Promotion = PromotionHistory.Entry
    public typealias Rollback = PromotionHistory.Rollback

    public struct DataVersion: Sendable {
        public var name: String
        public var path: String
        public var digest: String?
        /// The commit that first introduced this digest (`data origin`); nil past a shallow boundary.
        public var introduced: CommitInfo?
        /// Why `introduced` is unknown: the history is shallow where it would be.
        public var shallow: String?
        /// The digest the promotion recorded, when it differs from what the source commit holds.
        public var recorded: String?
    }

    public struct Report: Sendable {
        /// sha256 of the note, as the promotion records it.
        public var digest: String
        public var verdict: String
        public var findings: Int
        public var matchesPromotion: Bool
        public var signed: Bool
        /// The gate suite's findings: each champion-vs-challenger test and how it came out.
        public var gates: [GateEvidence.Gate]
    }

    public var model: String
    public var version: String
    public var source: CommitInfo
    public var artifactPath: String?
    public var artifactDigest: String?
    public var data: [DataVersion]
    public var paramsDigest: String?
    /// Params changed since the previous version (by key), empty for a first version.
    public var paramChanges: [ValueChange]
    public var previousVersion: String?
    /// Code files (by extension) at the source commit and their blob ids.
    public var code: [(path: String, blob: String)]
    public var report: Report?
    /// The problem with the gate report when there is one (absent, not for this commit, digest differs).
    public var reportProblem: String?
    public var promotions: [Promotion]
    public var rollbacks: [Rollback]
    /// Deployment notes on the promotion commits, in time order.
    public var deployments: [DeploymentRecord]
    /// GTO registry events of the version (registration, stage assignments), for repositories that promote
    /// with GTO tags rather than environment branches.
    public var registryEvents: [RegistryEvent] = []

    /// The path `dvc.yaml` `artifacts:` or GTO's `artifacts.yaml` declares for `model` (a repository file).
    static func declaredPath(of model: String, in view: any FileView) -> String? {
        for (file, key) in [("dvc.yaml", "artifacts"), ("artifacts.yaml", nil)] {
            guard let bytes = try? view.read(file), let root = try? YAMLReader.parse(bytes, file: file),
                case .string(let path)? = (key.map { root[$0] } ?? root)?[model]?["path"]
            else { continue }
            return try? RepositoryPath.clean(path)
        }
        return nil
    }

    static let codeExtensions: Set = [
        "py", "r", "jl", "ipynb", "sh", "sql", "scala", "java", "go", "rs", "swift", "toml", "cfg", "txt", "lock",
    ]

    /// The lineage of `model` at `version` (nil: what `environment` runs now, else its latest promotion);
    /// with `revision` (a commit id), what a promotion of that commit would record, promoted or not.
    public static func trace(
        model: String, version: String?, environment: String?, config: ProjectConfig, repository: Repository,
        revision: (commit: String, name: String)? = nil
    ) throws -> ModelLineage {
        let history = try PromotionHistory.read(config: config, repository: repository)
        let ofModel = history.promotions.filter { $0.model == model }
        // A GTO repository promotes with tags: its registry names the versions and their stages.
        let registered = try Registry(repository).state().artifact(model)
        guard config.models[model] != nil || !ofModel.isEmpty || registered != nil else {
            throw GitOpsMLError.usage(
                "no model \(model) in gitops-ml.yaml, on an environment branch or in the registry")
        }
        let wanted: String
        if let revision {
            wanted = "at \(revision.name)"
        } else if let version {
            wanted = version
        } else if let environment {
            if let branch = config.environments[environment]?.branch, let tip = history.tips[branch],
                let record = try EnvironmentReleases.read(environment, at: tip, in: repository)[model]
            {
                wanted = record.version
            } else if let staged = registered?.stageVersions[environment] {
                wanted = staged.version
            } else {
                throw GitOpsMLError.environment("\(environment) runs no version of \(model)")
            }
        } else if let latest = ofModel.max(by: { $0.commit.committer.time < $1.commit.committer.time }) {
            wanted = latest.version
        } else if let latest = registered?.latestVersion ?? registered?.versions.last {
            wanted = latest.version
        } else {
            throw GitOpsMLError.environment(
                "\(model) was never promoted (no promotion commit or registry tag names it): "
                    + "`gitops-ml lineage \(model) --rev HEAD` shows what a promotion of HEAD would record")
        }
        let promotions = ofModel.filter { $0.version == wanted }.sorted {
            $0.commit.committer.time < $1.commit.committer.time
        }
        let tagged = registered?.versions.first { $0.version == wanted }
        guard let sourceCommit = revision?.commit ?? promotions.first?.sourceCommit ?? tagged?.commit else {
            throw GitOpsMLError.environment(
                "no promotion of \(model) \(wanted) on any environment branch or in the registry")
        }
        let first = promotions.first
        let source = try repository.commit(sourceCommit)
        let view = try repository.fileView(.git(source.id.hex))
        let projectAtSource =
            try repository.read(ProjectConfig.fileName, at: .git(source.id.hex)).map {
                try ProjectConfig.parse($0, file: "\(ProjectConfig.fileName) (at \(source.id.short))")
            } ?? config

        var data: [DataVersion] = []
        for (name, dataset) in projectAtSource.datasets.sorted(by: { $0.key < $1.key }) {
            let origin = try DataOrigin.trace(dataset.path, from: source.id.hex, in: repository)
            let digest = origin.current?.digest
            let recorded = first?.data[name] ?? digest
            let shallow = origin.current.flatMap { $0.atShallowBoundary ? DataOrigin.shallowWarning($0) : nil }
            data.append(
                DataVersion(
                    name: name, path: dataset.path, digest: digest,
                    introduced: shallow == nil ? origin.current?.introduced : nil, shallow: shallow,
                    recorded: recorded == digest ? nil : recorded))
        }

        // A version only the registry knows (GTO tags, no promotion commit): what a promotion would have
        // recorded, computed at its source, and the registered version before it.
        // The configured path where the version holds it; else what the version itself declares (a GTO
        // version registered before the model moved, read through today's configuration).
        let configured = projectAtSource.models[model]?.artifact
        let heldThere = configured.flatMap { path in
            ((try? DataResolver.storage(of: path, in: view)) ?? nil) == nil ? nil : path
        }
        let artifactPath = heldThere ?? Self.declaredPath(of: model, in: view) ?? configured
        let built = first == nil ? try? BuildLineage.at(view, artifact: artifactPath, config: projectAtSource) : nil
        let registeredBefore: (version: String, commit: String)? =
            first == nil
            ? registered?.versions.filter(\.isRegistered)
                .compactMap { entry -> (SemVer, String, String)? in
                    guard let semver = SemVer(entry.version), let wantedSemVer = SemVer(wanted), semver < wantedSemVer
                    else { return nil }
                    return (semver, entry.version, entry.commit)
                }.max { $0.0 < $1.0 }.map { ($0.1, $0.2) }
            : nil
        let previousVersion = first?.previousVersion ?? registeredBefore?.version
        let previousCommit =
            first?.previousVersion.flatMap { previous in ofModel.first { $0.version == previous }?.sourceCommit }
            ?? registeredBefore?.commit
        var changes: [ValueChange] = []
        if let previousCommit, let previousSource = try? repository.fileView(.git(previousCommit)) {
            let targets = try TrackedFiles.targets(.params, in: view, config: projectAtSource)
            changes = ValueDiff.compare(
                old: try TrackedFiles.values(.params, of: targets, in: previousSource),
                new: try TrackedFiles.values(.params, of: targets, in: view))
        }

        let code = try repository.listTree(at: source.id.hex, recursive: true).filter { entry in
            entry.kind == .blob && codeExtensions.contains((entry.name as NSString).pathExtension.lowercased())
                && !entry.path.hasPrefix("data/")
        }.map { (path: $0.path, blob: $0.id.hex) }

        var report: Report?
        var reportProblem: String?
        if let note = try repository.note(for: source.id) {
            let digest = ContentDigest.sha256(Array(note.utf8))
            do {
                let claim = try GateEvidence.verify(Array(note.utf8), commit: source.id.hex)
                report = Report(
                    digest: digest, verdict: claim.verdict.rawValue, findings: claim.findings,
                    matchesPromotion: promotions.allSatisfy { $0.gateReport == digest },
                    signed: try repository.note(for: source.id, ref: GateEvidence.signatureNotes) != nil,
                    gates: claim.gates)
                if report?.matchesPromotion == false {
                    reportProblem = "the gate report note's digest \(digest.prefix(19))… is not the one promoted"
                }
            } catch {
                reportProblem = "\(error)"
            }
        } else {
            reportProblem = "no gate report note on \(source.id.short)"
        }

        let promotionCommits = Set(promotions.map(\.commit.id.hex))
        let rollbacks = history.rollbacks.filter { promotionCommits.contains($0.rolledBack) }
        // Notes on the promotion commits only: a revert commit's tree is the version it went back to.
        var deployments: [DeploymentRecord] = []
        for commit in promotions.map(\.commit.id) {
            deployments += (try? DeploymentNotes.records(for: commit, in: repository)) ?? []
        }
        var lineage = ModelLineage(
            model: model, version: wanted, source: source, artifactPath: artifactPath,
            artifactDigest: first?.artifact ?? built?.artifactDigest, data: data,
            paramsDigest: first?.params ?? built?.paramsDigest, paramChanges: changes,
            previousVersion: previousVersion, code: code, report: report, reportProblem: reportProblem,
            promotions: promotions, rollbacks: rollbacks,
            deployments: deployments.sorted { $0.started < $1.started })
        lineage.registryEvents = tagged?.allEvents ?? []
        return lineage
    }
}

/// The promotion and rollback commits of every environment branch, read from their trailers.
