import AsyncHTTPClient
import Config
import Foundation
import Gates
import GitOpsMLCore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The local target's front door when agent.yaml gives it one (`proxy: {upstreams: [A, B]}`): it serves the
/// stable port and forwards each request to a model server on one of two upstream ports, so that a new
/// version starts beside the one that serves. During a canary it splits requests by the analysis's current
/// share (by a stable hash of the `key` header when the rollout names one, else at random); during a shadow
/// or a blue-green window it answers from the champion and sends the challenger a copy, whose answer is
/// recorded and never returned. Every outcome of a rollout is fed to its `RolloutAnalysis` as it happens
/// and written to the outcomes file, so the decision the analysis takes is the one `rollout analyze`
/// replays. A rollout that is decided moves the traffic at once: all to the champion when it is rolled
/// back, all to the challenger when it completes.
public final class RolloutProxy: Sendable {
    public enum Route: Sendable, Equatable {
        case none
        case single(port: Int)
        case rollout(champion: Int, challenger: Int)
    }

    /// A snapshot of the rollout under way, for `/status`, `/metrics` and the deployment record.
    public struct Progress: Sendable, Codable, Equatable {
        public var strategy: String
        public var percent: Double
        public var observations: Int
        public var events: [RolloutEvent]
        public var judgements: [SequentialRule.Judgement]
        public var skippedMirrors: Int

        /// `canary at 50 % after 1,204 observations: under way`, each decision, each rule's standing.
        public var text: String {
            let decision = events.last.flatMap { $0.isFinal ? $0.action.rawValue : nil } ?? "under way"
            var lines = [
                "\(strategy) at \(GateEvaluator.format(percent)) % after \(observations) observations: \(decision)"
            ]
            lines += events.map { "  " + $0.summary }
            lines += judgements.map { "  \($0.summary)\n    \($0.rule.method)" }
            if skippedMirrors > 0 { lines.append("  \(skippedMirrors) copies skipped (the challenger was slow)") }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    struct State {
        var route = Route.none
        var settings: RolloutSettings?
        var analysis: RolloutAnalysis?
        var pending: [String] = []
        var recorded = 0
        var mirrorsInFlight = 0
        /// Requests sent to each upstream port and not answered yet.
        var inFlight: [Int: Int] = [:]
        var skippedMirrors = 0
        var random = SplitMix64(seed: UInt64(UInt32.random(in: 0...UInt32.max)))
        /// The sample of served inputs for production drift; nil when the environment does not watch it.
        var inputs: ServedInputs?
        /// The rollout's recent answers awaiting their labels (a `labels` rule only).
        var awaitingLabels: RecentRequests?
    }

    public let port: Int
    public let host: String
    /// Where a rollout's outcomes are written (JSON Lines), truncated when a rollout begins.
    public let outcomesPath: String
    let state = Mutex(State())
    let client: HTTPClient
    private let server = Mutex<(ServiceGroup, Task<Void, Never>)?>(nil)

    /// Request bodies are read whole (to send a copy and to replay); larger ones get 413.
    static let maximumBodyBytes = 16 << 20
    /// Outcomes written to a rollout's file at most (the analysis goes on in memory past it).
    static let maximumRecorded = 2_000_000
    /// Copies waiting for the challenger's answer at once; past it a copy is skipped (and counted), so a
    /// slow challenger cannot pile up work in the agent.
    static let maximumMirrors = 64
    static let upstreamTimeout: TimeAmount = .seconds(60)

    public init(port: Int, host: String = "0.0.0.0", outcomesPath: String, reuseConnections: Bool = true) {
        self.port = port
        self.host = host
        self.outcomesPath = outcomesPath
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: Self.upstreamTimeout)
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        // `reuseConnections: false`, one request per connection: for a server that writes its head and its
        // body in two sends without TCP_NODELAY (Python's http.server as it comes), which on a reused
        // connection meets the kernel's delayed ACK, 40 ms a request; a new loopback connection costs about
        // 0.4 ms more than a reused one (benchmarks/README.md).
        configuration.maximumUsesPerConnection = reuseConnections ? nil : 1
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit { try? client.syncShutdown() }

    // MARK: Control (from the local target's thread)

    /// Starts serving; returns once the port is bound (throws when it cannot be within 10 seconds).
    public func start(logger: Logger = Logger(label: "gitops-ml.proxy")) throws {
        let bound = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        let application = Application(
            responder: CallbackResponder<BasicRequestContext> { request, _ in await self.respond(to: request) },
            server: .http1(configuration: .init(idleTimeout: .seconds(Endpoints.idleSeconds))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { _ in bound.signal() }, logger: logger)
        let group = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let running = Task(executorPreference: Self.executor) {
            do {
                try await group.run()
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            bound.signal()
        }
        server.withLock { $0 = (group, running) }
        guard bound.wait(timeout: .now() + 10) == .success, failure.withLock({ $0 }) == nil else {
            stop()
            throw GitOpsMLError.environment(
                "the rollout proxy could not listen on \(host):\(port): \(failure.withLock { $0 } ?? "timed out")")
        }
    }

    /// Stops serving: connections are closed gracefully (requests under way are answered first).
    public func stop() {
        guard
            let (group, running) = server.withLock({ server in
                defer { server = nil }; return server
            })
        else { return }
        let stopped = DispatchSemaphore(value: 0)
        Task(executorPreference: Self.executor) {
            await group.triggerGracefulShutdown()
            await running.value
            stopped.signal()
        }
        _ = stopped.wait(timeout: .now() + 10)
    }

    /// Everything to one server (nil: none serves; requests get 503), no rollout; the last rollout's
    /// analysis stays readable (`progress`) until the next begins.
    public func serve(port upstream: Int?) {
        state.withLock { $0.route = upstream.map { .single(port: $0) } ?? .none }
    }

    /// A rollout begins: the analysis of `settings`, requests split or copied between the two ports.
    public func begin(_ settings: RolloutSettings, champion: Int, challenger: Int) {
        _ = FileManager.default.createFile(atPath: outcomesPath, contents: nil)
        state.withLock {
            $0.route = .rollout(champion: champion, challenger: challenger)
            $0.settings = settings
            $0.analysis = RolloutAnalysis(plan: settings.plan)
            $0.pending = []
            $0.recorded = 0
            $0.skippedMirrors = 0
            $0.awaitingLabels = nil
        }
    }

    public var route: Route { state.withLock { $0.route } }

    /// Keeps a uniform sample of at most `capacity` served inputs from now on (production drift).
    public func sampleInputs(capacity: Int) {
        state.withLock { $0.inputs = ServedInputs(capacity: capacity) }
    }

    /// The inputs sampled since the last call, as JSON Lines, and how many were served; nil while fewer
    /// than `minimum` are sampled (they carry over to the next call).
    public func takeInputs(minimum: Int) -> (lines: [String], seen: Int)? {
        state.withLock { $0.inputs?.take(minimum: minimum) }
    }

    /// Waits (up to `timeout` seconds) until no request sent to `upstream` is still unanswered: called after
    /// the traffic has moved away from a server and before it is stopped, so that no request is cut off.
    public func drain(port upstream: Int, timeout: Double) {
        let end = Date().addingTimeInterval(timeout)
        while state.withLock({ $0.inFlight[upstream, default: 0] }) > 0, Date() < end {
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// The rollout's time budget is spent: the plan's default is taken (requests in flight count no more).
    public func expire() {
        state.withLock { _ = $0.analysis?.expire(at: Date().timeIntervalSince1970) }
    }

    /// The rollout's final decision, once taken.
    public var decision: RolloutEvent? { state.withLock { $0.analysis?.finished } }

    public var progress: Progress? {
        state.withLock { state in
            guard let analysis = state.analysis, let settings = state.settings else { return nil }
            return Progress(
                strategy: settings.strategy.rawValue, percent: analysis.percent, observations: analysis.observations,
                events: analysis.events, judgements: analysis.finished?.judgements ?? analysis.judgements,
                skippedMirrors: state.skippedMirrors)
        }
    }

    /// Appends the outcomes recorded since the last call to the outcomes file (called from the local
    /// target's thread, never from a request's).
    public func flushOutcomes() {
        let lines = state.withLock { state -> [String] in
            defer { state.pending = [] }
            return state.pending
        }
        guard !lines.isEmpty, let handle = FileHandle(forWritingAtPath: outcomesPath) else { return }
        defer { try? handle.close() }
        _ = try? handle.seekToEnd()
        try? handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
    }

    /// The proxy's tasks run on threads of their own, never on Swift's cooperative pool: whoever waits for
    /// a rollout's decision (the reconcile pass, blocking by design) may hold a pool thread while the
    /// proxy must go on serving the very requests that decide it.
    static let executor = DispatchTaskExecutor(DispatchQueue(label: "gitops-ml.proxy", attributes: .concurrent))

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    /// FNV-1a, 64 bits: the same key always lands on the same side of a step's share.
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// A task executor on a dispatch queue (SE-0417): tasks that prefer it run there, their children too.
final class DispatchTaskExecutor: TaskExecutor {
    let queue: DispatchQueue

    init(_ queue: DispatchQueue) { self.queue = queue }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
