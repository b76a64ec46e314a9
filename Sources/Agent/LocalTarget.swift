import Config
import Foundation
import Gates
import GitOpsMLCore

/// The embedded target: one model server on this host, on a stable port. A new release replaces the running
/// one (they cannot share the port), is health-checked, and when it fails the previous release is started
/// again and checked in turn. A release that fails with nothing to go back to is stopped: a model that
/// fails its checks does not serve.
///
/// With a rollout proxy (agent.yaml `proxy`), the proxy serves the stable port and the servers take turns
/// on two upstream ports: a new release starts beside the one that serves, is checked there, and takes
/// over at once (replace), step by step (canary), after a mirrored window and a hold (blue-green) or after
/// a mirrored analysis (shadow), as its record's `rollout:` says; while it is judged, what served before
/// keeps serving, so a failure needs no restart.
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
        /// The release could not be judged: the cluster or the host failed (an API server's 409, 429 or 5xx,
        /// a network error). Nothing is restored or reverted; the next pass tries again, not before the
        /// seconds the server asked to wait (`Retry-After` of a 429 or 503), when it asked.
        case fault(String, retryAfter: Double? = nil)
    }

    public internal(set) var running: Release?
    let clock: any HealthClock
    let backoff: Backoff
    /// Seconds between SIGTERM and SIGKILL when a server is replaced or stopped.
    let grace: Double
    var supervisor: ServerSupervisor?
    /// The proxy on the stable port and the two ports behind it; nil and empty without one.
    public let proxy: RolloutProxy?
    let upstreams: [Int]
    var proxyListening = false
    /// Told each new server's process group as soon as it is started, so that it is in the agent's state
    /// before anything else can happen to the agent.
    public var onStart: ((Int32) -> Void)?

    public init(
        clock: any HealthClock = SystemClock(), backoff: Backoff = Backoff(), grace: Double = 10,
        proxy: RolloutProxy? = nil, upstreams: [Int] = []
    ) {
        self.clock = clock
        self.backoff = backoff
        self.grace = grace
        self.proxy = proxy
        self.upstreams = upstreams
    }

    /// The port a new server starts on: behind a proxy, the upstream the running server does not use; nil
    /// without a proxy (the release's own port).
    public var nextPort: Int? {
        guard proxy != nil else { return nil }
        return upstreams.first { $0 != running?.launch.port } ?? upstreams.first
    }

    /// Replaces what runs with `release`, checked by `health`. When it fails, `fallback` (default: what ran
    /// before) is started again and checked by `fallbackHealth` (default: `health`); `willRestore` is told
    /// first, so that the caller can write down that a rollback is under way before it happens.
    public func roll(
        to release: Release, health: HealthAssessment, fallback: Release? = nil,
        fallbackHealth: HealthAssessment? = nil, rollout: RolloutSettings? = nil,
        willRestore: (HealthReport) -> Void = { _ in }
    ) -> Outcome {
        if let proxy {
            if let problem = listen(proxy) { return .fault(problem) }
            if let champion = running, let serving = supervisor, serving.pid != nil {
                return rollBeside(
                    release, health: health, champion: champion, serving: serving, rollout: rollout, proxy: proxy,
                    willRestore: willRestore)
            }
        }
        let previous = fallback ?? running
        let report = start(release, health: health)
        if report.status == .healthy { return .healthy(report) }
        guard let previous else { return .failed(report, restored: nil) }
        willRestore(report)
        let restored = start(previous, health: fallbackHealth ?? health)
        return restored.status == .healthy
            ? .rolledBack(failed: report, restored: restored) : .failed(report, restored: restored)
    }

    /// Starts `release` when nothing runs (after a restart of the agent), without a fallback.
    public func resume(_ release: Release, health: HealthAssessment) -> HealthReport {
        if let proxy, let problem = listen(proxy) {
            return HealthReport(checks: [HealthCheckResult(name: "proxy", status: .missing, reason: problem)])
        }
        return start(release, health: health)
    }

    /// Takes `release` as what runs without a restart: it runs the same server under another commit.
    public func adopt(_ release: Release) {
        precondition(running?.launch == release.launch, "adopt only what already runs")
        running = release
    }

    /// Crashes of the running server since it last stayed up (0: stable).
    public var crashesInARow: Int { supervisor?.crashesInARow ?? 0 }

    /// The process group of the running server (its pid), for the state file.
    public var serverProcessGroup: Int32? { supervisor?.pid }

    /// Restarts a crashed server when its backoff allows; see `ServerSupervisor.poll`.
    public func poll() -> ServerSupervisor.Event? { supervisor?.poll() }

    public func stop() {
        supervisor?.stop(grace: grace)
        supervisor = nil
        running = nil
        if proxyListening { proxy?.serve(port: nil) }
    }

    func start(_ release: Release, health: HealthAssessment) -> HealthReport {
        stop()
        // Something else on the port would answer the health checks in the new server's place.
        if let port = release.launch.environment["PORT"].flatMap(Int.init), Self.answers(port: port) {
            return HealthReport(checks: [
                HealthCheckResult(
                    name: "server", status: .missing,
                    reason: "port \(port) is in use by another process: nothing was started")
            ])
        }
        let candidate = ServerSupervisor(release.launch, clock: clock, backoff: backoff)
        do {
            try candidate.start()
        } catch {
            return HealthReport(checks: [HealthCheckResult(name: "server", status: .missing, reason: "\(error)")])
        }
        if let pid = candidate.pid { onStart?(pid) }
        supervisor = candidate
        running = release
        var report = health.run()
        if report.status == .healthy, let port = release.launch.port { proxy?.serve(port: port) }
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

    /// True when something accepts connections on 127.0.0.1:`port`.
    static func answers(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Stops the proxy (the agent is shutting down).
    public func stopProxy() {
        proxy?.stop()
        proxyListening = false
    }

    deinit {
        stop()
        stopProxy()
    }
}
