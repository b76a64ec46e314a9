import Config
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Kubernetes
import Promotion
import TestSupport
import Testing

@testable import Agent

/// Routed rollouts on a cluster: the agent moves a Gateway API HTTPRoute's weights by server-side apply on
/// the API stand-in as its analysis decides, on outcomes a real Prometheus scrapes from a stand-in for the
/// gateway and its model servers (which serves as the route the agent applied says, and fails as each
/// track's image says).
@Suite("Routed rollouts on a cluster", .serialized)
struct KubernetesRolloutTests {
    static let namespace = "churn-staging"
    static let routePath = "/apis/gateway.networking.k8s.io/v1/namespaces/churn-staging/httproutes/churn"

    /// The cluster, Prometheus and the traffic, and an agent following `gitops` with a canary policy.
    final class World {
        let api: FakeKubernetesAPI
        let fixture: AgentFixture
        let traffic: ChildProcess
        let prometheus: ScrapingPrometheus
        let agent: Reconciler

        init(_ name: String, policy: String, prometheusURL: String? = nil) throws {
            api = try FakeKubernetesAPI()
            fixture = try AgentFixture(name)
            // The Gateway API is installed in the cluster (its CRD), and the environment's namespace exists.
            let crd: [String: Any] = [
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": ["name": "httproutes.gateway.networking.k8s.io"],
                "spec": [
                    "group": "gateway.networking.k8s.io", "scope": "Namespaced",
                    "names": ["plural": "httproutes", "kind": "HTTPRoute"], "versions": [["name": "v1"]],
                ],
            ]
            for (path, object) in [
                ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/httproutes.gateway.networking.k8s.io", crd),
                (
                    "/api/v1/namespaces/\(KubernetesRolloutTests.namespace)",
                    ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": KubernetesRolloutTests.namespace]]
                ),
            ] {
                #expect(
                    try api.send(
                        "PATCH", path + "?fieldManager=gitops-ml&force=true", object,
                        contentType: "application/apply-patch+yaml") == 200)
            }
            let portFile = fixture.temp.path + "/traffic.port"
            traffic = try Subprocess.start(
                [
                    "python3", packageRoot + "/Tests/Fixtures/routed_traffic.py", api.server, api.token,
                    api.certificate, KubernetesRolloutTests.namespace, "churn", "400", portFile,
                ], stdoutPath: fixture.temp.path + "/traffic.log", stderrPath: fixture.temp.path + "/traffic.log")
            var port: String?
            for _ in 0..<200 where port == nil {
                port = try? String(contentsOfFile: portFile, encoding: .utf8)
                if port == nil { usleep(25_000) }
            }
            prometheus = try ScrapingPrometheus(
                target: "127.0.0.1:\(port ?? "0")", job: "model-servers", in: fixture.temp.path + "/prometheus",
                prometheus: try requireTool("prometheus"))

            try write(policy, to: "policies/live-rollout.yaml", in: fixture.project)
            _ = try commitFiles([:], message: "Staging rolls out as a canary", in: fixture.project)
            try git("push", "-q", fixture.origin, "main", in: fixture.project)
            var environment = AgentConfig.Environment(
                name: "staging", branch: "gitops", namespace: KubernetesRolloutTests.namespace, target: .kubernetes,
                health: AgentConfig.Health(deadline: 10))
            var query = AgentConfig.OutcomeQuery(url: prometheusURL ?? "http://127.0.0.1:\(prometheus.port)")
            query.every = 1
            environment.prometheus = query
            fixture.config.environments = [environment]
            var options = fixture.options()
            options.kubernetes = api.access
            options.rolloutPeriod = 0.05
            agent = try Reconciler(config: fixture.config, options: options)
        }

        deinit {
            agent.shutdown()
            _ = traffic.terminate(grace: 2)
        }

        /// Commits `deploy/staging` for `images` (the stable track's, then the canary's when routed) and a
        /// release record, and pushes; the commit.
        func release(_ version: String, stable: String, canary: String? = nil) throws -> String {
            _ = try? git("pull", "-q", "--ff-only", "origin", "gitops", in: fixture.work)
            let folder = "deploy/staging"
            _ = try? run(["git", "rm", "-rq", "--ignore-unmatch", folder], in: fixture.work)
            var resources = ["deployment.yaml", "service.yaml"]
            try put(Self.deployment("churn", track: "stable", image: stable), to: "\(folder)/deployment.yaml")
            try put(Self.service("churn", track: nil), to: "\(folder)/service.yaml")
            if let canary {
                resources += ["deployment-canary.yaml", "service-stable.yaml", "service-canary.yaml", "httproute.yaml"]
                try put(
                    Self.deployment("churn-canary", track: "canary", image: canary),
                    to: "\(folder)/deployment-canary.yaml")
                try put(Self.service("churn-stable", track: "stable"), to: "\(folder)/service-stable.yaml")
                try put(Self.service("churn-canary", track: "canary"), to: "\(folder)/service-canary.yaml")
                try put(Self.route, to: "\(folder)/httproute.yaml")
            }
            try put(
                "resources: [\(resources.joined(separator: ", "))]\n", to: "\(folder)/kustomization.yaml")
            let record = ReleaseRecord(
                model: "churn", environment: "staging", version: version,
                sourceCommit: try git("rev-parse", "main", in: fixture.project))
            try put(record.yaml, to: "environments/staging/churn.yaml")
            _ = try run(["git", "add", "-A"], in: fixture.work)
            _ = try run(["git", "commit", "-q", "-m", "Promote churn \(version) to staging"], in: fixture.work)
            _ = try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: fixture.work)
            return try git("rev-parse", "HEAD", in: fixture.work)
        }

        private func put(_ text: String, to path: String) throws {
            try write(text, to: path, in: fixture.work)
        }

        /// Every route the agent applied for real, in order: the canary's weight, and whether it mirrors.
        func appliedRoutes() -> [(canary: Int, mirror: Bool)] {
            api.requests().filter {
                $0["method"] as? String == "PATCH" && ($0["path"] as? String)?.contains("/httproutes/") == true
                    && ($0["path"] as? String)?.contains("dryRun=All") == false
            }.compactMap { ($0["body"] as? [String: Any]).flatMap(TrafficRoute.weights) }.map { ($0.canary, $0.mirror) }
        }

        func appliedCanaryWeights() -> [Int] { appliedRoutes().map(\.canary) }

        static func deployment(_ name: String, track: String, image: String) -> String {
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: \(name)
              namespace: churn-staging
              labels: {gitops-ml.dev/model: churn, gitops-ml.dev/track: \(track)}
            spec:
              replicas: 2
              selector: {matchLabels: {app: churn, gitops-ml.dev/track: \(track)}}
              template:
                metadata: {labels: {app: churn, gitops-ml.dev/track: \(track)}}
                spec:
                  containers: [{name: server, image: "\(image)"}]

            """
        }

        static func service(_ name: String, track: String?) -> String {
            """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name), namespace: churn-staging, labels: {gitops-ml.dev/model: churn}}
            spec:
              selector: {app: churn\(track.map { ", gitops-ml.dev/track: \($0)" } ?? "")}
              ports: [{name: http, port: 80, targetPort: 8080}]

            """
        }

        /// As `generate manifests` renders it for a canary: git holds the first step.
        static let route = """
            apiVersion: gateway.networking.k8s.io/v1
            kind: HTTPRoute
            metadata:
              name: churn
              namespace: churn-staging
              labels: {gitops-ml.dev/model: churn, gitops-ml.dev/rollout: canary}
            spec:
              parentRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: public, namespace: gateways}]
              rules:
                - matches: [{path: {type: PathPrefix, value: /}}]
                  backendRefs:
                    - {kind: Service, name: churn-stable, port: 80, weight: 90}
                    - {kind: Service, name: churn-canary, port: 80, weight: 10}

            """
    }

    static let canaryPolicy = """
        apiVersion: gitops-ml/v1
        kind: PromotionPolicy
        metadata: {name: live-rollout}
        spec:
          environments:
            staging:
              rollout:
                strategy: canary
                steps: [10, 50, 100]
                min_requests: 150
                errors: 0.05
                latency: {objective: 250ms, margin: 0.1}
                max_duration: 2m

        """

    @Test(.enabled(if: toolsAvailable("prometheus"), "needs Debian's prometheus (make test installs it)"))
    func aWorseCanaryIsRoutedBackAndRevertedAndAGoodOneStepsToEveryRequest() throws {
        let world = try World("kube-canary", policy: Self.canaryPolicy)
        let first = try world.release("v1.0.0", stable: "ghcr.io/example/churn:v1.0.0")
        #expect(world.agent.pass()["staging"] == .applied(first))
        #expect(try world.api.object(Self.routePath) == nil)

        // v1.1 fails 30 % of live requests: at its first step (10 %) the route goes back to the stable
        // track, the release before is applied again (the route and the canary track pruned), and git says so.
        let bad = try world.release(
            "v1.1.0", stable: "ghcr.io/example/churn:v1.0.0", canary: "ghcr.io/example/churn:v1.1.0-worse")
        let result = world.agent.pass()["staging"]
        #expect(result == .rolledBack(failed: bad, restored: first), "\(String(describing: result))")
        #expect(world.appliedCanaryWeights() == [10, 0], "\(world.appliedCanaryWeights())")
        #expect(try world.api.object(Self.routePath) == nil, "the route left with the release")
        let message = try git("log", "-1", "--format=%B", try world.fixture.originTip(), in: world.fixture.origin)
        #expect(message.contains("Gitops-Ml-Rollback-Of: \(bad)"), "\(message)")
        #expect(message.contains("churn: canary on Prometheus's counts: observation"), "\(message)")
        #expect(message.contains("roll back at 10 %; errors: challenger"), "\(message)")
        let remote = try Repository(at: world.fixture.origin, discover: false)
        let analysis = try #require(
            try DeploymentNotes.records(for: ObjectID(hex: bad), in: remote).first?.checks.first {
                $0.name == "rollout analysis"
            })
        #expect(analysis.status == "Degraded" && analysis.reason.contains("errors: challenger"), "\(analysis)")
        // Every read of the counters was written: replayed, they give the same decision at the same observation.
        let outcomes = world.fixture.config.stateDirectory + "/rollout-staging.jsonl"
        var settings = RolloutSettings(strategy: .canary)
        (settings.steps, settings.minimumRequests, settings.errorsMargin) = ([10, 50, 100], 150, 0.05)
        settings.latency = (0.25, 0.1)
        let replay = RolloutReplay.run(
            try OutcomeRecord.read(Array(try Data(contentsOf: URL(fileURLWithPath: outcomes))), file: outcomes),
            settings: settings, model: "churn")
        let decided = try #require(replay.events.last)
        #expect(replay.decision == "roll-back", "\(replay.text)")
        #expect(analysis.reason.contains("observation \(decided.observation): roll back at 10 %"), "\(replay.text)")
        // The revert commit holds what runs again: applied as such, with no route to move.
        let revert = try world.fixture.originTip()
        #expect(world.agent.pass()["staging"] == .applied(revert))
        #expect(world.appliedCanaryWeights() == [10, 0])

        // v1.2 is as good as v1.0: 10 → 50 → 100 %, and the release that serves keeps every request on its
        // new track at the next passes (git's first step is not drift to correct).
        let good = try world.release(
            "v1.2.0", stable: "ghcr.io/example/churn:v1.0.0", canary: "ghcr.io/example/churn:v1.2.0")
        #expect(world.agent.pass()["staging"] == .applied(good))
        #expect(world.appliedCanaryWeights() == [10, 0, 10, 50, 100], "\(world.appliedCanaryWeights())")
        // What /status and /metrics show: the decision, the steps and the evidence.
        let progress = try #require(world.agent.rolloutBoard.all["staging"])
        #expect(progress.events.map(\.action) == [.advance, .complete] && progress.percent == 100, "\(progress)")
        #expect(progress.text.contains("advance from 10 % to 50 %"), "\(progress.text)")
        let live = try #require(try world.api.object(Self.routePath))
        #expect(TrafficRoute.weights(live).map { [$0.stable, $0.canary] } == [0, 100])
        #expect(world.agent.pass()["staging"] == .synced(good))
        #expect(world.appliedCanaryWeights().count == 5, "a pass with nothing new moves no route")
        let note = try #require(
            try DeploymentNotes.records(for: ObjectID(hex: good), in: remote).first?.checks.first {
                $0.name == "rollout analysis"
            })
        #expect(note.status == "Healthy" && note.reason.contains("complete at 100 %"), "\(note)")
    }

    /// Prometheus does not answer (down, a wrong address): no evidence is no verdict, and when the budget
    /// is spent undecided the policy's `on_budget` (roll back by default) decides, saying why.
    @Test(.enabled(if: toolsAvailable("prometheus"), "needs Debian's prometheus (make test installs it)"))
    func withoutPrometheusTheBudgetDecides() throws {
        let policy = Self.canaryPolicy.replacingOccurrences(of: "max_duration: 2m", with: "max_duration: 3s")
        let world = try World(
            "kube-no-prometheus", policy: policy, prometheusURL: "http://127.0.0.1:\(TestPorts.reserve())")
        let first = try world.release("v1.0.0", stable: "ghcr.io/example/churn:v1.0.0")
        #expect(world.agent.pass()["staging"] == .applied(first))
        let next = try world.release(
            "v1.1.0", stable: "ghcr.io/example/churn:v1.0.0", canary: "ghcr.io/example/churn:v1.1.0")
        let result = world.agent.pass()["staging"]
        #expect(result == .rolledBack(failed: next, restored: first), "\(String(describing: result))")
        #expect(world.appliedCanaryWeights() == [10, 0])
        let message = try git("log", "-1", "--format=%B", try world.fixture.originTip(), in: world.fixture.origin)
        #expect(message.contains("budget spent undecided at 10 %: roll back"), "\(message)")
        #expect(message.contains("last read failed"), "\(message)")
    }

    /// A shadow gets a copy of every request (the gateway's RequestMirror) and answers nobody: one slower
    /// than the latency objective on 40 % of them is rolled back without a client having waited on it.
    @Test(.enabled(if: toolsAvailable("prometheus"), "needs Debian's prometheus (make test installs it)"))
    func aSlowShadowIsJudgedOnMirroredRequestsAndRolledBack() throws {
        let policy = Self.canaryPolicy.replacingOccurrences(of: "strategy: canary", with: "strategy: shadow")
            .replacingOccurrences(of: "                steps: [10, 50, 100]\n", with: "")
        let world = try World("kube-shadow", policy: policy)
        let first = try world.release("v1.0.0", stable: "ghcr.io/example/churn:v1.0.0")
        #expect(world.agent.pass()["staging"] == .applied(first))
        let slow = try world.release(
            "v1.1.0", stable: "ghcr.io/example/churn:v1.0.0", canary: "ghcr.io/example/churn:v1.1.0-slow")
        let result = world.agent.pass()["staging"]
        #expect(result == .rolledBack(failed: slow, restored: first), "\(String(describing: result))")
        let routes = world.appliedRoutes()
        // Mirrored, no request answered by the shadow; then nothing mirrored before the release is undone.
        #expect(routes.map(\.canary) == [0, 0] && routes.map(\.mirror) == [true, false], "\(routes)")
        let message = try git("log", "-1", "--format=%B", try world.fixture.originTip(), in: world.fixture.origin)
        #expect(message.contains("shadow on Prometheus's counts"), "\(message)")
        #expect(message.contains("latency: challenger"), "\(message)")
    }
}

/// Counters become observations without an order that decides sooner than the evidence; Prometheus's
/// answers are read as its HTTP API gives them, and what is not an answer is an error naming the query.
@Suite("Outcomes counted by Prometheus")
struct CountedOutcomesTests {
    @Test func countsSinceTheLastReadAreInterleavedAndSpread() {
        var counted = CountedOutcomes()
        #expect(counted.observations(["stable": TrackCounts(requests: 50)], time: 0, latency: false).isEmpty)
        let observations = counted.observations(
            [
                "stable": TrackCounts(requests: 140, errors: 9, slow: 0),
                "canary": TrackCounts(requests: 10, errors: 5, slow: 2),
            ], time: 1, latency: true)
        #expect(observations.filter { $0.version == .champion }.count == 90)
        #expect(observations.filter { $0.version == .challenger }.count == 10)
        #expect(observations.filter { $0.version == .challenger }.map { $0.values["errors"] ?? -1 }.reduce(0, +) == 5)
        #expect(observations.filter { $0.version == .champion }.map { $0.values["errors"] ?? -1 }.reduce(0, +) == 9)
        #expect(observations.filter { $0.version == .challenger }.map { $0.values["latency"] ?? -1 }.reduce(0, +) == 2)
        // Interleaved: the first tenth of the requests holds one of the canary's, not all of them.
        #expect(observations.prefix(10).filter { $0.version == .challenger }.count == 1)
        // Spread: the canary's five errors are not its first five requests.
        let canaryErrors = observations.filter { $0.version == .challenger }.map { $0.values["errors"] ?? 0 }
        #expect(canaryErrors != [1, 1, 1, 1, 1, 0, 0, 0, 0, 0], "\(canaryErrors)")
        // A counter that went down was reset (a pod restarted): what it counts now is all new.
        let reset = counted.observations(
            ["stable": TrackCounts(requests: 150, errors: 9), "canary": TrackCounts(requests: 4, errors: 0)],
            time: 2, latency: false)
        #expect(reset.filter { $0.version == .challenger }.count == 4)
        #expect(reset.filter { $0.version == .champion }.count == 10)
        // A busy interval (ten million requests) is taken at the same rates within the bound; a value that
        // is not a number counts nothing.
        let busy = counted.observations(
            [
                "stable": TrackCounts(requests: 9_000_150, errors: 90_009),
                "canary": TrackCounts(requests: 1_000_004, errors: .nan),
            ], time: 3, latency: false)
        #expect(busy.count == CountedOutcomes.maximumPerRead, "\(busy.count)")
        let champion = busy.filter { $0.version == .champion }
        #expect(champion.count == 45_000 && champion.map { $0.values["errors"] ?? 0 }.reduce(0, +) == 450)
        #expect(busy.filter { $0.version == .challenger }.allSatisfy { $0.values["errors"] == 0 })
    }

    static func answering(_ status: Int, _ body: String) -> PrometheusOutcomes {
        var query = AgentConfig.OutcomeQuery(url: "http://prometheus.test/")
        query.trackLabel = "pod_track"
        return PrometheusOutcomes(
            query: query, namespace: "ml",
            transport: { request in
                #expect(request.url.hasPrefix("http://prometheus.test/api/v1/query?query="))
                let expression =
                    request.url.split(separator: "=", maxSplits: 1).last.map(String.init)?
                    .removingPercentEncoding ?? ""
                #expect(expression.contains(#"model="churn",namespace="ml""#), "\(expression)")
                let answer =
                    expression.contains("bucket")
                    ? #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod_track":"canary","le":"0.1"},"value":[1,"40"]},{"metric":{"pod_track":"canary","le":"0.25"},"value":[1,"90"]},{"metric":{"pod_track":"canary","le":"+Inf"},"value":[1,"100"]}]}}"#
                    : body
                return HTTPResponse(status: status, headers: [:], body: Array(answer.utf8), duration: 0)
            })
    }

    @Test func prometheusAnswersAreSummedPerTrackAndTheObjectivesBucketGivesTheSlowOnes() throws {
        let outcomes = Self.answering(
            200,
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod_track":"canary","code":"200"},"value":[1,"97"]},{"metric":{"pod_track":"canary","code":"503"},"value":[1,"3"]},{"metric":{"pod_track":"stable","code":"200"},"value":[1,"900"]}]}}"#
        )
        let counts = try outcomes.counts(model: "churn", objective: 0.25)
        #expect(counts["canary"] == TrackCounts(requests: 100, errors: 3, slow: 10))
        #expect(counts["stable"]?.requests == 900 && counts["stable"]?.errors == 0)
        // An objective between two buckets counts from the bucket below it.
        #expect(try outcomes.counts(model: "churn", objective: 0.2)["canary"]?.slow == 60)
    }

    @Test(arguments: [
        (503, #"{"status":"error","errorType":"unavailable"}"#, "answered HTTP 503"),
        (200, "<html>proxy login</html>", "answered an answer that is not a query result"),
    ])
    func whatIsNotAQueryResultIsAnErrorNamingTheQuery(status: Int, body: String, message: String) {
        do {
            _ = try Self.answering(status, body).counts(model: "churn", objective: nil)
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains(message) && "\(error)".contains("gitops_ml_requests_total"), "\(error)")
        }
    }
}
