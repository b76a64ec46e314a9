import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// What the local target runs for one commit of the environment branch: the environment's release, its
/// source files and artifact on this host, and the serving settings of `gitops-ml.yaml` at its source
/// commit. Built from git alone; any gap (no release, an artifact whose digest differs, no serving command)
/// is an error naming the file, and nothing is started.
public struct LocalDeployment: Sendable {
    public var record: ReleaseRecord
    public var release: LocalTarget.Release
    public var healthPath: String
    public var predictPath: String
    /// The smoke prediction's request body, when the environment names a sample.
    public var sample: [UInt8]?

    /// The folders under the state directory this is built in.
    public struct Places: Sendable {
        public var state: String
        var sources: String { state + "/sources" }
        var artifacts: String { state + "/artifacts" }
        var logs: String { state + "/logs" }

        public init(state: String) { self.state = state }
    }

    /// `port`: where the server listens (an upstream behind the rollout proxy); nil: the environment's
    /// stable port, else the model's serving port.
    public init(
        environment: AgentConfig.Environment, commit: ObjectID, in repository: Repository, places: Places,
        stores: DataStores, port: Int? = nil
    ) throws {
        let releases = try EnvironmentReleases.read(environment.name, at: commit, in: repository)
        guard releases.count == 1, let record = releases.values.first else {
            let names = releases.keys.sorted().joined(separator: ", ")
            throw GitOpsMLError.configuration(
                releases.isEmpty
                    ? "no release in environments/\(environment.name)/ at \(commit.short): nothing to run"
                    : "the local target runs one model; environments/\(environment.name)/ has \(names)",
                at: SourceLocation(file: "environments/\(environment.name)/"))
        }
        // The version reaches the serving command ($(GITOPS_ML_MODEL_VERSION)) and the server's environment:
        // only what promote writes, a semantic version, is taken from a record; anything else is data.
        guard SemVer(record.version) != nil else {
            throw GitOpsMLError.configuration(
                "the release of \(record.model) has version \(Redaction.quoted(record.version)), "
                    + "not a semantic version (v1.2.3): refused",
                at: SourceLocation(file: ReleaseRecord.path(environment: environment.name, model: record.model)))
        }
        let source = ObjectID(hex: record.sourceCommit)
        let file = "\(ProjectConfig.fileName) (at \(source.short))"
        guard (try? repository.commit(source.hex)) != nil else {
            throw GitOpsMLError.configuration(
                "the source commit \(record.sourceCommit) of \(record.model) \(record.version) is not on any branch of the repository"
            )
        }
        guard let configBytes = try repository.read(ProjectConfig.fileName, at: .git(source.hex)) else {
            throw GitOpsMLError.configuration("\(file) is missing")
        }
        let project = try ProjectConfig.parse(configBytes, file: file)
        guard let model = project.models[record.model] else {
            throw GitOpsMLError.configuration("no model \(record.model)", at: SourceLocation(file: file))
        }
        guard !model.serving.command.isEmpty else {
            throw GitOpsMLError.configuration(
                "models.\(record.model).serving.command is empty: the local target has nothing to run",
                at: SourceLocation(file: file))
        }
        guard let artifactPath = record.artifactPath ?? model.artifact else {
            throw GitOpsMLError.configuration(
                "the release of \(record.model) names no artifact", at: SourceLocation(file: file))
        }
        let view = try repository.fileView(.git(source.hex))
        let modelPath = try ArtifactStore(root: places.artifacts).materialize(
            model: record.model, path: artifactPath, digest: record.artifactDigest, in: view, stores: stores)
        let folder = try SourceCheckout(root: places.sources).folder(for: source, in: repository)
        try FileManager.default.createDirectory(atPath: places.logs, withIntermediateDirectories: true)

        var launch = ServerLaunch(
            arguments: model.serving.command, directory: folder, modelPath: modelPath,
            port: port ?? environment.port ?? model.serving.port, version: record.version,
            logPath: "\(places.logs)/\(environment.name).log")
        launch.environment["GITOPS_ML_MODEL"] = record.model
        launch.environment[LocalDeployment.ownerVariable] = places.state
        launch.arguments = launch.arguments.map { Self.expand($0, with: launch.environment) }

        if let sample = environment.health.smoke?.sample {
            let clean = try RepositoryPath.clean(sample)
            guard let bytes = try repository.read(clean, at: .git(source.hex)) else {
                throw GitOpsMLError.configuration(
                    "the smoke sample \(clean) is not in \(source.short)", at: SourceLocation(file: "agent.yaml"))
            }
            self.sample = bytes
        }
        self.record = record
        release = LocalTarget.Release(commit: commit.hex, launch: launch)
        healthPath = model.serving.healthPath
        predictPath = model.serving.predictPath
    }

    /// Marks a server as this agent's (its state directory), so a restarted agent finds what its killed
    /// predecessor left running.
    public static let ownerVariable = "GITOPS_ML_AGENT_STATE"

    /// Kubernetes' expansion of container arguments: `$(NAME)` becomes the variable's value when it is set
    /// (left as it is otherwise), `$$` a literal `$`. The same command then runs in a pod and on this host.
    static func expand(_ argument: String, with environment: [String: String]) -> String {
        var result = ""
        var rest = Substring(argument)
        while let dollar = rest.firstIndex(of: "$") {
            result += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                result += "$"
                rest = after.dropFirst()
            } else if after.hasPrefix("("), let close = after.firstIndex(of: ")"),
                let value = environment[String(after[after.index(after: after.startIndex)..<close])]
            {
                result += value
                rest = after[after.index(after: close)...]
            } else {
                result += "$"
                rest = after
            }
        }
        return result + rest
    }
}
