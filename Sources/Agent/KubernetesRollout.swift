import GitOpsMLCore
import Kubernetes

extension KubernetesTarget {
    /// Applies a release and, when it fails its rollout, the one before it again (`fallback`), telling
    /// `willRestore` first; what is not the release's fault is a `fault`, retried by the next pass.
    func roll(
        to objects: [KubernetesObject], environment: String, deadline: Double, fallback: [KubernetesObject]?,
        willRestore: (HealthReport) -> Void = { _ in }
    ) -> LocalTarget.Outcome {
        let report: HealthReport
        do {
            report = try apply(objects, environment: environment, deadline: deadline, previous: fallback)
        } catch let failure as KubernetesClient.Failure {
            return .fault("\(failure)", retryAfter: failure.retryAfter)
        } catch {
            return .fault("\(error)")
        }
        if report.status == .healthy { return .healthy(report) }
        guard let fallback else { return .failed(report, restored: nil) }
        willRestore(report)
        let restored =
            (try? apply(fallback, environment: environment, deadline: deadline, previous: objects))
            ?? HealthReport(checks: [])
        return restored.status == .healthy
            ? .rolledBack(failed: report, restored: restored) : .failed(report, restored: restored)
    }
}
