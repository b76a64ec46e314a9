import Foundation
import GitOpsMLCore

/// A workload's rollout health from its status, as `kubectl rollout status` and gitops-engine (Argo CD's
/// health checks) judge it. Deployment: the controller must have observed the current generation; every
/// replica updated and available, no old replica left; a Progressing condition with reason
/// ProgressDeadlineExceeded is a failure (Degraded), anything else short of done is Progressing; a paused
/// rollout is Suspended. StatefulSet, DaemonSet, Job and KServe's InferenceService below. Other custom
/// resources are judged by the status conventions kstatus (Flux's health checks) reads: the hook every CRD
/// can meet without code here. Built-in kinds without a rollout have none to wait for.
public enum RolloutHealth {
    /// The kinds whose rollout a release waits for.
    public static let watched: Set<String> = ["Deployment", "StatefulSet", "DaemonSet", "Job", "InferenceService"]

    /// Whether a release waits for `object`: the workloads above, and every custom resource (a group outside
    /// the Kubernetes project's own), whose conditions say when it is ready (`conventional`).
    public static func isWatched(_ object: KubernetesObject) -> Bool {
        guard !watched.contains(object.kind) else { return true }
        let group = object.apiVersion.split(separator: "/").dropLast().first.map(String.init) ?? ""
        return group.contains(".") && !group.hasSuffix(".k8s.io")
    }

    /// The health of `object` by its kind; nil for a kind without a rollout.
    public static func of(_ object: [String: Any]) -> (status: HealthStatus, reason: String)? {
        switch object["kind"] as? String {
        case "Deployment": return deployment(object)
        case "StatefulSet": return statefulSet(object)
        case "DaemonSet": return daemonSet(object)
        case "Job": return job(object)
        case "InferenceService": return inferenceService(object)
        default: return conventional(object)
        }
    }

    /// kstatus's conventions for any custom resource: a generation the controller has not observed is
    /// Progressing; a `Stalled` condition that holds is Degraded; `Reconciling` holding, or `Ready` not True,
    /// is Progressing; `Ready` True is Healthy. Without `status.conditions` there is nothing to wait for (nil).
    public static func conventional(_ object: [String: Any]) -> (status: HealthStatus, reason: String)? {
        let status = object["status"] as? [String: Any] ?? [:]
        guard let conditions = status["conditions"] as? [[String: Any]] else { return nil }
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        if let observed = int(status, "observedGeneration"), let generation = int(metadata, "generation"),
            observed < generation
        {
            return (.progressing, "generation \(generation) not observed yet (at \(observed))")
        }
        func condition(_ type: String) -> [String: Any]? { conditions.first { $0["type"] as? String == type } }
        func said(_ condition: [String: Any]) -> String {
            condition["message"] as? String ?? condition["reason"] as? String ?? ""
        }
        if let stalled = condition("Stalled"), stalled["status"] as? String == "True" {
            return (.degraded, "stalled: \(said(stalled))")
        }
        if let reconciling = condition("Reconciling"), reconciling["status"] as? String == "True" {
            return (.progressing, "reconciling: \(said(reconciling))")
        }
        guard let ready = condition("Ready") else { return nil }
        return ready["status"] as? String == "True" ? (.healthy, "Ready") : (.progressing, "not Ready: \(said(ready))")
    }

    private static func int(_ map: [String: Any], _ key: String) -> Int? { (map[key] as? NSNumber)?.intValue }

    /// The parts every check reads, and whether the controller has seen the current generation.
    private static func parts(_ object: [String: Any]) -> (
        spec: [String: Any], status: [String: Any], observed: (status: HealthStatus, reason: String)?
    ) {
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        let spec = object["spec"] as? [String: Any] ?? [:]
        let status = object["status"] as? [String: Any] ?? [:]
        let generation = int(metadata, "generation") ?? 0
        let observed = int(status, "observedGeneration") ?? 0
        return (
            spec, status,
            observed >= generation ? nil : (.progressing, "generation \(generation) not observed yet (at \(observed))")
        )
    }

    /// Every replica ready and at the update revision (a partitioned update: the replicas above it).
    public static func statefulSet(_ object: [String: Any]) -> (status: HealthStatus, reason: String) {
        let (spec, status, pending) = parts(object)
        if let pending { return pending }
        let strategy = spec["updateStrategy"] as? [String: Any] ?? [:]
        if strategy["type"] as? String == "OnDelete" { return (.healthy, "updated on delete: nothing to wait for") }
        let wanted = int(spec, "replicas") ?? 1
        let ready = int(status, "readyReplicas") ?? 0
        if ready < wanted { return (.progressing, "\(ready) of \(wanted) replicas ready") }
        let partition = int(strategy["rollingUpdate"] as? [String: Any] ?? [:], "partition") ?? 0
        if partition > 0 {
            let updated = int(status, "updatedReplicas") ?? 0
            return updated < wanted - partition
                ? (.progressing, "\(updated) of \(wanted - partition) replicas above the partition updated")
                : (.healthy, "\(updated) replicas above the partition updated")
        }
        if let current = status["currentRevision"] as? String, let update = status["updateRevision"] as? String,
            current != update
        {
            return (.progressing, "rolling update to \(update) not complete")
        }
        return (.healthy, "\(ready) of \(wanted) replicas ready at the update revision")
    }

    /// A pod updated and available on every node it is scheduled on.
    public static func daemonSet(_ object: [String: Any]) -> (status: HealthStatus, reason: String) {
        let (spec, status, pending) = parts(object)
        if let pending { return pending }
        if (spec["updateStrategy"] as? [String: Any])?["type"] as? String == "OnDelete" {
            return (.healthy, "updated on delete: nothing to wait for")
        }
        let desired = int(status, "desiredNumberScheduled") ?? 0
        let updated = int(status, "updatedNumberScheduled") ?? 0
        let available = int(status, "numberAvailable") ?? 0
        if updated < desired { return (.progressing, "\(updated) of \(desired) nodes updated") }
        if available < desired { return (.progressing, "\(available) of \(desired) nodes available") }
        return (.healthy, "\(available) of \(desired) nodes updated and available")
    }

    /// Complete is Healthy, Failed is Degraded, suspended is Suspended, anything else is still running.
    public static func job(_ object: [String: Any]) -> (status: HealthStatus, reason: String) {
        let (spec, status, _) = parts(object)
        let conditions = status["conditions"] as? [[String: Any]] ?? []
        func holds(_ type: String) -> [String: Any]? {
            conditions.first { $0["type"] as? String == type && $0["status"] as? String == "True" }
        }
        if let failed = holds("Failed") { return (.degraded, "failed: \(failed["message"] as? String ?? "")") }
        if holds("Complete") != nil { return (.healthy, "completed") }
        if spec["suspend"] as? Bool == true { return (.suspended, "the job is suspended") }
        return (.progressing, "\(int(status, "active") ?? 0) pods active")
    }

    /// KServe's InferenceService: Healthy once its Ready condition is True for the current generation; until
    /// then Progressing with the condition's message (the deadline decides a failure).
    public static func inferenceService(_ object: [String: Any]) -> (status: HealthStatus, reason: String) {
        let (_, status, pending) = parts(object)
        if let pending { return pending }
        let conditions = status["conditions"] as? [[String: Any]] ?? []
        guard let ready = conditions.first(where: { $0["type"] as? String == "Ready" }) else {
            return (.progressing, "no Ready condition yet")
        }
        if ready["status"] as? String == "True" { return (.healthy, "Ready") }
        return (.progressing, "not Ready: \(ready["message"] as? String ?? ready["reason"] as? String ?? "")")
    }

    public static func deployment(_ object: [String: Any]) -> (status: HealthStatus, reason: String) {
        let metadata = object["metadata"] as? [String: Any] ?? [:]
        let spec = object["spec"] as? [String: Any] ?? [:]
        let status = object["status"] as? [String: Any] ?? [:]
        func int(_ map: [String: Any], _ key: String) -> Int? { (map[key] as? NSNumber)?.intValue }
        if spec["paused"] as? Bool == true { return (.suspended, "the rollout is paused") }
        let generation = int(metadata, "generation") ?? 0
        let observed = int(status, "observedGeneration") ?? 0
        guard observed >= generation else {
            return (.progressing, "generation \(generation) not observed yet (at \(observed))")
        }
        let conditions = status["conditions"] as? [[String: Any]] ?? []
        if let progressing = conditions.first(where: { $0["type"] as? String == "Progressing" }),
            progressing["reason"] as? String == "ProgressDeadlineExceeded"
        {
            return (.degraded, "exceeded its progress deadline: \(progressing["message"] as? String ?? "")")
        }
        let wanted = int(spec, "replicas") ?? 1
        let updated = int(status, "updatedReplicas") ?? 0
        let replicas = int(status, "replicas") ?? 0
        let available = int(status, "availableReplicas") ?? 0
        if updated < wanted { return (.progressing, "\(updated) of \(wanted) replicas updated") }
        if replicas > updated { return (.progressing, "\(replicas - updated) old replicas pending termination") }
        if available < updated { return (.progressing, "\(available) of \(updated) updated replicas available") }
        return (.healthy, "\(available) of \(wanted) replicas updated and available")
    }
}
