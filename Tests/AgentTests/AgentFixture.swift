import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import TestSupport

@testable import Agent

/// The example project pushed to a bare `origin`, an environment branch `gitops` promoted to by hand
/// (release records written as `promote` writes them), and an agent.yaml following it with the local
/// target on a free port.
final class AgentFixture {
    let temp: TemporaryDirectory
    let project: String
    let origin: String
    let work: String
    let port = TestPorts.reserve()
    var config: AgentConfig

    init(_ name: String, deadline: Double = 20) throws {
        temp = TemporaryDirectory(name)
        project = temp.path + "/churn"
        origin = temp.path + "/origin.git"
        work = temp.path + "/gitops-work"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        // A model expecting a feature no request has: it starts, and answers every prediction with 400.
        try git("checkout", "-q", "-b", "broken", "main", in: project)
        let modelFile = project + "/model/model.json"
        var broken =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: modelFile)))
            as? [String: Any] ?? [:]
        broken["numeric"] = (broken["numeric"] as? [String] ?? []) + ["mystery"]
        try JSONSerialization.data(withJSONObject: broken).write(to: URL(fileURLWithPath: modelFile))
        _ = try commitFiles([:], message: "A model that cannot predict", in: project)
        try git("checkout", "-q", "main", in: project)
        _ = try run(["git", "clone", "-q", "--bare", project, origin])
        _ = try run(["git", "clone", "-q", origin, work])
        try git("config", "user.name", "Promoter", in: work)
        try git("config", "user.email", "promoter@example.com", in: work)
        try git("checkout", "-q", "--orphan", "gitops", in: work)
        try git("rm", "-rq", "--cached", ".", in: work)
        try run(["bash", "-c", "find . -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +"], in: work)

        var environment = AgentConfig.Environment(
            name: "local", branch: "gitops", namespace: "churn-local", target: .local, port: port)
        var probe = AgentConfig.Health.Probe(path: "/readyz")
        probe.period = 0.1
        probe.failureThreshold = 100
        environment.health = AgentConfig.Health(
            deadline: deadline, probes: [probe],
            smoke: .init(
                sample: "smoke.json", requiredFields: ["predictions.0.churn_probability", "model_version"],
                latencyBudget: 30))
        config = AgentConfig(repository: origin, environments: [environment], interval: 1)
        config.stateDirectory = temp.path + "/state"
    }

    /// Promotes `revision` of the ML repository as `version`: a release record on `gitops`, pushed.
    @discardableResult
    func promote(_ revision: String, version: String, rollout: RolloutSettings? = nil) throws -> String {
        let source = try git("rev-parse", revision, in: project)
        let repository = try Repository(at: project)
        let digest = try DataResolver.identity("model/model.json", in: try repository.fileView(.git(source)))
        _ = try? git("pull", "-q", "--ff-only", "origin", "gitops", in: work)
        var record = ReleaseRecord(model: "churn", environment: "local", version: version, sourceCommit: source)
        record.artifactPath = "model/model.json"
        record.artifactDigest = digest
        record.rollout = rollout
        try write(record.yaml, to: ReleaseRecord.path(environment: "local", model: "churn"), in: work)
        _ = try run(["git", "add", "-A"], in: work)
        _ = try run(
            ["git", "commit", "-q", "-m", "Promote churn \(version) to local", "-m", "Gitops-Ml-Model: churn"],
            in: work)
        _ = try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: work)
        return try git("rev-parse", "HEAD", in: work)
    }

    func originTip() throws -> String { try git("rev-parse", "gitops", in: origin) }

    /// An agent on this fixture that applied `main` as v1.0.0, and that commit: where a fault test starts.
    func agentServingFirstRelease() throws -> (agent: Reconciler, first: String) {
        let agent = try Reconciler(config: config, options: options())
        let first = try promote("main", version: "v1.0.0")
        let result = agent.pass()["local"]
        guard result == .applied(first) else {
            agent.shutdown()
            throw CommandFailed(description: "the first release was not applied: \(String(describing: result))")
        }
        return (agent, first)
    }

    /// The first release applied by an agent that is then shut down (its server stopped with it): where a
    /// restart test starts. Returns the release's commit.
    func firstReleaseAppliedThenStopped() throws -> String {
        let (agent, first) = try agentServingFirstRelease()
        agent.shutdown()
        return first
    }

    /// The version the server on the port says it serves; nil when nothing answers.
    func serving() -> String? {
        guard let answer = try? HTTPClient.perform(HTTPRequest("GET", "http://127.0.0.1:\(port)/readyz", timeout: 2)),
            let object = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        else { return nil }
        return object["version"] as? String
    }

    func options() -> Reconciler.Options {
        var options = Reconciler.Options(remote: origin, credentials: RemoteCredentials())
        options.author = GitSignature(name: "gitops-ml agent", email: "agent@example.com")
        options.agent = "gitops-ml test agent"
        options.grace = 2
        options.restartBackoff = Backoff(initial: 0.2, maximum: 1)
        return options
    }
}
