import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Render

/// What a model version was built from: digests of its artifact, data and params at the source commit
/// (`BuildLineage.at`). (Named so, not `Lineage`: that is the module of lineage and audit.)
public struct BuildLineage: Sendable, Equatable {
    public var artifactPath: String?
    public var artifactDigest: String?
    /// Dataset name → content digest.
    public var data: [String: String] = [:]
    public var paramsDigest: String?

    public init(
        artifactPath: String? = nil, artifactDigest: String? = nil, data: [String: String] = [:],
        paramsDigest: String? = nil
    ) {
        self.artifactPath = artifactPath
        self.artifactDigest = artifactDigest
        self.data = data
        self.paramsDigest = paramsDigest
    }

    /// The digests at a source commit: the artifact's and each dataset's content digest (DVC, LFS or blob,
    /// `DataResolver.identity`), and one sha256 over the params files (path, NUL, bytes, NUL, in path order).
    public static func at(_ files: any FileView, artifact: String?, config: ProjectConfig) throws -> BuildLineage {
        var lineage = BuildLineage(artifactPath: artifact)
        if let artifact { lineage.artifactDigest = try DataResolver.identity(artifact, in: files) }
        for (name, dataset) in config.datasets {
            lineage.data[name] = try DataResolver.identity(dataset.path, in: files)
        }
        let params = try TrackedFiles.targets(.params, in: files, config: config)
        if !params.isEmpty {
            var hashed: [UInt8] = []
            for target in params.sorted(by: { $0.path < $1.path }) {
                hashed += Array(target.path.utf8) + [0] + ((try files.read(target.path)) ?? []) + [0]
            }
            lineage.paramsDigest = ContentDigest.sha256(hashed)
        }
        return lineage
    }
}

/// One promotion asked for: a model at a source commit to an environment, with its passing gate report.
public struct PromotionRequest: Sendable {
    public var model: String
    public var environment: String
    public var sourceCommit: ObjectID
    /// The version to release; nil: the environment's current version when it already runs this commit,
    /// else `registeredVersion`, else the version another environment released this commit as, else the
    /// highest known version bumped by patch.
    public var version: String?
    public var registeredVersion: String?
    public var highestRegisteredVersion: String?
    /// Versions of the model already released anywhere (promotion history), with their source commits:
    /// a version is never given to two source commits.
    public var released: [(version: String, sourceCommit: String)] = []
    public var lineage: BuildLineage
    /// The gate report's JSON, exactly as stored in the note (its sha256 goes in the record).
    public var gateReport: String
    /// The rollout the environment's PromotionPolicy asks for, written into the record.
    public var rollout: RolloutSettings?

    public init(
        model: String, environment: String, sourceCommit: ObjectID, lineage: BuildLineage, gateReport: String,
        version: String? = nil, registeredVersion: String? = nil, highestRegisteredVersion: String? = nil
    ) {
        self.model = model
        self.environment = environment
        self.sourceCommit = sourceCommit
        self.lineage = lineage
        self.gateReport = gateReport
        self.version = version
        self.registeredVersion = registeredVersion
        self.highestRegisteredVersion = highestRegisteredVersion
    }
}

/// Writes promotions: the release record, the gate report and the environment's rendered manifests, as one
/// commit on the environment branch (no work tree), with the trailers of DESIGN.md §5.
public struct Promoter {
    public let repository: Repository
    public let config: ProjectConfig
    public let library: TemplateLibrary
    public var author: GitSignature?
    public var signer: CommitSigner?
    /// Runs once, between the first fetch and the first push (tests land a concurrent promotion there).
    var beforeFirstPush: (() throws -> Void)?

    public init(repository: Repository, config: ProjectConfig, library: TemplateLibrary) {
        self.repository = repository
        self.config = config
        self.library = library
    }

    /// A promotion computed against one tip of the environment branch.
    public struct Plan: Sendable {
        public var record: ReleaseRecord
        public var previous: ReleaseRecord?
        public var changes: [FileChange]
        /// Paths this promotion owns; a concurrent change to any of them is a conflict.
        public var owned: [String]
        public var message: String

        func owns(_ path: String) -> Bool {
            owned.contains { $0.hasSuffix("/") ? path.hasPrefix($0) : path == $0 }
        }
    }

    public enum Outcome: Sendable {
        /// The environment already runs exactly this: nothing was written.
        case unchanged(ReleaseRecord)
        case committed(commit: ObjectID, plan: Plan, attempts: Int)
    }

    public func branch(of environment: String) throws -> String {
        guard let branch = config.environments[environment]?.branch else {
            let known = config.environments.keys.sorted().joined(separator: ", ")
            throw GitOpsMLError.configuration(
                "environment '\(environment)' is not in gitops-ml.yaml (known: \(known.isEmpty ? "none" : known))",
                at: SourceLocation(file: ProjectConfig.fileName))
        }
        return branch
    }

    // MARK: Planning

    public func plan(_ request: PromotionRequest, tip: ObjectID?) throws -> Plan {
        try plan(request, tip: tip, in: repository)
    }

    /// The plan against `tip` as found in `store` (the repository holding the environment branch).
    func plan(_ request: PromotionRequest, tip: ObjectID?, in store: Repository) throws -> Plan {
        guard let model = config.models[request.model] else {
            throw GitOpsMLError.configuration(
                "model '\(request.model)' is not in gitops-ml.yaml", at: SourceLocation(file: ProjectConfig.fileName))
        }
        let environment = request.environment
        let releases = try records(environment, at: tip, in: store)
        let previous = releases[request.model]
        // The model's records in the other environments kept on this branch, as the tip has them.
        let branch = config.environments[environment]?.branch
        let siblings = try config.environments.values.filter { $0.branch == branch && $0.name != environment }
            .compactMap { try records($0.name, at: tip, in: store)[request.model] }
        let version = try chooseVersion(
            request, previous: previous,
            released: request.released + siblings.map { ($0.version, $0.sourceCommit) })

        var record = ReleaseRecord(
            model: request.model, environment: environment, version: version, sourceCommit: request.sourceCommit.hex)
        record.artifactPath = request.lineage.artifactPath
        record.artifactDigest = request.lineage.artifactDigest
        record.data = request.lineage.data
        record.paramsDigest = request.lineage.paramsDigest
        record.gateReport = ContentDigest.sha256(Array(request.gateReport.utf8))
        record.image = model.serving.image.map { image in
            image.contains("@sha256:") || (image.split(separator: "/").last ?? "").contains(":")
                ? image : "\(image):\(ReleaseRecord.tag(version))"
        }
        record.previousVersion = previous.flatMap { $0.version == version ? $0.previousVersion : $0.version }
        record.rollout = request.rollout

        var all = releases
        all[request.model] = record
        let renderer = Renderer(config: config, library: library)
        let folder = "deploy/\(environment)/\(request.model)/"
        let rendered = try renderer.manifests(environment: environment, releases: all, only: Set(all.keys))
            .filter { $0.path == "deploy/\(environment)/kustomization.yaml" || $0.path.hasPrefix(folder) }
        let recordPath = ReleaseRecord.path(environment: environment, model: request.model)
        let reportPath = "environments/\(environment)/\(request.model).gate-report.json"
        var changes = [
            FileChange(path: recordPath, contents: Array(record.yaml.utf8)),
            FileChange(path: reportPath, contents: Array(request.gateReport.utf8)),
        ]
        changes += rendered.map { FileChange(path: $0.path, contents: Array($0.contents.utf8)) }
        // Files a previous render left in the model's folder (a canary since switched off) go away.
        if let tip {
            let current = Set(rendered.map(\.path))
            for entry in (try? store.listTree(at: tip.hex, path: String(folder.dropLast()))) ?? []
            where entry.kind == .blob && !current.contains(folder + entry.name) {
                changes.append(FileChange(path: folder + entry.name, contents: nil))
            }
        }
        return Plan(
            record: record, previous: previous, changes: changes, owned: [recordPath, reportPath, folder],
            message: message(record, previous: previous))
    }

    /// The release records on the environment branch at `tip`, by model, for the models this project has.
    func records(_ environment: String, at tip: ObjectID?, in store: Repository) throws -> [String: ReleaseRecord] {
        try EnvironmentReleases.read(environment, at: tip, in: store).filter { config.models[$0.key] != nil }
    }

    func chooseVersion(
        _ request: PromotionRequest, previous: ReleaseRecord?, released: [(version: String, sourceCommit: String)] = []
    ) throws -> String {
        if let version = request.version {
            guard SemVer(version) != nil else { throw Registry.Failure.invalidVersion(version) }
            guard version.utf8.count <= 63 else {
                throw GitOpsMLError.usage(
                    "version \(version) has \(version.utf8.count) characters; at most 63 (it becomes a Kubernetes label)"
                )
            }
            return version
        }
        if let previous, previous.sourceCommit == request.sourceCommit.hex { return previous.version }
        if let registered = request.registeredVersion { return registered }
        if let same = released.last(where: { $0.sourceCommit == request.sourceCommit.hex && SemVer($0.version) != nil })
        {
            return same.version
        }
        let known = ([previous?.version, request.highestRegisteredVersion] + released.map(\.version))
            .compactMap { $0.flatMap { SemVer($0) } }
        return known.max().map { $0.bumped(.patch).description } ?? "v0.0.1"
    }

    /// `promote(churn): v1.4.0 to production` and the lineage trailers.
    func message(_ record: ReleaseRecord, previous: ReleaseRecord?) -> String {
        var trailers = [
            Trailer.line(Trailer.model, record.model), Trailer.line(Trailer.version, record.version),
            Trailer.line(Trailer.environment, record.environment),
            Trailer.line(Trailer.sourceCommit, record.sourceCommit),
        ]
        if let artifact = record.artifactDigest { trailers.append(Trailer.line(Trailer.artifact, artifact)) }
        if !record.data.isEmpty {
            trailers.append(
                Trailer.line(
                    Trailer.data,
                    record.data.keys.sorted().map { "\($0)=\(record.data[$0] ?? "")" }.joined(separator: "; ")))
        }
        if let params = record.paramsDigest { trailers.append(Trailer.line(Trailer.params, params)) }
        if let report = record.gateReport { trailers.append(Trailer.line(Trailer.gateReport, report)) }
        if let previousVersion = record.previousVersion {
            trailers.append(Trailer.line(Trailer.previousVersion, previousVersion))
        }
        let summary = "promote(\(record.model)): \(record.version) to \(record.environment)"
        let body =
            previous.map { "Replaces \($0.version) (source \($0.sourceCommit.prefix(12))).\n\n" }
            ?? "First release of \(record.model) in \(record.environment).\n\n"
        return summary + "\n\n" + body + trailers.joined(separator: "\n") + "\n"
    }

    // MARK: Committing

    /// Commits on the local environment branch by compare-and-swap, planning again if the branch moved.
    public func promoteLocally(_ request: PromotionRequest, attempts: Int = 5) throws -> Outcome {
        let branch = "refs/heads/" + (try self.branch(of: request.environment))
        for attempt in 1...attempts {
            let tip = try repository.referenceTarget(branch)
            let plan = try plan(request, tip: tip)
            guard
                let commit = try repository.writeCommit(
                    parent: tip, changes: plan.changes, message: plan.message, author: author,
                    sign: signer.map { signer in { try signer.sign($0) } })
            else { return .unchanged(plan.previous ?? plan.record) }
            do {
                try repository.updateReference(branch, to: commit, expected: tip, logMessage: "gitops-ml: promote")
                return .committed(commit: commit, plan: plan, attempts: attempt)
            } catch let error as GitError where error.code == .referenceMoved || error.code == .referenceExists {
                continue
            }
        }
        throw PromotionFailure.tooManyAttempts(attempts)
    }

    /// The diff the promotion would make against the environment branch's tip, without writing anything.
    public func preview(_ request: PromotionRequest, tip: ObjectID?) throws -> (plan: Plan, diff: String) {
        let plan = try plan(request, tip: tip)
        var diff = ""
        for change in plan.changes {
            let old = try tip.flatMap { try repository.read(change.path, at: .git($0.hex)) }
            let oldText = old.map { String(decoding: $0, as: UTF8.self) }
            let newText = change.contents.map { String(decoding: $0, as: UTF8.self) }
            guard oldText != newText else { continue }
            diff += LineDiff.unified(
                old: oldText ?? "", new: newText ?? "", oldName: oldText == nil ? "/dev/null" : "a/\(change.path)",
                newName: newText == nil ? "/dev/null" : "b/\(change.path)")
        }
        return (plan, diff)
    }
}

public enum PromotionFailure: CategorizedError, Equatable {
    case tooManyAttempts(Int)
    case conflict(paths: [String], environment: String)
    case noGateReport(commit: String)
    case gateReportFailed(commit: String, verdict: String)
    case gateReportForAnotherCommit(commit: String, reportCommit: String)
    case branchExists(String)

    public var category: ErrorCategory { .checkFailed }

    public var description: String {
        switch self {
        case .tooManyAttempts(let count):
            return "the environment branch kept moving: gave up after \(count) attempts (nothing was written)"
        case .conflict(let paths, let environment):
            return
                "a concurrent change to \(environment) touched \(paths.joined(separator: ", ")), which this promotion also changes; nothing was written: promote again on the new state"
        case .noGateReport(let commit):
            return
                "no gate report for \(commit.prefix(12)) (refs/notes/gitops-ml): run `gitops-ml check` on it, or promote with --run-checks"
        case .gateReportFailed(let commit, let verdict):
            return "the gate report of \(commit.prefix(12)) says \(verdict): a failing change is not promoted"
        case .gateReportForAnotherCommit(let commit, let reportCommit):
            return
                "the gate report on \(commit.prefix(12)) was made for \(reportCommit.prefix(12)), not for this commit"
        case .branchExists(let branch):
            return "\(branch) already exists on the remote: this promotion was already proposed"
        }
    }
}
