import Config
import Foundation
import Gates
import GitOpsMLCore
import Kubernetes

/// The cluster's rollouts under way or last decided, by environment: what `/status` and `/metrics` show
/// while a pass waits on one (the local target's proxies show their own).
public final class RolloutBoard: Sendable {
    private let progress = Locked<[String: RolloutProxy.Progress]>([:])

    public init() {}

    public var all: [String: RolloutProxy.Progress] { progress.withLock { $0 } }

    func post(_ environment: String, _ analysis: RolloutAnalysis, strategy: String) {
        let snapshot = RolloutProxy.Progress(
            strategy: strategy, percent: analysis.percent, observations: analysis.observations,
            events: analysis.events, judgements: analysis.finished?.judgements ?? analysis.judgements,
            skippedMirrors: 0)
        progress.withLock { $0[environment] = snapshot }
    }
}

/// A routed rollout on a cluster: the models whose HTTPRoute moves (their objects changed since the
/// release that serves), the rollout that judges them and where their outcomes are counted.
struct RoutedRollout {
    var routes: [TrafficRoute]
    var settings: RolloutSettings
    var outcomes: PrometheusOutcomes?
    var clock: any HealthClock
    var board: RolloutBoard
    /// Where every read of the counters is written (JSON Lines, `rollout analyze` replays them).
    var outcomesPath: String

    /// Where the route of a rollout under way points: a canary's share; a copy of every request to the new
    /// track while a shadow or a blue-green window is judged.
    func routing(_ route: TrafficRoute, percent: Double) throws -> KubernetesObject {
        try route.routing(canary: percent, mirror: settings.strategy != .canary && percent == 0)
    }
}

extension KubernetesTarget {
    /// Applies a release and, when it fails its rollout, the one before it again (`fallback`), telling
    /// `willRestore` first; what is not the release's fault is a `fault`, retried by the next pass. With a
    /// routed rollout, a healthy release is then judged on its live traffic, its routes moved as the
    /// analysis decides: all to the new track once it completes, all back before the fallback is applied.
    func roll(
        to objects: [KubernetesObject], environment: String, deadline: Double, fallback: [KubernetesObject]?,
        routed: RoutedRollout? = nil, willRestore: (HealthReport) -> Void = { _ in }
    ) -> LocalTarget.Outcome {
        var report: HealthReport
        do {
            report = try apply(objects, environment: environment, deadline: deadline, previous: fallback)
            if report.status == .healthy, let routed {
                let (check, routes) = judge(routed, environment: environment)
                report.checks.append(check)
                for route in routes { try client.apply(route.owned(by: environment)) }
            }
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

    /// The rollout judged on the counts Prometheus reads per track until every route's analysis decides or
    /// the budget is spent; each step's route applied as it is decided. The check says what was decided, on
    /// what evidence, by which method; the routes returned are where the traffic must end (all to the new
    /// track, or all back to the stable one).
    private func judge(_ routed: RoutedRollout, environment: String) -> (HealthCheckResult, [KubernetesObject]) {
        let settings = routed.settings
        let clock = routed.clock
        let strategy = settings.strategy.rawValue
        guard let outcomes = routed.outcomes else {
            Log.warning(
                "a \(strategy) rollout on a cluster is judged on Prometheus's counts (agent.yaml prometheus: {url: …}): "
                    + "the new version takes every request at once", ["environment": environment])
            return (
                HealthCheckResult(
                    name: "rollout analysis", status: .healthy,
                    reason: "\(strategy): not judged (no prometheus in agent.yaml): every request to the new track"),
                (try? routed.routes.map { try $0.routing(canary: 100, mirror: false) }) ?? []
            )
        }
        var analyses = routed.routes.map { _ in RolloutAnalysis(plan: settings.plan(paired: false)) }
        _ = FileManager.default.createFile(atPath: routed.outcomesPath, contents: nil)
        let outcomesFile = FileHandle(forWritingAtPath: routed.outcomesPath)
        defer { try? outcomesFile?.close() }
        var counted = routed.routes.map { _ in CountedOutcomes() }
        var applied = analyses.map(\.percent)
        let end = clock.now() + (settings.maximumDuration ?? 3600)
        var unread: String?
        while analyses.contains(where: { $0.finished == nil }) {
            let now = Date().timeIntervalSince1970
            for index in routed.routes.indices where analyses[index].finished == nil {
                let route = routed.routes[index]
                do {
                    let counts = try outcomes.counts(model: route.model, objective: settings.latency?.objective)
                    let line = OutcomeRecord.counted(time: now, model: route.model, counts: counts).line + "\n"
                    try? outcomesFile?.write(contentsOf: Data(line.utf8))
                    for observation in counted[index].observations(
                        counts, time: now, latency: settings.latency != nil)
                    {
                        analyses[index].observe(observation)
                    }
                    unread = nil
                } catch {
                    // No evidence is no verdict: the budget goes on running. Said once, not at every read.
                    if unread != "\(error)" {
                        Log.warning("rollout outcomes not read", ["environment": environment, "error": "\(error)"])
                    }
                    unread = "\(error)"
                }
                if clock.now() >= end { analyses[index].expire(at: now) }
                // A step decided moves the route; one the API refused is applied again at the next read.
                let percent = analyses[index].finished == nil ? analyses[index].percent : applied[index]
                if percent != applied[index] {
                    do {
                        try client.apply(routed.routing(route, percent: percent).owned(by: environment))
                        applied[index] = percent
                        Log.info(
                            "rollout step", ["environment": environment, "model": route.model, "percent": "\(percent)"])
                    } catch {
                        Log.warning("route not moved", ["environment": environment, "error": "\(error)"])
                    }
                }
            }
            // The first model's rollout stands for the environment's (one model a promotion, as a rule).
            if let analysis = analyses.first { routed.board.post(environment, analysis, strategy: strategy) }
            if analyses.contains(where: { [.rollBack, .budgetRollBack].contains($0.finished?.action) }) { break }
            if analyses.contains(where: { $0.finished == nil }) { clock.sleep(outcomes.query.every) }
        }
        let promote = analyses.allSatisfy { [.complete, .budgetPromote].contains($0.finished?.action) }
        let reason =
            zip(routed.routes, analyses).map { route, analysis in
                let methods = Set(analysis.judgements.map(\.rule.method)).sorted().joined(separator: "; ")
                return "\(route.model): \(strategy) on Prometheus's counts: "
                    + (analysis.finished?.summary ?? "undecided (another model's rollout was rolled back)")
                    + " [\(methods)]"
            }.joined(separator: "; ") + (unread.map { "; last read failed: \($0)" } ?? "")
        let routes = routed.routes.compactMap { try? $0.routing(canary: promote ? 100 : 0, mirror: false) }
        return (
            HealthCheckResult(name: "rollout analysis", status: promote ? .healthy : .degraded, reason: reason), routes
        )
    }
}
