import Foundation

/// A Deployment's rollout health from its status, as `kubectl rollout status` and gitops-engine judge it:
/// the controller must have observed the current generation; every replica updated and available, no old
/// replica left; a Progressing condition with reason ProgressDeadlineExceeded is a failure (Degraded),
/// anything else short of done is Progressing; a paused rollout is Suspended.
public enum RolloutHealth {
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
