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
    public private(set) var waitRequested: Double?
    /// Why serve-first could not run an environment's last applied release again, by environment.
    private var resumeFailures: [String: String] = [:]
    /// Opened again when its packs are consolidated (see `fetch`).
    private(set) var mirror: Repository
    let store: StateStore
    let places: LocalDeployment.Places
    public private(set) var state: AgentState
    /// Set when the state file was corrupt and set aside.
    public private(set) var recovery: String?
    private var targets: [String: LocalTarget] = [:]
    /// The model each environment runs (`a,b` for several), for metrics' labels.
    private var models: [String: String] = [:]
    private var kubernetes: KubernetesTarget?
    /// Held for the agent's lifetime: one agent per state directory.
    private let lock: Int32
    private let stateWrites = Mutex(())

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
    private func rollOut(_ rollouts: [Rollout]) -> [LocalTarget.Outcome] {
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
            update(name) { $0.serverProcessGroup = nil }
        }
    }

    // MARK: - Steps

    /// Serve first: a local environment with no server running (the agent restarted, or its server was
    /// stopped) runs the last release it applied again before anything else is tried — a remote that cannot
    /// be fetched, a branch whose tip failed already or a revert that waits never leave it without one.
    /// Not a new deployment: nothing is recorded; a resume that fails is logged and the pass goes on.
    private func serveLastApplied(_ environment: AgentConfig.Environment) {
        let name = environment.name
        guard environment.target == .local, target(name).running == nil,
            let applied = state.environments[name]?.lastApplied,
            state.environments[name]?.inFlight?.phase != .restoring
        else { return }
        do {
            let desired = try deployment(environment, at: ObjectID(hex: applied))
            let report = target(name).resume(desired.release, health: health(environment, desired))
            update(name) { $0.serverProcessGroup = self.target(name).serverProcessGroup }
            if report.status == .healthy {
                models[name] = desired.record.model
                resumeFailures[name] = nil
            } else {
                resumeFailures[name] = report.failedReasons.joined(separator: "; ")
                Log.warning(
                    "the last applied release did not come back healthy",
                    ["environment": name, "commit": String(applied.prefix(12)), "reason": resumeFailures[name] ?? ""])
            }
        } catch {
            resumeFailures[name] = "\(error)"
            Log.warning("the last applied release cannot be read", ["environment": name, "error": "\(error)"])
        }
    }

    /// Every branch, so release records and the source commits they name are both here; and the notes.
    private func fetch() -> String? {
        do {
            try mirror.fetch(
                options.remote, refspecs: ["+refs/heads/*:refs/remotes/origin/*", "+refs/notes/*:refs/notes/*"],
                credentials: options.credentials)
            // Each fetch that brings objects adds a pack, which libgit2 keeps open once read: past a few,
            // they become one, and the mirror is opened again so that the removed packs are closed. Files
            // open and packs on disk stay bounded however many passes run.
            if mirror.packCount > Self.maximumPacks {
                try mirror.consolidatePacks()
                mirror = try Repository(at: mirror.gitDirectory, discover: false)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Everything up to a rollout: either the pass's result for the environment, or the rollout to run.
    private func prepare(_ environment: AgentConfig.Environment) -> Stage {
        let name = environment.name
        do {
            publishRecords(name)
            guard let tip = try mirror.referenceTarget("refs/remotes/origin/" + environment.branch) else {
                return .done(
                    .stopped(step: .fetch, reason: "the remote has no branch \(environment.branch)", stop: .stalled))
            }
            if let pending = state.environments[name]?.pendingRollback {
                if let stopped = try pushRollback(environment, pending, tip: tip) { return .done(stopped) }
                let after = try mirror.referenceTarget("refs/remotes/origin/" + environment.branch) ?? tip
                // The revert an earlier pass could not push landed now: this pass reports that rollback, once
                // (what runs was restored then; the next pass finds the revert's tree running).
                if after != tip { return .done(.rolledBack(failed: pending.failed, restored: pending.restored)) }
                // Someone promoted on top of the failed commit: that newer commit is what to try.
                return try prepare(environment, tip: after)
            }
            return try prepare(environment, tip: tip)
        } catch {
            return .done(.stopped(step: .record, reason: "\(error)", stop: .waiting(after: nil)))
        }
    }

    /// A rollout ready to run: `roll` applies it and falls back, telling `willRestore` first.
    private struct Plan {
        var model: String
        var roll: ((HealthReport) -> Void) -> LocalTarget.Outcome
    }

    private enum Planned {
        case done(Result)
        case roll(Plan)
    }

    /// A rollout ready to run for one environment, and what its outcome is recorded against.
    private struct Rollout {
        var environment: AgentConfig.Environment
        var tip: ObjectID
        var started: Date
        var plan: Plan
    }

    private enum Stage {
        case done(Result)
        case rolling(Rollout)
    }

    private func prepare(_ environment: AgentConfig.Environment, tip: ObjectID) throws -> Stage {
        let name = environment.name
        let current = state.environments[name] ?? AgentState.Environment()

        // A rollback a killed agent left half done: the failed commit is not tried again.
        if let inFlight = current.inFlight, inFlight.phase == .restoring {
            return .done(
                try finishRollback(environment, failed: ObjectID(hex: inFlight.commit), reasons: inFlight.reasons))
        }
        if tip.hex == current.lastFailed {
            return .done(
                .stopped(step: .apply, reason: "\(tip.short) failed already; waiting for a new commit", stop: .stalled))
        }
        // What a cluster runs outlives the agent; a local server does not.
        let running = environment.target == .kubernetes || target(name).running != nil
        if tip.hex == current.lastApplied, running {
            if environment.target == .kubernetes { return .done(correctDrift(environment, tip: tip)) }
            // Healthy again once a server that crashed has stayed up long enough for its count to clear.
            if environment.target == .local, current.health == HealthStatus.degraded.description,
                target(name).crashesInARow == 0
            {
                update(name) { $0.health = HealthStatus.healthy.description }
            }
            return .done(.synced(tip.hex))
        }

        if let stopped = verify(environment, tip: tip, lastApplied: current.lastApplied) { return .done(stopped) }
        if let stopped = checkPolicy(environment, tip: tip, lastApplied: current.lastApplied) { return .done(stopped) }

        let step: Planned
        do {
            step =
                environment.target == .local
                ? try localPlan(environment, tip: tip, current: current)
                : try kubernetesPlan(environment, tip: tip, current: current)
        } catch let error as CategorizedError where error.category == .configuration || error.category == .usage {
            // The release itself is wrong (its record, its digest, its source): refused and reverted.
            return .done(try failWithoutStarting(environment, tip: tip, reason: "\(error)"))
        } catch {
            // A fault of this host or of the remote (a full disk, an unreadable cache): nothing is wrong with
            // the release, so nothing is reverted; what runs keeps running and the next pass tries again.
            return .done(
                .stopped(step: .desiredState, reason: "\(error); retried next pass", stop: .waiting(after: nil)))
        }
        guard case .roll(let plan) = step else {
            if case .done(let result) = step { return .done(result) }
            return .done(.synced(tip.hex))
        }

        let started = Date()
        update(name) {
            $0.lastAttempted = tip.hex
            $0.inFlight = AgentState.InFlight(commit: tip.hex, phase: .applying, started: started)
        }
        return .rolling(Rollout(environment: environment, tip: tip, started: started, plan: plan))
    }

    /// What a rollout's outcome leads to: the record, the state, a revert.
    private func finish(_ rollout: Rollout, _ outcome: LocalTarget.Outcome) throws -> Result {
        let (environment, tip, started, plan) = (rollout.environment, rollout.tip, rollout.started, rollout.plan)
        let name = environment.name
        if environment.target == .local {
            update(name) { $0.serverProcessGroup = self.target(name).serverProcessGroup }
        }
        switch outcome {
        case .healthy(let report):
            models[name] = plan.model
            let record = deploymentRecord(
                environment, tip, started, .healthy, report.checks.map(\.outcome), restored: nil)
            update(name) {
                $0.lastApplied = tip.hex
                $0.inFlight = nil
                $0.lastFailed = nil
                $0.health = report.status.description
                $0.unpublished.append(record)
            }
            publishRecords(name)
            return .applied(tip.hex)
        case .rolledBack(let failed, _):
            models[name] = plan.model
            return try rolledBack(environment, failed: tip, started: started, checks: failed.checks.map(\.outcome))
        case .fault(let reason, let retryAfter):
            // Not a verdict on the release: nothing recorded, restored or reverted; the next pass applies it
            // again (server-side apply is idempotent), not before the server asked.
            update(name) { $0.inFlight = nil }
            if let retryAfter { waitRequested = max(waitRequested ?? 0, retryAfter) }
            return .stopped(step: .apply, reason: "\(reason); retried next pass", stop: .waiting(after: retryAfter))
        case .failed(let failed, _):
            let record = deploymentRecord(
                environment, tip, started, .failed, failed.checks.map(\.outcome), restored: nil)
            update(name) {
                $0.inFlight = nil
                $0.lastFailed = tip.hex
                $0.health = failed.status.description
                $0.unpublished.append(record)
            }
            publishRecords(name)
            return .stopped(step: .health, reason: failed.failedReasons.joined(separator: "; "), stop: .stalled)
        }
    }

    private func localPlan(_ environment: AgentConfig.Environment, tip: ObjectID, current: AgentState.Environment)
        throws -> Planned
    {
        let name = environment.name
        let target = self.target(name)
        let desired = try deployment(environment, at: tip)
        // Another process on the port (another agent, a server started by hand) is a fault of this host, not
        // a verdict on the release: nothing is started, recorded or reverted, and the next pass tries again.
        if target.running == nil, let port = desired.release.launch.environment["PORT"].flatMap(Int.init),
            LocalTarget.answers(port: port)
        {
            return .done(
                .stopped(
                    step: .apply,
                    reason: "port \(port) is in use by another process: nothing started; retried next pass",
                    stop: .waiting(after: nil)))
        }
        // What was applied and is not running: serve-first tried to run it again this pass and could not.
        if tip.hex == current.lastApplied {
            return .done(
                .stopped(
                    step: .resume, reason: resumeFailures[name] ?? "the last applied release is not running",
                    stop: .waiting(after: nil)))
        }
        // Same server as what runs (a revert commit, a change that does not touch this model): no restart.
        if let running = target.running, running.launch == desired.release.launch {
            target.adopt(desired.release)
            update(name) {
                $0.lastAttempted = tip.hex
                $0.lastApplied = tip.hex
            }
            return .done(.synced(tip.hex))
        }
        let fallback = try current.lastApplied.map { try deployment(environment, at: ObjectID(hex: $0)) }
        return .roll(
            Plan(model: desired.record.model) { willRestore in
                target.roll(
                    to: desired.release, health: self.health(environment, desired), fallback: fallback?.release,
                    fallbackHealth: fallback.map { self.health(environment, $0) }, willRestore: willRestore)
            })
    }

    private func kubernetesPlan(
        _ environment: AgentConfig.Environment, tip: ObjectID, current: AgentState.Environment
    ) throws -> Planned {
        let objects = try manifests(environment, at: tip)
        // The environment's namespace (agent.yaml) bounds what its releases may touch.
        if let stray = objects.first(where: { $0.namespace != nil && $0.namespace != environment.namespace }) {
            throw GitOpsMLError.configuration(
                "\(stray.reference) is outside \(environment.name)'s namespace \(environment.namespace) (agent.yaml): refused",
                at: SourceLocation(file: "deploy/\(environment.name)/"))
        }
        let fallback = try current.lastApplied.map {
            try manifests(environment, at: ObjectID(hex: $0))
        }
        let target = try cluster()
        let model = try EnvironmentReleases.read(environment.name, at: tip, in: mirror).keys.sorted()
            .joined(separator: ",")
        return .roll(
            Plan(model: model) { willRestore in
                target.roll(
                    to: objects, environment: environment.name, deadline: environment.health.deadline,
                    fallback: fallback, willRestore: willRestore)
            })
    }

    /// What the cluster holds of the applied release, compared with git at every pass and applied again
    /// where it drifted (an edit, a `kubectl scale`, a deleted object): git stays the truth between
    /// promotions. A fault is retried next pass; the release is not in question.
    private func correctDrift(_ environment: AgentConfig.Environment, tip: ObjectID) -> Result {
        do {
            let corrected = try cluster().correctDrift(manifests(environment, at: tip), environment: environment.name)
            guard !corrected.isEmpty else { return .synced(tip.hex) }
            Log.warning(
                "drift corrected", ["environment": environment.name, "objects": corrected.joined(separator: ", ")])
            return .corrected(tip.hex, objects: corrected)
        } catch {
            return .stopped(step: .drift, reason: "\(error); retried next pass", stop: .waiting(after: nil))
        }
    }

    /// Puts `commit` back on the environment's target (a rollback a killed agent left half done).
    private func restore(_ environment: AgentConfig.Environment, _ commit: ObjectID) throws -> HealthReport {
        switch environment.target {
        case .local:
            let fallback = try deployment(environment, at: commit)
            let target = self.target(environment.name)
            let report = target.resume(fallback.release, health: health(environment, fallback))
            update(environment.name) { $0.serverProcessGroup = target.serverProcessGroup }
            if report.status == .healthy { models[environment.name] = fallback.record.model }
            return report
        case .kubernetes:
            return try cluster().apply(
                manifests(environment, at: commit), environment: environment.name,
                deadline: environment.health.deadline)
        }
    }

    private func manifests(_ environment: AgentConfig.Environment, at commit: ObjectID) throws -> [KubernetesObject] {
        try ManifestSet.read(environment: environment.name, in: mirror.fileView(.git(commit.hex)))
    }

    /// The cluster, from the service account or the kubeconfig; resolved once.
    private func cluster() throws -> KubernetesTarget {
        if let kubernetes { return kubernetes }
        let access = try options.kubernetes ?? KubernetesAccess.resolve(scratch: places.state + "/kubernetes")
        let target = KubernetesTarget(
            client: KubernetesClient(access: access, transport: options.transport), clock: options.clock,
            period: options.rolloutPeriod)
        kubernetes = target
        return target
    }

    /// With verification on (agent.yaml `verify`), everything applying `tip` relies on, not only the tip:
    /// the tip descends from the last applied commit (a force-push back to an older signed release is a
    /// downgrade, refused; the agent's own reverts descend from what they revert), and every commit since
    /// then that changes the environment's release records or manifests, or the policies, is signed by an
    /// allowed signer — an unsigned rewrite under a signed commit is refused by name. With nothing applied
    /// yet, every such commit in the tip's history counts. nil when it all holds.
    private func verify(_ environment: AgentConfig.Environment, tip: ObjectID, lastApplied: String?) -> Result? {
        let trust: CommitVerifier.Trust
        switch config.verify {
        case .off: return nil
        case .ssh(let allowed): trust = .sshAllowedSigners(allowed)
        case .openPGP(let keyring): trust = .openPGPKeyring(keyring)
        }
        do {
            let applied = lastApplied.map { ObjectID(hex: $0) }
            if let applied, try !mirror.isAncestor(applied, of: tip) {
                return .stopped(
                    step: .verify,
                    reason: "\(tip.short) does not descend from \(applied.short), the last applied commit: "
                        + "a rewritten branch or a downgrade is refused (remove the agent's state to accept it)",
                    stop: .stalled)
            }
            _ = try CommitVerifier.verify(tip, in: mirror, trust: trust)
            let paths = ["environments/\(environment.name)", "deploy/\(environment.name)", "policies"]
            for commit in try mirror.history(from: tip.hex, paths: paths) where commit.id != tip {
                if let applied, try mirror.isAncestor(commit.id, of: applied) { continue }
                _ = try CommitVerifier.verify(commit.id, in: mirror, trust: trust)
            }
            return nil
        } catch {
            return .stopped(step: .verify, reason: "\(error)", stop: .stalled)
        }
    }

    /// The PromotionPolicy on what applying `tip` would change: each release record that differs in any
    /// field (source, version, artifact, digest) from the last applied one, with the commit that last wrote it (its signature, not its trailers, counts), judged
    /// now — a freeze or a soak delays a rollout rather than failing it. The rules are those of the
    /// environment branch before that commit, else of the default branch. nil when nothing breaks them, when
    /// no policy covers the environment, or when no record changes (the agent's own revert commits put back
    /// what was applied).
    private func checkPolicy(_ environment: AgentConfig.Environment, tip: ObjectID, lastApplied: String?) -> Result? {
        do {
            guard
                let trusted = try RulesInForce.defaultBranch(
                    in: mirror, configured: config.defaultBranch, policies: false)
            else {
                return nil
            }
            let applied = try EnvironmentReleases.read(
                environment.name, at: lastApplied.map { ObjectID(hex: $0) }, in: mirror)
            let changed = try EnvironmentReleases.read(environment.name, at: tip, in: mirror)
                .filter { applied[$0.key] != $0.value }.sorted { $0.key < $1.key }
            guard !changed.isEmpty else { return nil }
            var broken: [String] = []
            for (model, record) in changed where ObjectID.isFullHex(record.sourceCommit) {
                let path = ReleaseRecord.path(environment: environment.name, model: model)
                guard let commit = try mirror.history(from: tip.hex, paths: [path], limit: 1).first else { continue }
                let subject = PromotionRules.Subject(
                    model: model, environment: environment.name, sourceCommit: ObjectID(hex: record.sourceCommit),
                    time: Date(), promotionCommit: commit.id, signature: .commit(commit.id))
                let violations = try PromotionGate.violations(
                    subject, environmentTip: commit.parents.first, trusted: trusted, repository: mirror)
                if !violations.isEmpty {
                    broken.append(
                        "\(commit.id.short) breaks the PromotionPolicy: " + violations.joined(separator: "; "))
                }
            }
            return broken.isEmpty
                ? nil : .stopped(step: .policy, reason: broken.joined(separator: " | "), stop: .waiting(after: nil))
        } catch {
            return .stopped(step: .policy, reason: "\(error)", stop: .waiting(after: nil))
        }
    }

    /// A commit that cannot even be built (bad record, artifact digest differs): what ran keeps running,
    /// and when there is one, the branch is rolled back to it so the bad commit is not tried again.
    private func failWithoutStarting(_ environment: AgentConfig.Environment, tip: ObjectID, reason: String) throws
        -> Result
    {
        let name = environment.name
        let check = CheckOutcome(
            name: RollbackCommit.releaseCheck, status: HealthStatus.degraded.description, reason: reason)
        guard state.environments[name]?.lastApplied != nil else {
            update(name) {
                $0.lastAttempted = tip.hex
                $0.lastFailed = tip.hex
                $0.unpublished.append(self.deploymentRecord(environment, tip, Date(), .failed, [check], restored: nil))
            }
            publishRecords(name)
            return .stopped(step: .desiredState, reason: reason, stop: .stalled)
        }
        update(name) { $0.lastAttempted = tip.hex }
        return try rolledBack(environment, failed: tip, started: Date(), checks: [check])
    }

    /// The last healthy commit runs again: recorded, then the revert commit pushed (or kept for later).
    private func rolledBack(
        _ environment: AgentConfig.Environment, failed: ObjectID, started: Date, checks: [CheckOutcome]
    ) throws -> Result {
        let name = environment.name
        guard let restored = state.environments[name]?.lastApplied else {
            return .stopped(step: .rollback, reason: "nothing healthy to go back to", stop: .stalled)
        }
        let reasons = checks.filter { $0.status != HealthStatus.healthy.description }.map { "\($0.name): \($0.reason)" }
        let pending = AgentState.PendingRollback(failed: failed.hex, restored: restored, reasons: reasons)
        let record = deploymentRecord(environment, failed, started, .failed, checks, restored: restored)
        update(name) {
            $0.inFlight = nil
            $0.lastFailed = failed.hex
            $0.health = HealthStatus.healthy.description
            $0.pendingRollback = pending
            $0.unpublished.append(record)
        }
        publishRecords(name)
        if let stopped = try pushRollback(environment, pending, tip: failed) { return stopped }
        return .rolledBack(failed: failed.hex, restored: restored)
    }

    /// A restart after the agent was killed while putting the last healthy commit back.
    private func finishRollback(_ environment: AgentConfig.Environment, failed: ObjectID, reasons: [String]) throws
        -> Result
    {
        let name = environment.name
        guard let restored = state.environments[name]?.lastApplied else {
            update(name) {
                $0.inFlight = nil
                $0.lastFailed = failed.hex
            }
            return .stopped(step: .rollback, reason: "nothing healthy to go back to", stop: .stalled)
        }
        let report = try restore(environment, ObjectID(hex: restored))
        guard report.status == .healthy else {
            return .stopped(
                step: .rollback,
                reason: "\(restored.prefix(12)) failed too: \(report.failedReasons.joined(separator: "; "))",
                stop: .waiting(after: nil))
        }
        let checks = reasons.map { CheckOutcome(name: "before restart", status: "Degraded", reason: $0) }
        return try rolledBack(environment, failed: failed, started: Date(), checks: checks)
    }

    /// Writes the revert commit on the failed tip and pushes it by compare-and-swap. Nil when pushed (or no
    /// longer needed: someone promoted on top, and that newer commit is what to try next).
    private func pushRollback(
        _ environment: AgentConfig.Environment, _ pending: AgentState.PendingRollback, tip: ObjectID
    )
        throws -> Result?
    {
        let name = environment.name
        let failed = ObjectID(hex: pending.failed)
        guard tip == failed else {
            update(name) { $0.pendingRollback = nil }
            return nil
        }
        let branch = "refs/heads/" + environment.branch
        let restored = ObjectID(hex: pending.restored)
        do {
            // Back to before the failed release, not to what ran: newer promotions never tried stay.
            let commit = RollbackCommit(
                environment: name, branch: branch, failed: failed, restored: restored,
                target: try RollbackCommit.target(environment: name, failed: failed, restored: restored, in: mirror),
                reasons: pending.reasons)
            try mirror.updateReference(branch, to: failed, expected: try mirror.referenceTarget(branch))
            let written = try commit.write(in: mirror, author: author(), signer: options.signer)
            if let revert = written {
                try mirror.pushCompareAndSwap(
                    options.remote, localRef: branch, remoteRef: branch, expected: failed,
                    credentials: options.credentials)
                try mirror.updateReference("refs/remotes/origin/" + environment.branch, to: revert, expected: failed)
            }
        } catch let error as GitError where error.code == .nonFastForward {
            update(name) { $0.pendingRollback = nil }
            return nil
        } catch {
            return .stopped(
                step: .rollback, reason: "the revert commit is not pushed yet (\(error)); retried next pass",
                stop: .waiting(after: nil))
        }
        update(name) { $0.pendingRollback = nil }
        return nil
    }

    /// Pushes the deployment records not yet on the remote, oldest first; they stay in the state otherwise.
    /// Best effort: a record that cannot be pushed now stays in the state and goes with a later pass; it
    /// never holds up applying, restoring or the revert commit.
    private func publishRecords(_ name: String) {
        while let record = state.environments[name]?.unpublished.first {
            do {
                try DeploymentNotes.publish(
                    record, remote: options.remote, in: mirror, author: author(), signer: options.signer,
                    credentials: options.credentials)
            } catch {
                Log.warning("deployment record not published yet", ["environment": name, "error": "\(error)"])
                return
            }
            update(name) { $0.unpublished.removeFirst() }
        }
    }

    // MARK: - Helpers

    /// Every configured environment has its target from `init`.
    private func target(_ name: String) -> LocalTarget {
        if let target = targets[name] { return target }
        let target = LocalTarget(clock: options.clock, backoff: options.restartBackoff, grace: options.grace)
        target.onStart = { [unowned self] group in self.update(name) { $0.serverProcessGroup = group } }
        targets[name] = target
        return target
    }

    private func author() -> GitSignature? {
        options.author.map { GitSignature(name: $0.name, email: $0.email) }
    }

    private func deployment(_ environment: AgentConfig.Environment, at commit: ObjectID) throws -> LocalDeployment {
        try LocalDeployment(
            environment: environment, commit: commit, in: mirror, places: places,
            stores: options.stores ?? DataStores(dvcCache: nil, lfsObjects: mirror.gitDirectory + "/lfs/objects"))
    }

    private func health(_ environment: AgentConfig.Environment, _ deployment: LocalDeployment) -> HealthAssessment {
        HealthAssessment(
            environment.health, base: "http://127.0.0.1:\(deployment.release.launch.environment["PORT"] ?? "")",
            healthPath: deployment.healthPath, predictPath: deployment.predictPath, sample: deployment.sample,
            clock: options.clock, transport: options.transport)
    }

    private func deploymentRecord(
        _ environment: AgentConfig.Environment, _ commit: ObjectID, _ started: Date,
        _ outcome: DeploymentRecord.Outcome, _ checks: [CheckOutcome], restored: String?
    ) -> DeploymentRecord {
        DeploymentRecord(
            environment: environment.name, target: environment.target.rawValue, commit: commit.hex, started: started,
            finished: Date(), outcome: outcome, checks: checks, restored: restored, agent: options.agent)
    }

    /// The pass's result as the environment's conditions: `Synced`, and for a pass that stopped, `Stalled`
    /// (a person must act) or `Reconciling` (retried), as Flux's kstatus conditions say it.
    private func record(_ result: Result, for name: String) {
        var conditions: [CheckOutcome] = []
        let condition: CheckOutcome
        switch result {
        case .synced(let commit):
            condition = CheckOutcome(name: "Synced", status: "True", reason: "at \(commit.prefix(12))")
        case .corrected(let commit, let objects):
            condition = CheckOutcome(
                name: "Synced", status: "True",
                reason: "at \(commit.prefix(12)); drift corrected: \(objects.joined(separator: ", "))")
        case .applied(let commit):
            condition = CheckOutcome(name: "Synced", status: "True", reason: "applied \(commit.prefix(12))")
        case .rolledBack(let failed, let restored):
            condition = CheckOutcome(
                name: "Synced", status: "False",
                reason: "RolledBack: \(failed.prefix(12)) failed its checks; \(restored.prefix(12)) runs again")
        case .stopped(let step, let reason, let stop):
            condition = CheckOutcome(name: "Synced", status: "False", reason: "\(step): \(reason)")
            switch stop {
            case .stalled:
                conditions.append(CheckOutcome(name: "Stalled", status: "True", reason: "\(step): a person must act"))
            case .waiting(let after):
                conditions.append(
                    CheckOutcome(
                        name: "Reconciling", status: "True",
                        reason: "\(step): retried next pass" + (after.map { ", not before \(Int($0)) s" } ?? "")))
            }
        }
        update(name) { $0.conditions = [condition] + conditions }
    }

    /// Changes one environment's state and writes the whole state file before going on; one change at a
    /// time (rollouts of several environments run at once).
    private func update(_ name: String, _ change: (inout AgentState.Environment) -> Void) {
        stateWrites.withLock { _ in
            var environment = state.environments[name] ?? AgentState.Environment()
            change(&environment)
            state.environments[name] = environment
            do {
                try store.save(state)
            } catch {
                Log.warning("agent state", ["path": store.path, "error": "\(error)"])
            }
            onStateChange?(state)
        }
    }

    /// Stops the servers a killed agent left running: every process whose environment carries this state
    /// directory (`LocalDeployment.ownerVariable`), found in /proc, with its process group. The state's
    /// record of the group could miss a server started a moment before the kill; /proc does not.
    static func stopLeftovers(owner: String, grace: Double) {
        let marker = Data("\(LocalDeployment.ownerVariable)=\(owner)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let groups = Set(
            entries.compactMap { Int32($0) }.filter { pid in
                pid != getpid()
                    && FileManager.default.contents(atPath: "/proc/\(pid)/environ")?.split(separator: 0)
                        .contains(marker) == true
            }.map { getpgid($0) }.filter { $0 > 1 && $0 != getpgrp() })
        guard !groups.isEmpty else { return }
        Log.warning("stopping model servers a previous agent left running", ["groups": "\(groups.sorted())"])
        for group in groups { kill(-group, SIGTERM) }
        let end = Date().addingTimeInterval(grace)
        while groups.contains(where: { kill(-$0, 0) == 0 }) && Date() < end { usleep(50_000) }
        for group in groups { kill(-group, SIGKILL) }
    }
}

extension HealthReport {
    /// `name: reason` of every check that did not pass.
    var failedReasons: [String] {
        failures.map { "\($0.name): \($0.reason)" }
    }
}
