import Foundation
import GitOpsMLCore
import Prometheus
import Synchronization

/// The agent's Prometheus metrics, with the names the generated alert rules use
/// (templates/monitoring/alerts.rules.yml): per environment, passes and failed passes, rollbacks (with
/// the model), pass duration, the applied revision (an info gauge) and the time of the last good pass.
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let revisions = Mutex<[String: Gauge]>([:])

    public init() {}

    /// Records one environment's pass.
    public func record(environment: String, result: Reconciler.Result, model: String?, seconds: Double, now: Date) {
        let labels = [("environment", environment)]
        registry.makeCounter(descriptor: Self.name("sync", "total", "Reconcile passes."), labels: labels).increment()
        registry.makeValueHistogram(
            descriptor: Self.name("reconcile_duration", "seconds", "Seconds a pass took, health checks included."),
            labels: labels, buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300]
        ).record(seconds)
        let failures = registry.makeCounter(
            descriptor: Self.name("sync_failures", "total", "Passes that stopped at a step or rolled back."),
            labels: labels)
        let rollbacks = registry.makeCounter(
            descriptor: Self.name("rollbacks", "total", "Releases that failed their checks and were reverted."),
            labels: labels + [("model", model ?? "")])
        switch result {
        case .corrected(_, let objects):
            registry.makeCounter(
                descriptor: Self.name(
                    "drift_corrections", "total", "Objects found changed in the cluster and applied again."),
                labels: labels
            ).increment(by: Int64(objects.count))
            fallthrough
        case .synced, .applied:
            registry.makeGauge(
                descriptor: Self.name("last_success_timestamp", "seconds", "Unix time of the last good pass."),
                labels: labels
            ).set(now.timeIntervalSince1970)
            if let commit = result.commit { applied(environment: environment, revision: commit) }
        case .rolledBack(_, let restored):
            failures.increment()
            rollbacks.increment()
            applied(environment: environment, revision: restored)
        case .stopped:
            failures.increment()
        }
    }

    /// `gitops_ml_agent_applied_revision_info{environment, revision} 1`, one series per environment.
    private func applied(environment: String, revision: String) {
        revisions.withLock { gauges in
            if let old = gauges[environment] { registry.unregisterGauge(old) }
            let gauge = registry.makeGauge(
                descriptor: Self.name("applied_revision", "info", "The environment-branch commit running; always 1."),
                labels: [("environment", environment), ("revision", revision)])
            gauge.set(Double(1))
            gauges[environment] = gauge
        }
    }

    /// A rollout's standing: the challenger's share, the observations, the decision (0 under way, 1
    /// complete or promoted by budget, −1 rolled back) and each rule's confidence sequence.
    public func rollout(environment: String, _ progress: RolloutProxy.Progress) {
        let labels = [("environment", environment), ("strategy", progress.strategy)]
        registry.makeGauge(
            descriptor: Self.name("rollout_percent", "", "The challenger's share of requests, in percent."),
            labels: labels
        ).set(progress.percent)
        registry.makeGauge(
            descriptor: Self.name("rollout_observations", "", "Requests the rollout's analysis has read."),
            labels: labels
        ).set(Double(progress.observations))
        let decision: Double
        switch progress.events.last?.action {
        case .complete?, .budgetPromote?: decision = 1
        case .rollBack?, .budgetRollBack?: decision = -1
        default: decision = 0
        }
        registry.makeGauge(
            descriptor: Self.name("rollout_decision", "", "0 under way, 1 promoted, -1 rolled back."), labels: labels
        ).set(decision)
        for judgement in progress.judgements {
            guard let interval = judgement.interval else { continue }
            for (bound, value) in [
                ("estimate", interval.estimate), ("lower", interval.lower), ("upper", interval.upper),
            ] {
                registry.makeGauge(
                    descriptor: Self.name(
                        "rollout_difference", "",
                        "The challenger minus the champion per signal (paired: the mean difference), with its "
                            + "always-valid confidence sequence."),
                    labels: labels + [("signal", judgement.rule.signal), ("bound", bound)]
                ).set(value)
            }
        }
    }

    /// The last production-drift measurement of an environment: per judged column its test's score and
    /// verdict, the share of drifted columns, the dataset verdict and the inputs it rests on.
    public func servedDrift(_ drift: ServedDrift) {
        let labels = [("environment", drift.environment), ("model", drift.model), ("dataset", drift.dataset)]
        registry.makeGauge(
            descriptor: Self.name(
                "served_dataset_drift", "", "1 when the served inputs drifted from the training data."),
            labels: labels
        ).set(Double(drift.report.datasetDrift ? 1 : 0))
        registry.makeGauge(
            descriptor: Self.name("served_drift_share", "", "The share of judged columns that drifted."), labels: labels
        ).set(drift.report.share)
        registry.makeGauge(
            descriptor: Self.name("served_inputs_sampled", "", "Served inputs the last measurement compared."),
            labels: labels
        ).set(Double(drift.sampled))
        for column in drift.report.evaluated {
            let columnLabels = labels + [("column", column.column), ("test", column.test?.rawValue ?? "")]
            registry.makeGauge(
                descriptor: Self.name(
                    "served_drift_score", "", "A column's drift score (a p-value or a distance, as its test gives)."),
                labels: columnLabels
            ).set(column.score ?? .nan)
            registry.makeGauge(
                descriptor: Self.name("served_drift_detected", "", "1 when the column drifted."), labels: columnLabels
            ).set(Double(column.drifted == true ? 1 : 0))
        }
    }

    /// The text format Prometheus scrapes.
    public func exposition() -> String { registry.emitToString() }

    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "gitops_ml", subsystem: "agent", metricName: metric, unitName: unit, helpText: help)
    }
}
