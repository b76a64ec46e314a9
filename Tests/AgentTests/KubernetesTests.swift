import Config
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Promotion
import TestSupport
import Testing

@testable import Agent

private let fixtures = packageRoot + "/Tests/AgentTests/Fixtures"

/// Rollout health on Deployment objects in the shape the API returns them, one file per state.
@Suite("Kubernetes rollout health")
struct RolloutHealthTests {
    @Test(arguments: [
        ("healthy", HealthStatus.healthy, "3 of 3 replicas updated and available"),
        ("not-observed", .progressing, "generation 5 not observed yet (at 4)"),
        ("updating", .progressing, "1 of 3 replicas updated"),
        ("old-replicas", .progressing, "1 old replicas pending termination"),
        ("unavailable", .progressing, "2 of 3 updated replicas available"),
        ("deadline-exceeded", .degraded, "exceeded its progress deadline"),
        ("paused", .suspended, "the rollout is paused"),
    ])
    func deploymentStates(file: String, status: HealthStatus, reason: String) throws {
        let bytes = try #require(FileManager.default.contents(atPath: "\(fixtures)/deployments/\(file).yaml"))
        let node = try #require(try YAMLReader.compose(Array(bytes), file: file))
        let object = try #require(ManifestSet.foundation(ConfigNode(node, file: file).value) as? [String: Any])
        let health = RolloutHealth.deployment(object)
        #expect(health.status == status)
        #expect(health.reason.hasPrefix(reason), "\(health.reason)")
    }
}

/// The other workloads' health, as Argo CD's health checks judge them, on status objects in the API's shape.
@Suite("Kubernetes rollout health of other workloads")
struct WorkloadHealthTests {
    func object(_ kind: String, generation: Int = 2, spec: [String: Any] = [:], status: [String: Any])
        -> [String: Any]
    {
        ["kind": kind, "metadata": ["generation": generation], "spec": spec, "status": status]
    }

    @Test func workloadStates() throws {
        let cases: [([String: Any], HealthStatus)] = [
            (object("StatefulSet", spec: ["replicas": 3], status: ["observedGeneration": 1]), HealthStatus.progressing),
            (
                object("StatefulSet", spec: ["replicas": 3], status: ["observedGeneration": 2, "readyReplicas": 2]),
                .progressing
            ),
            (
                object(
                    "StatefulSet", spec: ["replicas": 3],
                    status: [
                        "observedGeneration": 2, "readyReplicas": 3, "currentRevision": "a", "updateRevision": "b",
                    ]),
                .progressing
            ),
            (
                object(
                    "StatefulSet", spec: ["replicas": 3],
                    status: [
                        "observedGeneration": 2, "readyReplicas": 3, "currentRevision": "b", "updateRevision": "b",
                    ]),
                .healthy
            ),
            (
                object(
                    "DaemonSet",
                    status: ["observedGeneration": 2, "desiredNumberScheduled": 4, "updatedNumberScheduled": 3]),
                .progressing
            ),
            (
                object(
                    "DaemonSet",
                    status: [
                        "observedGeneration": 2, "desiredNumberScheduled": 4, "updatedNumberScheduled": 4,
                        "numberAvailable": 4,
                    ]), .healthy
            ),
            (object("Job", status: ["active": 1]), .progressing),
            (object("Job", status: ["conditions": [["type": "Complete", "status": "True"]]]), .healthy),
            (
                object(
                    "Job",
                    status: ["conditions": [["type": "Failed", "status": "True", "message": "BackoffLimitExceeded"]]]),
                .degraded
            ),
            (object("Job", spec: ["suspend": true], status: [:]), .suspended),
            (
                object(
                    "InferenceService",
                    status: [
                        "observedGeneration": 2, "conditions": [["type": "Ready", "status": "False", "message": "x"]],
                    ]),
                .progressing
            ),
            (
                object(
                    "InferenceService",
                    status: ["observedGeneration": 2, "conditions": [["type": "Ready", "status": "True"]]]),
                .healthy
            ),
        ]
        for (object, expected) in cases {
            let health = try #require(RolloutHealth.of(object))
            #expect(health.status == expected, "\(object): \(health.reason)")
        }
    }

    @Test func kindsWithoutARolloutHaveNoHealth() {
        #expect(RolloutHealth.of(["kind": "ConfigMap"]) == nil)
        #expect(RolloutHealth.watched == ["Deployment", "StatefulSet", "DaemonSet", "Job", "InferenceService"])
    }
}

/// kubeconfig and service-account access.
@Suite("Kubernetes access")
struct KubernetesAccessTests {
    let temp = TemporaryDirectory("kube-access")

    func kubeconfig(user: String) -> String {
        """
        apiVersion: v1
        kind: Config
        current-context: dev
        clusters:
          - name: kind
            cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: \(Data("CA PEM".utf8).base64EncodedString())}
        contexts:
          - name: dev
            context: {cluster: kind, user: admin}
        users:
          - name: admin
            user: \(user)
        """
    }

    @Test func aKubeconfigsInlineCredentialsBecomePrivateFiles() throws {
        let text = kubeconfig(
            user:
                "{client-certificate-data: \(Data("CERT".utf8).base64EncodedString()), client-key-data: \(Data("KEY".utf8).base64EncodedString()), token: abc}"
        )
        let access = try KubernetesAccess.kubeconfig(
            Array(text.utf8), file: temp.path + "/config", context: nil, scratch: temp.path + "/scratch")
        #expect(access.server == "https://127.0.0.1:6443")
        #expect(try access.bearer() == "abc")
        let key = try #require(access.clientKey)
        #expect(try String(contentsOfFile: key, encoding: .utf8) == "KEY")
        let mode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOfFile: try #require(access.caFile), encoding: .utf8) == "CA PEM")
    }

    /// An `exec` credential plugin (EKS, GKE, AKS) is run as kubectl runs it, non-interactive, its token kept
    /// until a minute before it expires; a plugin that fails is an error naming it.
    @Test func anExecPluginGivesTheTokenAndIsRunOnlyWhenItExpires() throws {
        let plugin = temp.path + "/get-token"
        let calls = temp.path + "/calls"
        let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
        try """
        #!/bin/sh
        echo "$1 $PLUGIN_REGION $KUBERNETES_EXEC_INFO" >> \(calls)
        printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin-%s","expirationTimestamp":"\(expires)"}}' "$1"

        """.write(toFile: plugin, atomically: true, encoding: .utf8)
        chmod(plugin, 0o755)
        let text = kubeconfig(
            user:
                "{exec: {apiVersion: client.authentication.k8s.io/v1, command: \(plugin), args: [\(UUID().uuidString.prefix(8))], env: [{name: PLUGIN_REGION, value: eu-west-1}]}}"
        )
        let access = try KubernetesAccess.kubeconfig(
            Array(text.utf8), file: temp.path + "/config", context: nil, scratch: temp.path + "/scratch")
        let token = try #require(try access.bearer())
        #expect(token.hasPrefix("from-plugin-"))
        #expect(try access.bearer() == token)
        let logged = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n")
        #expect(logged.count == 1, "run once while the token is valid: \(logged)")
        #expect(logged.first?.contains("eu-west-1") == true && logged.first?.contains(#""interactive":false"#) == true)

        let failing = kubeconfig(user: "{exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/false}}")
        let broken = try KubernetesAccess.kubeconfig(
            Array(failing.utf8), file: temp.path + "/config", context: nil, scratch: temp.path + "/scratch")
        #expect(throws: GitOpsMLError.self) { try broken.bearer() }
    }

    @Test func pluginsAndMissingContextsAreRefusedWithTheirPlace() throws {
        let provider = kubeconfig(user: "{auth-provider: {name: gcp}}")
        #expect(throws: GitOpsMLError.self) {
            try KubernetesAccess.kubeconfig(Array(provider.utf8), file: "config", context: nil, scratch: temp.path)
        }
        let plain = kubeconfig(user: "{token: abc}")
        do {
            _ = try KubernetesAccess.kubeconfig(Array(plain.utf8), file: "config", context: "prod", scratch: temp.path)
            Issue.record("a missing context was accepted")
        } catch {
            #expect("\(error)".contains("no context named \"prod\""))
        }
    }

    @Test func inAClusterTheServiceAccountIsUsedAndItsTokenReadEachTime() throws {
        let account = temp.path + "/serviceaccount"
        try FileManager.default.createDirectory(atPath: account, withIntermediateDirectories: true)
        try "first".write(toFile: account + "/token", atomically: true, encoding: .utf8)
        let access = try KubernetesAccess.resolve(
            scratch: temp.path, environment: ["KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            serviceAccount: account)
        #expect(access.server == "https://10.0.0.1:443")
        #expect(access.caFile == account + "/ca.crt")
        #expect(try access.bearer() == "first")
        try "rotated".write(toFile: account + "/token", atomically: true, encoding: .utf8)
        #expect(try access.bearer() == "rotated")
    }
}

/// A stand-in API server over HTTPS on 127.0.0.1 (Fixtures/fake_kube_api.py) that checks method, path,
/// headers and body of every request.
final class FakeKubernetesAPI {
    let temp: TemporaryDirectory
    let process: ChildProcess
    let access: KubernetesAccess
    let log: String

    init(token: String = "test-token") throws {
        temp = TemporaryDirectory("kube-api")
        let cert = temp.path + "/cert.pem"
        let key = temp.path + "/key.pem"
        _ = try run([
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
        ])
        log = temp.path + "/requests.jsonl"
        let portFile = temp.path + "/port"
        process = try Subprocess.start(
            ["python3", "\(fixtures)/fake_kube_api.py", cert, key, token, portFile, log],
            stdoutPath: temp.path + "/server.log", stderrPath: temp.path + "/server.log")
        var port: String?
        for _ in 0..<200 where port == nil {
            port = try? String(contentsOfFile: portFile, encoding: .utf8)
            if port == nil { usleep(25_000) }
        }
        var access = KubernetesAccess(server: "https://127.0.0.1:\(port ?? "0")")
        access.caFile = cert
        access.token = token
        self.access = access
    }

    /// Every request so far: method, path, content type, body.
    func requests() -> [[String: Any]] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    deinit { _ = process.terminate(grace: 2) }
}

@Suite("The Kubernetes API client against a local HTTPS server", .serialized)
struct KubernetesClientTests {
    @Test func serverSideApplyIsSentAsTheAPIExpectsIt() throws {
        let api = try FakeKubernetesAPI()
        let client = KubernetesClient(access: api.access)
        let objects = try ManifestSet.parse(
            Array(
                try String(
                    contentsOfFile: packageRoot
                        + "/Tests/RenderTests/Golden/churn/deploy/staging/churn/deployment.yaml",
                    encoding: .utf8
                ).utf8), file: "deployment.yaml")
        let applied = try client.apply(try #require(objects.first))
        #expect((applied["metadata"] as? [String: Any])?["generation"] as? Int == 1)
        let request = try #require(api.requests().last)
        #expect(request["method"] as? String == "PATCH")
        #expect(
            request["path"] as? String
                == "/apis/apps/v1/namespaces/churn-staging/deployments/churn?fieldManager=gitops-ml&force=true")
        #expect(request["content_type"] as? String == "application/apply-patch+yaml")
        let body = try #require(request["body"] as? [String: Any])
        let container = try #require(
            (((body["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any])?[
                "containers"] as? [[String: Any]])
        #expect((container.first?["ports"] as? [[String: Any]])?.first?["containerPort"] as? Int == 8080)

        // A wrong token is the API's 401, named; an unknown CA is refused by TLS before anything is sent.
        var wrong = api.access
        wrong.token = "stolen"
        let refused = try #require(throws: KubernetesClient.Failure.self) {
            try KubernetesClient(access: wrong).apply(objects[0])
        }
        #expect(refused.status == 401 && !refused.isReleaseDefect, "a fault of access, not of the release")
        #expect(refused.description.hasSuffix("HTTP 401: Unauthorized"), "\(refused)")
        var untrusted = api.access
        untrusted.caFile = nil
        let before = api.requests().count
        #expect(throws: (any Error).self) { try KubernetesClient(access: untrusted).apply(objects[0]) }
        #expect(api.requests().count == before)
    }
}

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
        let patched = api.requests().filter { $0["method"] as? String == "PATCH" }.compactMap { $0["path"] as? String }
        // The namespace the cluster lacked is created first, then the release's seven objects.
        #expect(patched.count == 8, "\(patched)")
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
            }.compactMap { ($0["body"] as? [String: Any])?["spec"] as? [String: Any] }
        }
        #expect(deploymentSpecs().first.map { $0["replicas"] == nil } == true, "\(deploymentSpecs())")

        // The API server's own trouble is not a verdict on the release: 503, 429 with Retry-After, 409 on an
        // apply, 500 on the prune's LIST. Nothing is reverted or recorded; the next pass applies it.
        let good = try promote("v1.1", image: "ghcr.io/example/churn-serving:v1.1", message: "Promote churn v1.1")
        for (fault, said) in [
            ("PATCH 503", "HTTP 503"), ("PATCH 429 1", "retry after 1 s"), ("PATCH 409", "HTTP 409"),
            ("LIST 500", "HTTP 500"),
        ] {
            try (fault + "\n").write(toFile: api.log + ".faults", atomically: true, encoding: .utf8)
            guard case .stopped(let step, let reason)? = agent.pass()["staging"] else {
                Issue.record("\(fault) was taken for a bad release")
                continue
            }
            #expect(step == "apply" && reason.contains(said) && reason.hasSuffix("retried next pass"), "\(reason)")
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
