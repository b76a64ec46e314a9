import Foundation
import GitOpsMLCore

/// The embedded target: one model server on this host, on a stable port. A new release replaces the running
/// one (they cannot share the port), is health-checked, and when it fails the previous release is started
/// again and checked in turn. A release that fails with nothing to go back to is stopped: a model that
/// fails its checks does not serve.
public final class LocalTarget {
    public struct Release: Sendable, Equatable {
        /// The environment-branch commit this release comes from.
        public var commit: String
        public var launch: ServerLaunch

        public init(commit: String, launch: ServerLaunch) {
            self.commit = commit
            self.launch = launch
        }
    }

    public enum Outcome: Sendable, Equatable {
        case healthy(HealthReport)
        /// The new release failed; the previous one runs again and passed its checks.
        case rolledBack(failed: HealthReport, restored: HealthReport)
        /// The new release failed and nothing healthy runs: no previous release, or it failed too.
        case failed(HealthReport, restored: HealthReport?)
    }

    public private(set) var running: Release?
    let clock: any HealthClock
    let backoff: Backoff
    /// Seconds between SIGTERM and SIGKILL when a server is replaced or stopped.
    let grace: Double
    private var supervisor: ServerSupervisor?

    public init(clock: any HealthClock = SystemClock(), backoff: Backoff = Backoff(), grace: Double = 10) {
        self.clock = clock
        self.backoff = backoff
        self.grace = grace
    }

    /// Replaces what runs with `release`; `health` checks whichever release is on the port.
    public func roll(to release: Release, health: HealthAssessment) -> Outcome {
        let previous = running
        let report = start(release, health: health)
        if report.status == .healthy { return .healthy(report) }
        guard let previous else { return .failed(report, restored: nil) }
        let restored = start(previous, health: health)
        return restored.status == .healthy
            ? .rolledBack(failed: report, restored: restored) : .failed(report, restored: restored)
    }

    /// Restarts a crashed server when its backoff allows; see `ServerSupervisor.poll`.
    public func poll() -> ServerSupervisor.Event? { supervisor?.poll() }

    public func stop() {
        supervisor?.stop(grace: grace)
        supervisor = nil
        running = nil
    }

    private func start(_ release: Release, health: HealthAssessment) -> HealthReport {
        stop()
        let candidate = ServerSupervisor(release.launch, clock: clock, backoff: backoff)
        do {
            try candidate.start()
        } catch {
            return HealthReport(checks: [HealthCheckResult(name: "server", status: .missing, reason: "\(error)")])
        }
        supervisor = candidate
        running = release
        var report = health.run()
        if report.status != .healthy {
            if candidate.pid == nil {
                report.checks.append(
                    HealthCheckResult(
                        name: "server", status: .missing,
                        reason: "exited during the checks (its output is in \(release.launch.logPath))"))
            }
            stop()
        }
        return report
    }

    deinit { stop() }
}
