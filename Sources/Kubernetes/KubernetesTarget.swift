import Foundation
import GitOpsMLCore

/// A release on a cluster: its manifests, each labelled with the environment (`gitops-ml.dev/environment`)
/// and server-side applied as one set — what must exist first (namespaces, CustomResourceDefinitions), then
/// a server-side dry run of every other object, then, only when the whole set passed it, the objects in
/// dependency order. Health is the rollout status of every workload within the deadline; once the release
/// is healthy, objects this agent applied before for the environment that left git are pruned.
public final class KubernetesTarget {
    public let client: KubernetesClient
    let clock: any HealthClock
    /// Seconds between reads of a workload's status.
    let period: Double

    public init(client: KubernetesClient, clock: any HealthClock = SystemClock(), period: Double = 1) {
        self.client = client
        self.clock = clock
        self.period = period
    }

    /// Namespaces, then what pods need (accounts, config), then workloads, then the rest: as kubectl orders.
    static let order = [
        "Namespace", "CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
        "ClusterRoleBinding", "Secret", "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet",
        "DaemonSet", "Job", "CronJob", "InferenceService", "HorizontalPodAutoscaler", "Ingress",
        "PodDisruptionBudget", "NetworkPolicy",
    ]

    /// Kinds applied before the dry run: the others' dry run needs them to exist (an object in a namespace
    /// not created yet, a custom resource whose definition is not installed, is NotFound).
    static let prerequisites: Set<String> = ["Namespace", "CustomResourceDefinition"]

    /// Applies `objects` as `environment`'s release, waits for the rollouts and, once they are healthy,
    /// prunes what left git among the kinds of this release and of `previous` (the release it replaces).
    /// Throws what is not the release's fault (the API's 409, 429, 5xx, a network error, a kind the server
    /// does not serve); an object the API refuses as invalid (400, 422: a malformed object, an immutable
    /// field changed) is the release's, reported as Degraded — found by the dry run, before anything of the
    /// release but its prerequisites was applied.
    public func apply(
        _ objects: [KubernetesObject], environment: String, deadline: Double, previous: [KubernetesObject]? = nil
    ) throws -> HealthReport {
        let end = clock.now() + deadline
        let owned = try Self.owned(objects, environment: environment)
        let (first, rest) = (
            owned.filter { Self.prerequisites.contains($0.kind) },
            owned.filter { !Self.prerequisites.contains($0.kind) }
        )
        do {
            try createMissingNamespaces(of: objects, environment: environment)
            for object in first { try client.apply(object) }
            if first.contains(where: { $0.kind == "CustomResourceDefinition" }) { client.discovery.reset() }
            for object in rest { try client.apply(object, dryRun: true) }
            for object in rest { try client.apply(object) }
        } catch let failure as KubernetesClient.Failure where failure.isReleaseDefect {
            return HealthReport(checks: [HealthCheckResult(name: "apply", status: .degraded, reason: "\(failure)")])
        }
        let watched = objects.filter(RolloutHealth.isWatched)
        var checks =
            watched.isEmpty
            ? [HealthCheckResult(name: "apply", status: .healthy, reason: "\(objects.count) objects applied")]
            : watched.map { rollout($0, until: end) }
        // What left git goes only once the release is healthy: a failed one is restored over it anyway.
        if HealthReport(checks: checks).status == .healthy {
            checks += try prune(keeping: objects, previous: previous ?? [], environment: environment)
        }
        return HealthReport(checks: checks)
    }

    /// The objects of `objects` whose state in the cluster differs from git's (edited, scaled or deleted by
    /// hand), applied again; their references. What the cluster would hold after an apply (a server-side
    /// dry run) is compared with what it holds, ignoring what the server alone writes (status, resource
    /// version, generation, managed fields, timestamps): fields other managers own and git leaves alone —
    /// the replicas an autoscaler sets — are no drift.
    public func correctDrift(_ objects: [KubernetesObject], environment: String) throws -> [String] {
        var corrected: [String] = []
        for object in try Self.owned(objects, environment: environment) {
            let live = try client.get(
                apiVersion: object.apiVersion, kind: object.kind, namespace: object.namespace, name: object.name)
            if let live, Self.comparable(live) == Self.comparable(try client.apply(object, dryRun: true)) { continue }
            try client.apply(object)
            corrected.append(object.reference)
        }
        return corrected
    }

    /// The release's objects as applied: labelled, without the replicas an autoscaler owns, in order.
    static func owned(_ objects: [KubernetesObject], environment: String) throws -> [KubernetesObject] {
        let scaled = KubernetesObject.scaledByAutoscaler(objects)
        return try objects.enumerated().sorted {
            let a = order.firstIndex(of: $0.element.kind) ?? order.count
            let b = order.firstIndex(of: $1.element.kind) ?? order.count
            return a != b ? a < b : $0.offset < $1.offset
        }.map { try $0.element.owned(by: environment, scaled: scaled.contains($0.element.reference)) }
    }

    /// An object without what the server writes on its own.
    static func comparable(_ object: [String: Any]) -> NSDictionary {
        var object = object
        object["status"] = nil
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        for key in ["resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink"] {
            metadata[key] = nil
        }
        object["metadata"] = metadata
        return object as NSDictionary
    }

    /// A namespace the release's objects live in but do not declare, and that the cluster lacks (a new
    /// environment's first release), is created, labelled as the environment's; never pruned. Without the
    /// right to create it, the 403 is a fault reported as such.
    private func createMissingNamespaces(of objects: [KubernetesObject], environment: String) throws {
        let declared = Set(objects.filter { $0.kind == "Namespace" }.map(\.name))
        for namespace in Set(objects.compactMap(\.namespace)).subtracting(declared).sorted()
        where try client.get(apiVersion: "v1", kind: "Namespace", namespace: nil, name: namespace) == nil {
            let object: [String: Any] = [
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": ["name": namespace, "labels": ["app.kubernetes.io/managed-by": "gitops-ml"]],
            ]
            let json = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
            Log.info("create namespace", ["namespace": namespace])
            try client.apply(
                try KubernetesObject(apiVersion: "v1", kind: "Namespace", name: namespace, namespace: nil, json: json)
                    .owned(by: environment))
        }
    }

    private func rollout(_ workload: KubernetesObject, until end: Double) -> HealthCheckResult {
        let name = "rollout \(workload.reference)"
        var last = "not read yet"
        while true {
            do {
                guard
                    let object = try client.get(
                        apiVersion: workload.apiVersion, kind: workload.kind, namespace: workload.namespace,
                        name: workload.name)
                else { return HealthCheckResult(name: name, status: .missing, reason: "not found after apply") }
                let (status, reason) = RolloutHealth.of(object) ?? (.healthy, "no rollout to wait for")
                if status == .healthy || status == .degraded {
                    return HealthCheckResult(name: name, status: status, reason: reason)
                }
                last = reason
            } catch {
                last = "\(error)"
            }
            guard clock.now() < end else {
                return HealthCheckResult(name: name, status: .degraded, reason: "deadline passed: \(last)")
            }
            clock.sleep(min(period, max(0, end - clock.now())))
        }
    }

    /// Deletes the objects in the release's namespaces that this agent applied for `environment` (its label
    /// and field manager) and git no longer has, among the namespaced kinds of this release and the one it
    /// replaces; each only if it is still the object listed (uid and resourceVersion preconditions). A claim
    /// keeps its volume: PersistentVolumeClaims are never pruned. A kind the agent may not list (403) is not
    /// skipped in silence: it is a check that says so, and a warning.
    private func prune(keeping objects: [KubernetesObject], previous: [KubernetesObject], environment: String) throws
        -> [HealthCheckResult]
    {
        let kept = Set(objects.map(\.reference))
        let namespaces = Set(objects.compactMap(\.namespace))
        let kinds = Dictionary((objects + previous).map { ($0.kind, $0.apiVersion) }, uniquingKeysWith: { a, _ in a })
            .filter { $0.key != "PersistentVolumeClaim" }.sorted { $0.key < $1.key }
        // The label the agent sets on everything it applies (whatever the manifests' own labels say).
        let selector = "\(KubernetesObject.environmentLabel)=\(environment)"
        var checks: [HealthCheckResult] = []
        for (kind, apiVersion) in kinds {
            // A kind the server no longer serves (its CRD removed) has no objects left to prune.
            let resource: APIResource
            do {
                resource = try client.resource(apiVersion: apiVersion, kind: kind)
            } catch is GitOpsMLError {
                continue
            }
            guard resource.namespaced else { continue }
            for namespace in namespaces.sorted() {
                let items: [[String: Any]]
                do {
                    items = try client.list(
                        apiVersion: apiVersion, kind: kind, namespace: namespace, selector: selector)
                } catch let failure as KubernetesClient.Failure where failure.status == 403 {
                    Log.warning("cannot list to prune", ["kind": kind, "namespace": namespace, "error": "\(failure)"])
                    checks.append(
                        HealthCheckResult(
                            name: "prune \(kind) in \(namespace)", status: .healthy,
                            reason: "not pruned: the agent may not list \(kind) (403); objects that left git may remain"
                        ))
                    continue
                }
                for item in items {
                    let metadata = item["metadata"] as? [String: Any] ?? [:]
                    guard let name = metadata["name"] as? String else { continue }
                    let managers = (metadata["managedFields"] as? [[String: Any]] ?? []).compactMap {
                        $0["manager"] as? String
                    }
                    let reference = KubernetesObject(
                        apiVersion: apiVersion, kind: kind, name: name, namespace: namespace, json: []
                    ).reference
                    guard !kept.contains(reference), managers.contains(KubernetesClient.fieldManager) else { continue }
                    Log.info("prune", ["object": reference])
                    try client.delete(
                        apiVersion: apiVersion, kind: kind, namespace: namespace, name: name,
                        uid: metadata["uid"] as? String, resourceVersion: metadata["resourceVersion"] as? String)
                }
            }
        }
        return checks
    }
}
