import Config
import Foundation
import GitOpsMLCore
import HTTPClient
import TestSupport
import Testing

@testable import Kubernetes

private let fixtures = packageRoot + "/Tests/KubernetesTests/Fixtures"

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

@Suite("The Kubernetes API client against a local HTTPS server", .serialized)
struct KubernetesClientTests {
    @Test func serverSideApplyIsSentAsTheAPIExpectsIt() throws {
        let api = try FakeKubernetesAPI()
        let client = KubernetesClient(access: api.access)
        try client.apply(
            try #require(
                try ManifestSet.parse(
                    Array("{apiVersion: v1, kind: Namespace, metadata: {name: churn-staging}}".utf8), file: "ns.yaml"
                )
                .first))
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

extension FakeKubernetesAPI {
    /// Access to the stand-in, as a kubeconfig would give it.
    var access: KubernetesAccess { KubernetesAccess(server: server, caFile: certificate, token: token) }
}

/// A release applied as the API server behaves: a dry run of the whole set first, kinds found by discovery
/// (CRDs included), drift corrected, pruning with preconditions — against the stand-in that disagrees.
@Suite("A release on a cluster that answers as the API does", .serialized)
struct KubernetesTargetTests {
    let api: FakeKubernetesAPI
    let target: KubernetesTarget

    init() throws {
        api = try FakeKubernetesAPI()
        target = KubernetesTarget(client: KubernetesClient(access: api.access), period: 0.02)
    }

    func objects(_ yaml: String) throws -> [KubernetesObject] {
        try ManifestSet.parse(Array(yaml.utf8), file: "x.yaml")
    }

    func deployment(image: String = "v1", app: String = "churn", replicas: Int = 2) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: churn, namespace: ml}
        spec:
          replicas: \(replicas)
          selector: {matchLabels: {app: \(app)}}
          template:
            metadata: {labels: {app: \(app)}}
            spec: {containers: [{name: serve, image: "ghcr.io/example/churn:\(image)"}]}
        """
    }

    func configMap(_ name: String, _ value: String = "a") -> String {
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \(name), namespace: ml}\ndata: {key: \(value)}"
    }

    func applies() -> [String] {
        api.requests().filter {
            $0["method"] as? String == "PATCH" && ($0["path"] as? String)?.hasSuffix("dryRun=All") == false
        }.compactMap { $0["path"] as? String }
    }

    /// A Deployment's selector is immutable: the dry run of the whole set meets the 422 before anything of
    /// the release is applied, so the ConfigMap that changed with it is not half applied.
    @Test func anInvalidObjectLeavesNothingHalfApplied() throws {
        let v1 = try objects(configMap("settings", "one") + "\n---\n" + deployment())
        #expect(try target.apply(v1, environment: "staging", deadline: 5).status == .healthy)
        let before = applies().count
        let v2 = try objects(configMap("settings", "two") + "\n---\n" + deployment(image: "v2", app: "renamed"))
        let report = try target.apply(v2, environment: "staging", deadline: 5, previous: v1)
        #expect(report.status == .degraded)
        #expect(report.failures.first?.reason.contains("field is immutable") == true, "\(report)")
        #expect(report.failures.first?.reason.contains("dry run of Deployment/ml/churn") == true, "\(report)")
        #expect(applies().count == before, "nothing applied: \(applies().dropFirst(before))")
        let data = try api.object("/api/v1/namespaces/ml/configmaps/settings")?["data"] as? [String: Any]
        #expect(data?["key"] as? String == "one")
    }

    /// No table of kinds: a custom resource is applied once its CRD (in the same release) is served, its
    /// health read from its conditions; discovery is read once per group version, and again on a miss. A
    /// custom resource whose CRD is missing is a fault of the cluster, not a bad release.
    @Test func customResourcesAreDiscoveredAndJudgedByTheirConditions() throws {
        let crd = """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {name: widgets.example.com}
            spec:
              group: example.com
              scope: Namespaced
              names: {kind: Widget, plural: widgets}
              versions: [{name: v1, served: true, storage: true}]
            """
        let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: ml}\nspec: {size: 3}"
        #expect(throws: GitOpsMLError.self) {
            try target.apply(try objects(widget), environment: "staging", deadline: 5)
        }
        let report = try target.apply(
            try objects(widget + "\n---\n" + crd + "\n---\n" + deployment()), environment: "staging", deadline: 5)
        #expect(report.status == .healthy, "\(report)")
        #expect(report.checks.map(\.name).contains("rollout Widget/ml/w"), "\(report)")
        #expect(report.checks.first { $0.name == "rollout Widget/ml/w" }?.reason == "Ready")
        let order = applies()
        #expect(
            order.firstIndex { $0.contains("/customresourcedefinitions/") }! < order.firstIndex {
                $0.contains("/widgets/")
            }!)
        #expect(try target.apply(try objects(deployment()), environment: "staging", deadline: 5).status == .healthy)
        let discoveries = api.requests().filter { $0["method"] as? String == "GET" }.compactMap {
            $0["path"] as? String
        }
        #expect(discoveries.filter { $0 == "/apis/apps/v1" }.count == 1, "\(discoveries)")
        #expect(discoveries.filter { $0 == "/apis/example.com/v1" }.count >= 2, "read again after the CRD")
        // A release after the CRD was removed: the previous release's Widget kind is not served, so there is
        // nothing of it to prune, and the release is not held up by it.
        let unserved = try objects("apiVersion: example.org/v1\nkind: Gadget\nmetadata: {name: g, namespace: ml}")
        #expect(
            try target.apply(try objects(deployment()), environment: "staging", deadline: 5, previous: unserved)
                .status == .healthy)
    }

    /// Drift: an edit or a deletion by hand is applied again; the replicas an autoscaler owns are not drift.
    @Test func driftIsCorrectedButAnAutoscalersReplicasAreLeftToIt() throws {
        let hpa = """
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {name: churn, namespace: ml}
            spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: churn}, minReplicas: 2, maxReplicas: 5}
            """
        let release = try objects(configMap("settings") + "\n---\n" + deployment() + "\n---\n" + hpa)
        #expect(try target.apply(release, environment: "staging", deadline: 5).status == .healthy)
        #expect(try target.correctDrift(release, environment: "staging") == [])

        let deploymentPath = "/apis/apps/v1/namespaces/ml/deployments/churn"
        #expect(try api.edit(deploymentPath, ["spec": ["replicas": 4]], manager: "horizontal-pod-autoscaler") == 200)
        #expect(try target.correctDrift(release, environment: "staging") == [], "the HPA's field")
        #expect((try api.object(deploymentPath)?["spec"] as? [String: Any])?["replicas"] as? Int == 4)

        let settings = "/api/v1/namespaces/ml/configmaps/settings"
        #expect(try api.edit(settings, ["data": ["key": "by hand"]]) == 200)
        #expect(try target.correctDrift(release, environment: "staging") == ["ConfigMap/ml/settings"])
        #expect((try api.object(settings)?["data"] as? [String: Any])?["key"] as? String == "a")
        #expect(try api.send("DELETE", settings) == 200)
        #expect(try target.correctDrift(release, environment: "staging") == ["ConfigMap/ml/settings"])
        #expect(try api.object(settings) != nil)

        // Without an autoscaler, git's replicas are the truth: a `kubectl scale` is drift.
        let plain = try objects(deployment())
        #expect(try target.apply(plain, environment: "staging", deadline: 5, previous: release).status == .healthy)
        #expect(try api.edit(deploymentPath, ["spec": ["replicas": 7]]) == 200)
        #expect(try target.correctDrift(plain, environment: "staging") == ["Deployment/ml/churn"])
        #expect((try api.object(deploymentPath)?["spec"] as? [String: Any])?["replicas"] as? Int == 2)
    }

    /// Pruning deletes only the object listed (uid and resourceVersion preconditions), and a kind the agent
    /// may not list is said, not skipped in silence.
    @Test func pruningIsPreconditionedAndNeverSilentlySkipped() throws {
        let v1 = try objects(configMap("a") + "\n---\n" + configMap("b") + "\n---\n" + deployment())
        #expect(try target.apply(v1, environment: "staging", deadline: 5).status == .healthy)
        let v2 = try objects(configMap("a") + "\n---\n" + deployment(image: "v2"))
        try api.fail("LIST", 403)
        let report = try target.apply(v2, environment: "staging", deadline: 5, previous: v1)
        #expect(report.status == .healthy)
        let said = try #require(report.checks.first { $0.name == "prune ConfigMap in ml" })
        #expect(said.reason.contains("403"), "\(said)")
        #expect(try api.object("/api/v1/namespaces/ml/configmaps/b") != nil)

        #expect(try target.apply(v2, environment: "staging", deadline: 5, previous: v1).status == .healthy)
        #expect(try api.object("/api/v1/namespaces/ml/configmaps/b") == nil)
        let deletion = try #require(api.requests().last { $0["method"] as? String == "DELETE" })
        let preconditions = (deletion["body"] as? [String: Any])?["preconditions"] as? [String: Any]
        #expect(preconditions?["uid"] is String && preconditions?["resourceVersion"] is String, "\(deletion)")

        // An object changed since it was listed is not deleted.
        let a = try #require(try api.object("/api/v1/namespaces/ml/configmaps/a")?["metadata"] as? [String: Any])
        let client = KubernetesClient(access: api.access)
        #expect(
            try client.delete(
                apiVersion: "v1", kind: "ConfigMap", namespace: "ml", name: "a", uid: a["uid"] as? String,
                resourceVersion: "1") == false)
        #expect(try api.object("/api/v1/namespaces/ml/configmaps/a") != nil)
    }
}
