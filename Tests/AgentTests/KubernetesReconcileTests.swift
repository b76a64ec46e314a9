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

/// The reconcile pass with the kubernetes target: deploy, a rollout that exceeds its progress deadline
/// rolled back (the previous manifests applied again, a revert commit pushed), and pruning.
@Suite("The reconcile pass on a cluster", .serialized)
struct KubernetesReconcileTests {
    @Test func deploysRollsBackAndPrunes() throws {
        let api = try FakeKubernetesAPI()
        let fixture = try AgentFixture("kube-reconcile")
        fixture.config.environments = [
            AgentConfig.Environment(
                name: "staging", branch: "gitops", namespace: "churn-staging", target: .kubernetes,
                health: AgentConfig.Health(deadline: 10))
        ]
        var options = fixture.options()
        options.kubernetes = api.access
        options.rolloutPeriod = 0.05
        let agent = try Reconciler(config: fixture.config, options: options)

        let source = try git("rev-parse", "main", in: fixture.project)
        _ = try run(
            ["cp", "-r", packageRoot + "/Tests/RenderTests/Golden/churn/deploy", fixture.work + "/deploy"])
        _ = try run(["rm", "-rf", fixture.work + "/deploy/production", fixture.work + "/deploy/gitops-ml-agent"])
        try run(
            ["bash", "-c", "sed -i '/gitops-ml-agent/d' deploy/kustomization.yaml 2>/dev/null || true"],
            in: fixture.work)
        func promote(_ version: String, image: String, message: String) throws -> String {
            var record = ReleaseRecord(model: "churn", environment: "staging", version: version, sourceCommit: source)
            record.image = image
            try write(record.yaml, to: "environments/staging/churn.yaml", in: fixture.work)
            let deployment = fixture.work + "/deploy/staging/churn/deployment.yaml"
            let text = try String(contentsOfFile: deployment, encoding: .utf8)
            let replaced = text.replacingOccurrences(
                of: #"image: "[^"]*""#, with: "image: \"\(image)\"", options: .regularExpression)
            try replaced.write(toFile: deployment, atomically: true, encoding: .utf8)
            _ = try run(["git", "add", "-A"], in: fixture.work)
            _ = try run(["git", "commit", "-q", "-m", message], in: fixture.work)
            _ = try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: fixture.work)
            return try git("rev-parse", "HEAD", in: fixture.work)
        }

        let first = try promote("v1", image: "ghcr.io/example/churn-serving:v1", message: "Promote churn v1")
        #expect(agent.pass()["staging"] == .applied(first))
        let patches = api.requests().filter { $0["method"] as? String == "PATCH" }.compactMap { $0["path"] as? String }
        let patched = patches.filter { !$0.hasSuffix("&dryRun=All") }
        // The namespace the cluster lacked is created first, then the release's seven objects, each after the
        // dry run of all seven.
        #expect(patched.count == 8, "\(patched)")
        #expect(patches.count == 15 && patches[1...7].allSatisfy { $0.hasSuffix("&dryRun=All") }, "\(patches)")
        #expect(patched.first?.hasPrefix("/api/v1/namespaces/churn-staging?") == true, "\(patched)")
        #expect(patched.dropFirst().first?.contains("/serviceaccounts/") == true)
        #expect(
            patched.contains {
                $0.hasPrefix("/apis/autoscaling/v2/namespaces/churn-staging/horizontalpodautoscalers/churn?")
            })
        #expect(agent.pass()["staging"] == .synced(first))
        // The HPA owns the Deployment's replicas: the agent's apply leaves that field out.
        func deploymentSpecs() -> [[String: Any]] {
            api.requests().filter {
                $0["method"] as? String == "PATCH" && ($0["path"] as? String)?.contains("/deployments/") == true
                    && ($0["path"] as? String)?.hasSuffix("dryRun=All") == false
            }.compactMap { ($0["body"] as? [String: Any])?["spec"] as? [String: Any] }
        }
        #expect(deploymentSpecs().first.map { $0["replicas"] == nil } == true, "\(deploymentSpecs())")

        // Drift between promotions: a pass with nothing new applies again what was changed by hand, and says
        // so in its condition and its metric; the autoscaler's replicas are not drift.
        #expect(
            try api.edit(
                "/apis/apps/v1/namespaces/churn-staging/deployments/churn", ["spec": ["replicas": 5]],
                manager: "horizontal-pod-autoscaler") == 200)
        #expect(try api.edit("/api/v1/namespaces/churn-staging/services/churn", ["spec": ["type": "NodePort"]]) == 200)
        #expect(agent.pass()["staging"] == .corrected(first, objects: ["Service/churn-staging/churn"]))
        #expect(
            agent.state.environments["staging"]?.conditions.first?.reason.contains(
                "drift corrected: Service/churn-staging/churn") == true)
        let service = try api.object("/api/v1/namespaces/churn-staging/services/churn")?["spec"] as? [String: Any]
        #expect(service?["type"] as? String != "NodePort", "\(service ?? [:])")
        #expect(agent.pass()["staging"] == .synced(first))

        // The API server's own trouble is not a verdict on the release: 503, 429 with Retry-After, 409 on an
        // apply, 500 on the prune's LIST. Nothing is reverted or recorded; the next pass applies it.
        let good = try promote("v1.1", image: "ghcr.io/example/churn-serving:v1.1", message: "Promote churn v1.1")
        for (fault, said) in [
            ("PATCH 503", "HTTP 503"), ("PATCH 429 1", "retry after 1 s"), ("PATCH 409", "HTTP 409"),
            ("LIST 500", "HTTP 500"),
        ] {
            try (fault + "\n").write(toFile: api.log + ".faults", atomically: true, encoding: .utf8)
            guard case .stopped(let step, let reason, let stop)? = agent.pass()["staging"] else {
                Issue.record("\(fault) was taken for a bad release")
                continue
            }
            #expect(step == .apply && reason.contains(said) && reason.hasSuffix("retried next pass"), "\(reason)")
            #expect(stop == .waiting(after: fault == "PATCH 429 1" ? 1 : nil), "\(fault)")
            // A 429's Retry-After reaches the schedule: no pass before it.
            #expect(agent.waitRequested == (fault == "PATCH 429 1" ? 1 : nil), "\(fault)")
            #expect(try fixture.originTip() == good, "\(fault): nothing reverted")
            #expect(agent.state.environments["staging"]?.lastFailed == nil, "\(fault)")
        }
        #expect(agent.pass()["staging"] == .applied(good))
        let notes = try DeploymentNotes.records(
            for: ObjectID(hex: good), in: try Repository(at: fixture.origin, discover: false))
        #expect(notes.map(\.outcome) == [.healthy], "one record, of the healthy apply")
        // An object the API refuses as invalid (422) is the release's own fault: reverted.
        let invalid = try promote("v1.2", image: "ghcr.io/example/churn-serving:v1.2", message: "Promote churn v1.2")
        try "PATCH 422\n".write(toFile: api.log + ".faults", atomically: true, encoding: .utf8)
        #expect(agent.pass()["staging"] == .rolledBack(failed: invalid, restored: good))
        _ = try run(["git", "pull", "-q", "--ff-only", "origin", "gitops"], in: fixture.work)
        let restoredTip = try fixture.originTip()
        #expect(agent.pass()["staging"] == .applied(restoredTip), "the revert applied")

        // A release that reaches outside the environment's namespace is refused before anything is applied.
        try write(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: sneaky, namespace: kube-system}\ndata: {a: b}\n",
            to: "deploy/staging/churn/sneaky.yaml", in: fixture.work)
        let kustomizationPath = fixture.work + "/deploy/staging/churn/kustomization.yaml"
        let original = try String(contentsOfFile: kustomizationPath, encoding: .utf8)
        try original.replacingOccurrences(of: "resources:\n", with: "resources:\n  - sneaky.yaml\n")
            .write(toFile: kustomizationPath, atomically: true, encoding: .utf8)
        let before = api.requests().count
        let sneaky = try promote("v1.3", image: "ghcr.io/example/churn-serving:v1.3", message: "Promote churn v1.3")
        #expect(agent.pass()["staging"] == .rolledBack(failed: sneaky, restored: restoredTip))
        #expect(
            !api.requests().dropFirst(before).contains { ($0["path"] as? String)?.contains("kube-system") == true })
        let refusal = try git("log", "-1", "--format=%B", "gitops", in: fixture.origin)
        #expect(refusal.contains("outside staging's namespace churn-staging"), "\(refusal)")
        _ = try run(["git", "pull", "-q", "--ff-only", "origin", "gitops"], in: fixture.work)
        let cleaned = try fixture.originTip()
        #expect(agent.pass()["staging"] == .applied(cleaned), "the revert applied")

        let bad = try promote("v2", image: "ghcr.io/example/churn-serving:broken", message: "Promote churn v2")
        let count = api.requests().count
        #expect(agent.pass()["staging"] == .rolledBack(failed: bad, restored: cleaned))
        let images = api.requests().dropFirst(count).filter {
            $0["method"] as? String == "PATCH" && ($0["path"] as? String)?.contains("/deployments/") == true
                && ($0["path"] as? String)?.hasSuffix("dryRun=All") == false
        }.map { "\($0["body"] ?? "")" }
        #expect(images.count == 2)
        #expect(images.first?.contains(":broken") == true && images.last?.contains(":v1") == true)
        let message = try git("log", "-1", "--format=%B", "gitops", in: fixture.origin)
        #expect(message.contains("Gitops-Ml-Rollback-Of: \(bad)"))
        #expect(message.contains("exceeded its progress deadline"))

        // The HPA leaves git: deleted from the cluster.
        _ = try run(["git", "pull", "-q", "--ff-only", "origin", "gitops"], in: fixture.work)
        _ = try run(["git", "rm", "-q", "deploy/staging/churn/hpa.yaml"], in: fixture.work)
        let kustomization = fixture.work + "/deploy/staging/churn/kustomization.yaml"
        try (try String(contentsOfFile: kustomization, encoding: .utf8)).replacingOccurrences(
            of: "  - hpa.yaml\n", with: ""
        )
        .write(toFile: kustomization, atomically: true, encoding: .utf8)
        // Another environment's object in the same namespace, applied by the same field manager: never pruned.
        let neighbour = try ManifestSet.parse(
            Array(
                """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: neighbour
                  namespace: churn-staging
                  labels: {app.kubernetes.io/managed-by: gitops-ml}
                data: {a: b}

                """.utf8), file: "neighbour.yaml")
        try KubernetesClient(access: api.access).apply(try #require(neighbour.first).owned(by: "canary"))
        let pruned = try promote(
            "v3", image: "ghcr.io/example/churn-serving:v3", message: "Promote churn v3 without HPA")
        #expect(agent.pass()["staging"] == .applied(pruned))
        #expect(deploymentSpecs().last?["replicas"] as? Int == 2, "no HPA any more: git's replicas apply")
        let deleted = api.requests().filter { $0["method"] as? String == "DELETE" }.compactMap { $0["path"] as? String }
        #expect(deleted.contains { $0.hasSuffix("/horizontalpodautoscalers/churn") }, "\(deleted)")
        #expect(!deleted.contains { $0.hasSuffix("/configmaps/neighbour") }, "\(deleted)")
        // Every object applied carries its environment's label.
        let bodies = api.requests().filter { $0["method"] as? String == "PATCH" }.compactMap {
            (($0["body"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: Any]
        }
        #expect(bodies.filter { $0[KubernetesObject.environmentLabel] as? String == "staging" }.count >= 7)
    }
}

extension FakeKubernetesAPI {
    /// Access to the stand-in, as a kubeconfig would give it.
    var access: KubernetesAccess { KubernetesAccess(server: server, caFile: certificate, token: token) }
}

/// Environments roll out at once: one waiting out its deadline does not hold up another.
@Suite("Environments reconciled concurrently", .serialized)
struct ConcurrentEnvironmentTests {
    @Test func aSlowRolloutDoesNotHoldUpAnotherEnvironment() throws {
        let api = try FakeKubernetesAPI()
        let fixture = try AgentFixture("kube-concurrent")
        fixture.config.environments = ["slow", "fast"].map {
            AgentConfig.Environment(
                name: $0, branch: "gitops", namespace: "ml-\($0)", target: .kubernetes,
                health: AgentConfig.Health(deadline: $0 == "slow" ? 5 : 20))
        }
        var options = fixture.options()
        options.kubernetes = api.access
        options.rolloutPeriod = 0.05
        let agent = try Reconciler(config: fixture.config, options: options)
        let source = try git("rev-parse", "main", in: fixture.project)
        for (environment, image) in [("slow", "stuck"), ("fast", "v1")] {
            let record = ReleaseRecord(model: "churn", environment: environment, version: "v1", sourceCommit: source)
            try write(record.yaml, to: "environments/\(environment)/churn.yaml", in: fixture.work)
            try write(
                "resources: [deployment.yaml]\n", to: "deploy/\(environment)/kustomization.yaml", in: fixture.work)
            try write(
                """
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: churn, namespace: ml-\(environment)}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: churn}}
                  template:
                    metadata: {labels: {app: churn}}
                    spec: {containers: [{name: serve, image: "ghcr.io/example/churn:\(image)"}]}

                """, to: "deploy/\(environment)/deployment.yaml", in: fixture.work)
        }
        _ = try run(["git", "add", "-A"], in: fixture.work)
        _ = try run(["git", "commit", "-q", "-m", "Promote churn to slow and fast"], in: fixture.work)
        _ = try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: fixture.work)
        let tip = try git("rev-parse", "HEAD", in: fixture.work)

        let results = agent.pass()
        #expect(results["fast"] == .applied(tip))
        guard case .stopped(let step, let reason, let stop)? = results["slow"] else {
            Issue.record("\(results)")
            return
        }
        #expect(step == .health && reason.contains("deadline passed"), "\(reason)")
        #expect(stop == .stalled, "nothing to go back to: a person must act")
        // The fast environment's Deployment was applied while the slow one was still being watched.
        let requests = api.requests().compactMap { request -> (String, String)? in
            guard let method = request["method"] as? String, let path = request["path"] as? String else { return nil }
            return (method, path)
        }
        let fastApplied = try #require(
            requests.firstIndex {
                $0.0 == "PATCH" && $0.1.hasPrefix("/apis/apps/v1/namespaces/ml-fast/deployments/churn?")
                    && !$0.1.hasSuffix("dryRun=All")
            })
        let slowWatchedLast = try #require(
            requests.lastIndex { $0.0 == "GET" && $0.1 == "/apis/apps/v1/namespaces/ml-slow/deployments/churn" })
        #expect(fastApplied < slowWatchedLast, "the fast rollout waited for the slow one")
    }
}
