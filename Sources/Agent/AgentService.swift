import Config
import Dispatch
import Foundation
import GitOpsMLCore
import Logging
import ServiceLifecycle

/// The long-running agent: passes on a schedule (interval with jitter, backoff after failures, at once on
/// a webhook), model servers supervised between passes, all the blocking work on one serial queue off
/// Swift's cooperative pool. A swift-service-lifecycle `Service`: on SIGTERM or SIGINT it finishes the pass
/// under way, stops the model servers and returns.
public final class AgentService: Service, Sendable {
    public let metrics = AgentMetrics()
    public let config: AgentConfig
    /// The environments' rollout proxies (Sendable: read while a pass runs).
    public let proxies: [String: RolloutProxy]
    /// The cluster's routed rollouts.
    let board: RolloutBoard
    let reconciler: Confined<Reconciler>
    let logger: Logger
    private let shared: Locked<Shared>
    private let clock: any HealthClock

    private struct Shared {
        var status: AgentStatus
        var triggered = false
    }

    public init(reconciler: Reconciler, logger: Logger) {
        config = reconciler.config
        proxies = reconciler.proxies
        board = reconciler.rolloutBoard
        clock = reconciler.options.clock
        self.logger = logger
        shared = Locked(
            Shared(
                status: AgentStatus(
                    agent: reconciler.options.agent, ready: false, recovery: reconciler.recovery,
                    state: reconciler.state, config: reconciler.config)))
        // The status follows the state as it changes, so that a rollout under way shows in `/status`.
        reconciler.onStateChange = { [shared, config] state in
            shared.withLock {
                $0.status = AgentStatus(
                    agent: $0.status.agent, ready: $0.status.ready, recovery: $0.status.recovery, state: state,
                    config: config)
            }
        }
        self.reconciler = Confined(reconciler)
        if let recovery = reconciler.recovery { logger.warning("\(recovery)") }
    }

    /// A verified push to a followed branch: the next pass runs as soon as the schedule allows.
    public func trigger() { shared.withLock { $0.triggered = true } }

    public var status: AgentStatus {
        var status = shared.withLock { $0.status }
        for (name, progress) in rollouts { status.environments[name]?.rollout = progress }
        return status
    }

    /// The metrics with the rollouts' standing as of now.
    public func exposition() -> String {
        for (name, progress) in rollouts.sorted(by: { $0.key < $1.key }) {
            metrics.rollout(environment: name, progress)
        }
        return metrics.exposition()
    }

    /// The proxy that takes `environment`'s labels and the token they need; nil when it takes none.
    func feedback(_ environment: String) -> (RolloutProxy, String)? {
        guard let proxy = proxies[environment],
            let variable = config.environments.first(where: { $0.name == environment })?.feedbackTokenVariable,
            let token = ProcessSecrets.value(variable), !token.isEmpty
        else { return nil }
        return (proxy, token)
    }

    /// Every environment's rollout under way or last decided: behind its proxy, or on its cluster.
    var rollouts: [String: RolloutProxy.Progress] {
        board.all.merging(proxies.compactMapValues(\.progress)) { _, proxy in proxy }
    }

    public func run() async throws {
        var schedule = PassSchedule(interval: config.interval, now: clock.now())
        var random = SystemRandomNumberGenerator()
        logger.info(
            "agent started",
            metadata: [
                "environments": "\(config.environments.map(\.name).joined(separator: ","))",
                "repository": "\(Redaction.url(config.repository))",
            ])
        // Cancelled as well as shut down: when the endpoints fail (their port is taken), the service group
        // cancels this loop, and a loop that went on would keep deploying with no endpoint and never see
        // the SIGTERM that follows.
        var trimmed = clock.now()
        var pagesReleased: Double?
        // The end of the last pass that did something (a rollout, a rollback, a fault): the code it brought
        // in is given back once the agent has been quiet for `quietBeforeRelease`.
        var busy: Double?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Between passes too: the 20 polls a second and the endpoints free memory glibc would keep.
            if clock.now() - trimmed >= 1 {
                Self.returnFreedMemory()
                trimmed = clock.now()
            }
            if let since = busy, clock.now() - since >= Self.quietBeforeRelease {
                Self.releaseStartupPages()
                pagesReleased = clock.now()
                busy = nil
            }
            if shared.withLock({ state in
                defer { state.triggered = false }; return state.triggered
            }) {
                schedule.triggered(at: clock.now())
            }
            if schedule.wait(from: clock.now()) > 0 {
                let (events, drift) = await reconciler.run { ($0.poll(), $0.monitorDrift()) }
                for (environment, event) in events {
                    logger.warning("model server", metadata: ["environment": "\(environment)", "event": "\(event)"])
                }
                for measured in drift { metrics.servedDrift(measured) }
                try? await Task.sleep(for: .milliseconds(50))
                continue
            }
            schedule.started(at: clock.now())
            let started = clock.now()
            let (results, models, state, waitRequested) = await reconciler.run { agent in
                let results = agent.pass()
                return (results, agent.runningModels(), agent.state, agent.waitRequested)
            }
            let seconds = clock.now() - started
            Self.returnFreedMemory()
            trimmed = clock.now()
            if pagesReleased.map({ clock.now() - $0 >= 300 }) ?? true {
                // After the first pass (the model servers started, the endpoints listening), then at most
                // every five minutes: what a pass touches comes back from disk on the next one (tens of
                // milliseconds), so not after every pass.
                Self.releaseStartupPages()
                pagesReleased = clock.now()
            }
            if results.values.contains(where: { if case .synced = $0 { false } else { true } }) { busy = clock.now() }
            for (environment, result) in results.sorted(by: { $0.key < $1.key }) {
                metrics.record(
                    environment: environment, result: result, model: models[environment], seconds: seconds,
                    now: Date())
                let metadata: Logger.Metadata = ["environment": "\(environment)", "result": "\(result)"]
                if result.succeeded {
                    logger.info("pass", metadata: metadata)
                } else {
                    logger.warning("pass", metadata: metadata)
                }
            }
            shared.withLock {
                $0.status = AgentStatus(
                    agent: $0.status.agent, ready: true, recovery: $0.status.recovery, state: state, config: config)
            }
            schedule.finished(
                at: clock.now(), succeeded: results.values.allSatisfy(\.succeeded),
                random: Double.random(in: 0..<1, using: &random), notBefore: waitRequested)
        }
        logger.info("agent stopping: model servers stopped")
        await reconciler.run { $0.shutdown() }
    }
}

/// A non-Sendable value used from one serial queue only: its blocking work (libgit2, curl, waitpid) runs
/// there, never on the cooperative pool.
final class Confined<Value>: @unchecked Sendable {
    private let value: Value
    private let queue = DispatchQueue(label: "gitops-ml.agent")

    init(_ value: Value) { self.value = value }

    func run<Result: Sendable>(_ body: @escaping @Sendable (Value) -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: body(self.value)) }
        }
    }
}

extension AgentService {
    /// glibc keeps what the agent freed in its arenas (a rollout frees megabytes in small pieces, the polls
    /// between passes a little every time): private memory grew 6.6 → 43 MiB over 1,000 rollout/rollback
    /// cycles while the heap in use stayed under 5 MiB (heaptrack). Giving the free pages back after each
    /// pass and once a second between passes keeps it flat; a trim of a few megabytes takes microseconds.
    static func returnFreedMemory() { _ = mallocTrim?(0) }

    /// How long the agent stays quiet after a pass that rolled out, rolled back or failed before the code
    /// pages that pass brought in are given back (seconds): a burst of promotions is not slowed by page-ins.
    static let quietBeforeRelease: Double = 30

    /// Starting touches most of the binary once (Swift's runtime scans every protocol conformance and type
    /// descriptor, argument parsing, configuration readers, TLS set-up), and the kernel maps 64 KiB around
    /// each touch: 27.5 of the idle agent's 38.7 MiB were pages of the binary's code that start alone used.
    /// Once started, those read-only file pages are given back (`MADV_PAGEOUT`, Linux 5.4+; where it is not
    /// known nothing happens); what the passes use comes back on their first touch and stays. Pages another
    /// process maps too are left alone by the kernel. Returns the number of mappings advised.
    @discardableResult
    static func releaseStartupPages() -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return 0 }
        let pageOut: Int32 = 21  // MADV_PAGEOUT
        var advised = 0
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path: read-only, file-backed (code, constants).
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1].hasPrefix("r"), !fields[1].contains("w"), fields[4] != "0",
                fields[5].hasPrefix("/")
            else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt(String($0), radix: 16) }
            guard bounds.count == 2, bounds[1] > bounds[0], let start = UnsafeMutableRawPointer(bitPattern: bounds[0])
            else { continue }
            if madvise(start, Int(bounds[1] - bounds[0]), pageOut) == 0 { advised += 1 }
        }
        return advised
    }

    /// glibc's `malloc_trim`, looked up at run time: Swift's Glibc module does not declare <malloc.h>, and
    /// another C library (musl) may not have it, in which case nothing is done.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()
}
