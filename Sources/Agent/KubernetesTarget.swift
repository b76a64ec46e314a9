import Foundation
import GitOpsMLCore

/// The kubernetes target: a release is its manifests, server-side applied in dependency order, each labelled
/// with the environment (`gitops-ml.dev/environment`); once the release is healthy, objects this agent
/// applied before for that environment (field manager `gitops-ml`, labels `app.kubernetes.io/managed-by:
/// gitops-ml` and the environment's) in the release's namespaces that left git are pruned; health is the
/// rollout status of every workload (`RolloutHealth.watched`) within the deadline. A failed rollout applies the previous release's manifests again and waits for them in turn.
public final class KubernetesTarget {
    let client: KubernetesClient
    let clock: any HealthClock
    /// Seconds between reads of a Deployment's status.
    let period: Double

    public init(client: KubernetesClient, clock: any HealthClock = SystemClock(), period: Double = 1) {
        self.client = client
        self.clock = clock
        self.period = period
    }

    /// Namespaces, then what pods need (accounts, config), then workloads, then the rest: as kubectl orders.
    static let order = [
        "Namespace", "ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "Secret",
        "ConfigMap", "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
        "InferenceService", "HorizontalPodAutoscaler", "Ingress",
        "PodDisruptionBudget", "NetworkPolicy",
    ]

    public func roll(
        to objects: [KubernetesObject], environment: String, deadline: Double, fallback: [KubernetesObject]?,
        willRestore: (HealthReport) -> Void = { _ in }
    ) -> LocalTarget.Outcome {
        let report: HealthReport
        do {
            report = try apply(objects, environment: environment, deadline: deadline)
        } catch let failure as KubernetesClient.Failure {
            return .fault("\(failure)", retryAfter: failure.retryAfter)
        } catch {
            return .fault("\(error)")
        }
        if report.status == .healthy { return .healthy(report) }
        guard let fallback else { return .failed(report, restored: nil) }
        willRestore(report)
        let restored =
            (try? apply(fallback, environment: environment, deadline: deadline)) ?? HealthReport(checks: [])
        return restored.status == .healthy
            ? .rolledBack(failed: report, restored: restored) : .failed(report, restored: restored)
    }

    /// Applies `objects` (labelled as `environment`'s), waits for the rollouts and, once they are healthy,
    /// prunes what left git. Throws what is not the release's fault (the API's 409, 429, 5xx, a network
    /// error, a kind not known); an object the API refuses as invalid (400, 422) is the release's, reported
    /// as Degraded.
    public func apply(_ objects: [KubernetesObject], environment: String, deadline: Double) throws -> HealthReport {
        let end = clock.now() + deadline
        let sorted = objects.enumerated().sorted {
            let a = Self.order.firstIndex(of: $0.element.kind) ?? Self.order.count
            let b = Self.order.firstIndex(of: $1.element.kind) ?? Self.order.count
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
        do {
            try createMissingNamespaces(of: objects, environment: environment)
            let scaled = KubernetesObject.scaledByAutoscaler(objects)
            for object in sorted {
                try client.apply(try object.owned(by: environment, scaled: scaled.contains(object.reference)))
            }
        } catch let failure as KubernetesClient.Failure where failure.isReleaseDefect {
            return HealthReport(checks: [HealthCheckResult(name: "apply", status: .degraded, reason: "\(failure)")])
        }
        let workloads = objects.filter { RolloutHealth.watched.contains($0.kind) }
        let report =
            workloads.isEmpty
            ? HealthReport(checks: [
                HealthCheckResult(name: "apply", status: .healthy, reason: "\(objects.count) objects applied")
            ]) : HealthReport(checks: workloads.map { rollout($0, until: end) })
        // What left git goes only once the release is healthy: a failed one is restored over it anyway.
        if report.status == .healthy { try prune(keeping: objects, environment: environment) }
        return report
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

    /// Deletes objects in the release's namespaces that this agent applied and git no longer has, of every
    /// namespaced kind it knows. Objects applied by anyone else (another field manager only) are left alone.
    private func prune(keeping objects: [KubernetesObject], environment: String) throws {
        let kept = Set(objects.map(\.reference))
        let namespaces = Set(objects.compactMap(\.namespace))
        // A claim that left git keeps its volume: pruning it would delete data, which no release asks for.
        let kinds = KubernetesClient.resources.filter { $0.value.namespaced && $0.key != "PersistentVolumeClaim" }
            .sorted { $0.key < $1.key }
        for (kind, resource) in kinds {
            let apiVersion = resource.apiVersion
            for namespace in namespaces.sorted() {
                for item in try client.list(
                    apiVersion: apiVersion, kind: kind, namespace: namespace,
                    selector:
                        "app.kubernetes.io/managed-by=gitops-ml,\(KubernetesObject.environmentLabel)=\(environment)")
                {
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
                    try client.delete(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
                }
            }
        }
    }
}
