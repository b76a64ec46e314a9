import Config
import Foundation
import Gates
import GitOpsMLCore

/// Rollouts behind the proxy: the new server starts beside the one that serves and takes over as the
/// release's `rollout:` says, judged on live traffic by the proxy's analysis.
extension LocalTarget {
    /// How often the rollout under way is looked at (its outcomes written, its servers polled).
    static let rolloutTick = 0.05

    /// Starts the proxy on the stable port once; a problem when it cannot listen (a fault of this host).
    func listen(_ proxy: RolloutProxy) -> String? {
        guard !proxyListening else { return nil }
        do {
            try proxy.start()
            proxyListening = true
            return nil
        } catch {
            return "\(error)"
        }
    }

    func rollBeside(
        _ release: Release, health: HealthAssessment, champion: Release, serving: ServerSupervisor,
        rollout: RolloutSettings?, proxy: RolloutProxy, willRestore: (HealthReport) -> Void
    ) -> Outcome {
        let kept = HealthReport(checks: [
            HealthCheckResult(
                name: "server", status: .healthy,
                reason: "the version that served before kept serving throughout (on port \(champion.launch.port ?? 0))")
        ])
        guard let newPort = release.launch.port, let oldPort = champion.launch.port, newPort != oldPort else {
            return .fault("the new server's port is the one that serves: nothing started")
        }
        let candidate = ServerSupervisor(release.launch, clock: clock, backoff: backoff)
        var report: HealthReport
        if Self.answers(port: newPort) {
            report = HealthReport(checks: [
                HealthCheckResult(
                    name: "server", status: .missing,
                    reason: "port \(newPort) is in use by another process: nothing was started")
            ])
        } else {
            do {
                try candidate.start()
                if let pid = candidate.pid { onStart?(pid) }
                report = health.run()
            } catch {
                report = HealthReport(checks: [HealthCheckResult(name: "server", status: .missing, reason: "\(error)")])
            }
        }
        if report.status == .healthy, let rollout, rollout.strategy != .replace {
            report.checks.append(
                judge(rollout, proxy: proxy, champion: oldPort, challenger: newPort, candidate: candidate))
        }
        guard report.status == .healthy else {
            willRestore(report)
            proxy.serve(port: oldPort)
            proxy.drain(port: newPort, timeout: grace)
            _ = candidate.stop(grace: grace)
            return .rolledBack(failed: report, restored: kept)
        }
        // The new server takes everything; the old one is stopped only then.
        proxy.serve(port: newPort)
        proxy.drain(port: oldPort, timeout: grace)
        _ = serving.stop(grace: grace)
        supervisor = candidate
        running = release
        return .healthy(report)
    }

    /// The rollout judged on live traffic until its analysis decides or its time runs out; blue-green then
    /// holds the old server warm while the new one serves everything. The check (healthy: the new version
    /// takes over; degraded: it is rolled back) says what was decided, on what evidence, by which method.
    private func judge(
        _ rollout: RolloutSettings, proxy: RolloutProxy, champion: Int, challenger: Int, candidate: ServerSupervisor
    ) -> HealthCheckResult {
        proxy.begin(rollout, champion: champion, challenger: challenger)
        let end = clock.now() + (rollout.maximumDuration ?? 3600)
        var decision = proxy.decision
        while decision == nil {
            proxy.flushOutcomes()
            _ = supervisor?.poll()
            _ = candidate.poll()
            if clock.now() >= end { proxy.expire() }
            decision = proxy.decision
            if decision == nil { clock.sleep(Self.rolloutTick) }
        }
        proxy.flushOutcomes()
        let progress = proxy.progress
        let methods = Set((progress?.judgements ?? []).map(\.rule.method)).sorted().joined(separator: "; ")
        var promote = [.complete, .budgetPromote].contains(decision?.action)
        var reason = "\(rollout.strategy.rawValue): " + (decision?.summary ?? "undecided") + " [\(methods)]"
        if promote, rollout.strategy == .blueGreen {
            // Switched at once; the old server stays warm for an instant switch back until the hold ends.
            let holdEnd = clock.now() + rollout.hold
            while clock.now() < holdEnd {
                if case .crashed = candidate.poll() {
                    promote = false
                    reason += "; the new server crashed during the hold: switched back"
                    break
                }
                _ = supervisor?.poll()
                clock.sleep(Self.rolloutTick)
            }
        }
        return HealthCheckResult(name: "rollout analysis", status: promote ? .healthy : .degraded, reason: reason)
    }
}
