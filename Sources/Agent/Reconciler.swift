import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Kubernetes
import Promotion
import Synchronization
import Trust

/// One reconcile pass per environment, as ordered steps that stop at the first failure: fetch → verify
/// the tip → desired state from the release records → compare with what was applied → apply → health →
/// record. Every step's outcome is written to the state (atomically) before the next one starts, so an
/// agent killed at any point and started again neither applies a commit twice nor forgets a rollback.
/// Blocking (libgit2, curl, child processes): call it from a dedicated thread.
public final class Reconciler {
    public struct Options: Sendable {
        /// The remote to follow (default: agent.yaml's repository).
        public var remote: String
        public var credentials: RemoteCredentials
        /// Signs rollback commits; required when the agent verifies signatures, or it would refuse its own.
        public var signer: CommitSigner?
        /// Name and e-mail on rollback commits and deployment notes (default: agent.yaml's repository's
        /// `user.name` and `user.email`); the time is that of each commit.
        public var author: GitSignature?
        /// Who applies, in deployment records.
        public var agent: String
        public var clock: any HealthClock
        public var transport: HealthAssessment.Transport
        /// Seconds between SIGTERM and SIGKILL when a model server is replaced or stopped.
        public var grace: Double
        public var restartBackoff: Backoff
        public var stores: DataStores?
        /// The cluster of kubernetes environments (default: the service account, else the kubeconfig).
        public var kubernetes: KubernetesAccess?
        /// Seconds between reads of a Deployment's rollout status.
        public var rolloutPeriod: Double

        public init(remote: String, credentials: RemoteCredentials = .fromEnvironment()) {
            self.remote = remote
            self.credentials = credentials
            agent = "gitops-ml \(GitOpsMLVersion.current) on \(ProcessInfo.processInfo.hostName)"
            clock = SystemClock()
            transport = { try HTTPClient.perform($0) }
            grace = 10
            restartBackoff = Backoff()
            rolloutPeriod = 1
        }
    }

    /// The steps of a pass, in the order they run.
    public enum Step: String, Sendable, CustomStringConvertible {
        case fetch, verify, policy, desiredState = "desired state", resume, apply, health, rollback, drift, record
        public var description: String { rawValue }
    }

    /// What a stopped pass waits for, as Flux's controllers tell it apart.
    public enum Stop: Sendable, Equatable {
        /// Only a person moves it on: a new commit, a signature, a branch (the tip failed already, cannot be
        /// verified or built, or nothing healthy is left to go back to).
        case stalled
        /// A fault of the environment or a rule that holds for now (network, disk, lock, the API server, a
        /// freeze, a soak): the next pass tries again, not before `after` seconds when a server asked.
        case waiting(after: Double?)
    }

    /// How one environment's pass ended.
    public enum Result: Sendable, Equatable, CustomStringConvertible {
        /// Nothing to do: what runs is what the branch names.
        case synced(String)
        /// What runs is what the branch names again: these objects had drifted and were applied again.
        case corrected(String, objects: [String])
        case applied(String)
        case rolledBack(failed: String, restored: String)
        /// The pass stopped at a step; what ran before still runs. `stop` says what moves it on.
        case stopped(step: Step, reason: String, stop: Stop)

        /// The environment-branch commit that runs once the pass is over, when the pass knows.
        public var commit: String? {
            switch self {
            case .synced(let commit), .applied(let commit), .corrected(let commit, _): return commit
            case .rolledBack(_, let restored): return restored
            case .stopped: return nil
            }
        }

        public var description: String {
            switch self {
            case .synced(let commit): return "synced at \(commit.prefix(12))"
            case .corrected(let commit, let objects):
                return "synced at \(commit.prefix(12)), drift corrected: \(objects.joined(separator: ", "))"
            case .applied(let commit): return "applied \(commit.prefix(12))"
            case .rolledBack(let failed, let restored):
                return "rolled back \(failed.prefix(12)) to \(restored.prefix(12))"
            case .stopped(let step, let reason, let stop):
                return "stopped at \(step) (\(stop == .stalled ? "stalled" : "retried")): \(reason)"
            }
        }

        public var succeeded: Bool {
            if case .stopped = self { return false }
            return true
        }
    }

    public let config: AgentConfig
    public let options: Options
    /// Told every change of the state as it happens, during a pass too (`/status` shows a rollout under way).
    public var onStateChange: (@Sendable (AgentState) -> Void)?
    /// Seconds a server asked the last pass to wait before the next (a Kubernetes API's 429 or 503 with
    /// Retry-After): the schedule runs no pass sooner.
    public internal(set) var waitRequested: Double?
    /// Why serve-first could not run an environment's last applied release again, by environment.
    var resumeFailures: [String: String] = [:]
    /// Opened again when its packs are consolidated (see `fetch`).
    var mirror: Repository
    let store: StateStore
    let places: LocalDeployment.Places
    public internal(set) var state: AgentState
    /// Set when the state file was corrupt and set aside.
    public private(set) var recovery: String?
    var targets: [String: LocalTarget] = [:]
    /// When each environment's served inputs were last measured for drift (`monitorDrift`).
    var driftChecked: [String: Double] = [:]
    /// The running release's training data, read once (`trainingData`).
    var trainingSets: [String: Dataset] = [:]
    /// The model each environment runs (`a,b` for several), for metrics' labels.
    var models: [String: String] = [:]
    var kubernetes: KubernetesTarget?
    /// The cluster's routed rollouts, for `/status` and `/metrics` while a pass runs.
    public let rolloutBoard = RolloutBoard()
    /// Held for the agent's lifetime: one agent per state directory.
    let lock: Int32
    let stateWrites = Mutex(())

    public init(config: AgentConfig, options: Options) throws {
        if config.verify != .off && options.signer == nil {
            throw GitOpsMLError.configuration(
                "verify is on but no signing key is set: the agent's rollback commits would fail its own verification",
                at: SourceLocation(file: "agent.yaml"))
        }
        self.config = config
        self.options = options
        places = LocalDeployment.Places(state: config.stateDirectory)
        try FileManager.default.createDirectory(atPath: config.stateDirectory, withIntermediateDirectories: true)
        lock = open(config.stateDirectory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            if lock >= 0 { close(lock) }
            throw GitOpsMLError.environment(
                "another agent uses the state directory \(config.stateDirectory) (or it cannot be locked)")
        }
        let mirrorPath = config.stateDirectory + "/repository.git"
        // Only this agent writes its mirror, and it holds the state directory: any lock file there was left by
        // an agent killed inside a lock window, and would fail every later fetch.
        Self.removeStaleLocks(in: mirrorPath)
        Self.removeTemporaries(in: places)
        mirror =
            FileManager.default.fileExists(atPath: mirrorPath)
            ? try Repository(at: mirrorPath, discover: false) : try Repository.createBare(at: mirrorPath)
        store = StateStore(path: config.stateDirectory + "/state.json")
        let loaded = try store.load()
        state = loaded.state
        recovery = loaded.recovery
        Self.stopLeftovers(owner: places.state, grace: options.grace)
        for environment in config.environments {
            _ = target(environment.name)
            state.environments[environment.name]?.serverProcessGroup = nil
        }
        try store.save(state)
    }

    /// The packs the mirror may hold before they are written into one.
    static let maximumPacks = 16

    /// Removes the `*.lock` files under a git directory (refs, packed-refs, config, index, shallow).
    static func removeStaleLocks(in gitDirectory: String) {
        guard let walker = FileManager.default.enumerator(atPath: gitDirectory) else { return }
        while let path = walker.nextObject() as? String {
            guard path.hasSuffix(".lock"), !path.hasPrefix("objects/") else { continue }
            Log.warning("removing a lock file a killed agent left", ["file": path])
            try? FileManager.default.removeItem(atPath: gitDirectory + "/" + path)
        }
    }

    /// Removes what a killed agent left half-written: temporary files beside its state file and its
    /// artifacts (a model downloaded halfway can be large), source folders being written. This agent holds
    /// the state directory, so no writer owns them.
    static func removeTemporaries(in places: LocalDeployment.Places) {
        func entries(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).map { folder + "/" + $0 }
        }
        var leftovers = entries(places.state)
        if let walker = FileManager.default.enumerator(atPath: places.artifacts) {
            while let path = walker.nextObject() as? String { leftovers.append(places.artifacts + "/" + path) }
        }
        leftovers = leftovers.filter { ($0 as NSString).lastPathComponent.hasPrefix(OutputFile.temporaryPrefix) }
        leftovers += entries(places.sources).filter {
            ($0 as NSString).lastPathComponent.hasPrefix(SourceCheckout.incomingPrefix)
        }
        for leftover in leftovers {
            Log.warning("removing what a killed agent left half-written", ["path": leftover])
            try? FileManager.default.removeItem(atPath: leftover)
        }
    }

    /// One pass over every environment; environments are independent, so one failing stops only itself.
    /// What decides a rollout (fetch, verification, policy, desired state) runs one environment after the
    /// other; the rollouts themselves, which wait on health for up to their deadlines, run at once — one
    /// slow or failing environment does not hold up the others — and what they lead to (records, reverts)
    /// is written one environment after the other again.
    @discardableResult
    public func pass() -> [String: Result] {
        waitRequested = nil
        let fetched = fetch()
        var results: [String: Result] = [:]
        var rollouts: [Rollout] = []
        for environment in config.environments {
            serveLastApplied(environment)
            if let failure = fetched {
                results[environment.name] = .stopped(step: .fetch, reason: failure, stop: .waiting(after: nil))
                continue
            }
            switch prepare(environment) {
            case .done(let result): results[environment.name] = result
            case .rolling(let rollout): rollouts.append(rollout)
            }
        }
        for (rollout, outcome) in zip(rollouts, rollOut(rollouts)) {
            do {
                results[rollout.environment.name] = try finish(rollout, outcome)
            } catch {
                results[rollout.environment.name] = .stopped(
                    step: .record, reason: "\(error)", stop: .waiting(after: nil))
            }
        }
        for environment in config.environments {
            if let result = results[environment.name] { record(result, for: environment.name) }
        }
        return results
    }

    /// Runs the rollouts at once, each on a thread of its own (they block on health checks and the API for
    /// up to their deadlines: a pool as wide as the CPUs would queue the third environment behind two).
    func rollOut(_ rollouts: [Rollout]) -> [LocalTarget.Outcome] {
        let outcomes = Locked<[Int: LocalTarget.Outcome]>([:])
        // Each rollout touches only its own environment's target (a local server, or the objects of its own
        // namespace through a client that is safe to share); what they write to the state goes through
        // `update`, which serialises it. Neither the plans nor the reconciler are Sendable types for that.
        nonisolated(unsafe) let rollouts = rollouts
        nonisolated(unsafe) let reconciler = self
        let done = DispatchGroup()
        for index in rollouts.indices {
            done.enter()
            Thread {
                let rollout = rollouts[index]
                let outcome = rollout.plan.roll { failed in
                    reconciler.update(rollout.environment.name) {
                        $0.inFlight = AgentState.InFlight(
                            commit: rollout.tip.hex, phase: .restoring, started: rollout.started,
                            reasons: failed.failedReasons)
                    }
                }
                outcomes.withLock { $0[index] = outcome }
                done.leave()
            }.start()
        }
        done.wait()
        return outcomes.withLock { found in rollouts.indices.map { found[$0] ?? .fault("the rollout did not end") } }
    }

    /// Restarts crashed model servers when their backoff allows; call it between passes.
    public func poll() -> [(environment: String, event: ServerSupervisor.Event)] {
        var events: [(String, ServerSupervisor.Event)] = []
        for (name, target) in targets.sorted(by: { $0.key < $1.key }) {
            guard let event = target.poll() else { continue }
            events.append((name, event))
            // A server that crashed is Degraded until it has stayed up (a crash loop is not Healthy).
            update(name) {
                $0.health = HealthStatus.degraded.description
                if case .restarted = event { $0.serverProcessGroup = target.serverProcessGroup }
            }
        }
        return events
    }

    deinit { close(lock) }

    /// The model each environment runs, for metrics' labels.
    public func runningModels() -> [String: String] { models }

    /// Stops every model server (graceful shutdown of the agent).
    public func shutdown() {
        for (name, target) in targets {
            target.stop()
            target.stopProxy()
            update(name) { $0.serverProcessGroup = nil }
        }
    }

    /// The rollout proxies of the environments that have one (read by `/status` and `/metrics` while a
    /// pass runs: they are Sendable).
    public var proxies: [String: RolloutProxy] { targets.compactMapValues(\.proxy) }
}
