import Config
import Datasets
import Foundation
import Gates
import GitOpsMLCore
import GitStore
import HTTPClient
import Kubernetes
import Promotion
import Synchronization
import Trust

/// The steps of a pass, in order: serve what ran last, fetch, then per environment verify, policy,
/// desired state, resume or apply, health, and (on failure) rollback; drift is corrected on a synced tip.
extension Reconciler {
    // MARK: - Steps

    /// Serve first: a local environment with no server running (the agent restarted, or its server was
    /// stopped) runs the last release it applied again before anything else is tried — a remote that cannot
    /// be fetched, a branch whose tip failed already or a revert that waits never leave it without one.
    /// Not a new deployment: nothing is recorded; a resume that fails is logged and the pass goes on.
    func serveLastApplied(_ environment: AgentConfig.Environment) {
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
    func fetch() -> String? {
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
    func prepare(_ environment: AgentConfig.Environment) -> Stage {
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
    struct Plan {
        var model: String
        var roll: ((HealthReport) -> Void) -> LocalTarget.Outcome
    }

    enum Planned {
        case done(Result)
        case roll(Plan)
    }

    /// A rollout ready to run for one environment, and what its outcome is recorded against.
    struct Rollout {
        var environment: AgentConfig.Environment
        var tip: ObjectID
        var started: Date
        var plan: Plan
    }

    enum Stage {
        case done(Result)
        case rolling(Rollout)
    }

    func prepare(_ environment: AgentConfig.Environment, tip: ObjectID) throws -> Stage {
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

    /// The deployment records on `tip`: those a trusted key signed when the agent verifies, else all.
    func recordsToTrust(for tip: ObjectID) throws -> [DeploymentRecord] {
        guard let trust else { return try DeploymentNotes.records(for: tip, in: mirror) }
        return try DeploymentNotes.verifiedRecords(for: tip, in: mirror, trust: trust)
    }

    /// The keys agent.yaml's `verify` trusts; nil when it is off.
    var trust: CommitVerifier.Trust? {
        switch config.verify {
        case .off: nil
        case .ssh(let allowed): .sshAllowedSigners(allowed)
        case .openPGP(let keyring): .openPGPKeyring(keyring)
        }
    }

    /// What a rollout's outcome leads to: the record, the state, a revert.
    func finish(_ rollout: Rollout, _ outcome: LocalTarget.Outcome) throws -> Result {
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
            // A healthy deployment of this commit that this agent recorded already (it lost its state — a
            // corrupt file set aside, a new state directory — or the branch came back to a commit it ran)
            // stands, and is not written twice. With verification on, only a record a trusted key signed
            // counts: whoever can push notes must not be able to keep a deployment out of the record.
            let recorded = (try? recordsToTrust(for: tip))?.contains {
                $0.environment == name && $0.agent == options.agent && $0.outcome == .healthy
            }
            if recorded == true {
                Log.warning(
                    "applied again after the state was lost; its healthy deployment is recorded already",
                    ["environment": name, "commit": tip.short])
            }
            update(name) {
                $0.lastApplied = tip.hex
                $0.inFlight = nil
                $0.lastFailed = nil
                $0.health = report.status.description
                if recorded != true { $0.unpublished.append(record) }
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

    func localPlan(_ environment: AgentConfig.Environment, tip: ObjectID, current: AgentState.Environment)
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
        // Behind the proxy, compared (and adopted) on the port it runs on, whichever of the two that is
        // (a killed agent's successor may have started it on either).
        if let running = target.running,
            case let same = try target.proxy == nil
                ? desired : deployment(environment, at: tip, port: running.launch.port),
            same.release.launch == running.launch
        {
            target.adopt(same.release)
            update(name) {
                $0.lastAttempted = tip.hex
                $0.lastApplied = tip.hex
            }
            return .done(.synced(tip.hex))
        }
        let fallback = try current.lastApplied.map { try deployment(environment, at: ObjectID(hex: $0)) }
        // The default branch's PromotionPolicy decides how a release is judged, not the record (whoever can
        // push the environment branch could loosen it); a record's own rollout counts only where the policy
        // names none (it can only add an analysis to an immediate replace).
        let trusted = try trustedRollout(environment, tip: tip)
        if let recorded = desired.record.rollout, let trusted, recorded != trusted {
            Log.warning(
                "the release record's rollout differs from the PromotionPolicy's: the policy's is followed",
                ["environment": name])
        }
        let rollout = trusted ?? desired.record.rollout
        if let rollout, rollout.strategy != .replace, target.proxy == nil {
            Log.warning(
                "a \(rollout.strategy.rawValue) rollout needs the agent's proxy (agent.yaml proxy: {upstreams: […]}): "
                    + "the new version replaces the old at once",
                ["environment": name])
        }
        return .roll(
            Plan(model: desired.record.model) { willRestore in
                target.roll(
                    to: desired.release, health: self.health(environment, desired), fallback: fallback?.release,
                    fallbackHealth: fallback.map { self.health(environment, $0) }, rollout: rollout,
                    willRestore: willRestore)
            })
    }

    func kubernetesPlan(
        _ environment: AgentConfig.Environment, tip: ObjectID, current: AgentState.Environment
    ) throws -> Planned {
        let objects = try manifests(environment, at: tip)
        // The environment's namespace (agent.yaml) bounds what its releases may touch.
        if let stray = objects.first(where: { $0.namespace != nil && $0.namespace != environment.namespace }) {
            throw GitOpsMLError.configuration(
                "\(stray.reference) is outside \(environment.name)'s namespace \(environment.namespace) (agent.yaml): refused",
                at: SourceLocation(file: "deploy/\(environment.name)/"))
        }
        // What serves was accepted: its routes are settled (all to its new track), not at git's first step.
        let fallback = try current.lastApplied.map {
            try TrafficRoute.settled(manifests(environment, at: ObjectID(hex: $0)))
        }
        let target = try cluster()
        let model = try EnvironmentReleases.read(environment.name, at: tip, in: mirror).keys.sorted()
            .joined(separator: ",")
        let (release, routed) = try routedRollout(environment, tip: tip, objects: objects, fallback: fallback)
        return .roll(
            Plan(model: model) { willRestore in
                target.roll(
                    to: release, environment: environment.name, deadline: environment.health.deadline,
                    fallback: fallback, routed: routed, willRestore: willRestore)
            })
    }

    /// The release's objects as the rollout starts, and the rollout of the routes that move: those of the
    /// models whose objects changed since `fallback` (every route when nothing serves yet) start at the
    /// first step of the trusted rollout; the others stay settled. nil: nothing to judge on live traffic.
    func routedRollout(
        _ environment: AgentConfig.Environment, tip: ObjectID, objects: [KubernetesObject],
        fallback: [KubernetesObject]?
    ) throws -> ([KubernetesObject], RoutedRollout?) {
        let routes = TrafficRoute.routes(in: objects)
        let records = try EnvironmentReleases.read(environment.name, at: tip, in: mirror)
        guard !routes.isEmpty else {
            // A release that asks for a routed rollout (a version before it to keep serving) but was
            // rendered without a gateway: said, and applied as it is.
            for record in records.values.sorted(by: { $0.model < $1.model })
            where record.previousVersion != nil && (record.rollout.map { $0.strategy != .replace } ?? false) {
                Log.warning(
                    "\(record.model)'s \(record.rollout?.strategy.rawValue ?? "") rollout has no HTTPRoute to move "
                        + "(models.\(record.model).serving.gateway is not set): not judged on the cluster",
                    ["environment": environment.name])
            }
            return (objects, nil)
        }
        let before = Set((fallback ?? []).map(\.json))
        func changed(_ model: String) -> Bool {
            guard fallback != nil else { return true }
            // The route itself names tracks, not versions: the model's other objects say what changed.
            return objects.contains {
                $0.kind != "HTTPRoute" && TrafficRoute.model(of: $0) == model && !before.contains($0.json)
            }
        }
        let moving = routes.filter { changed($0.model) }
        // As on the local target: the default branch's policy, else a record's own rollout.
        let rollout =
            try trustedRollout(environment, tip: tip) ?? moving.lazy.compactMap { records[$0.model]?.rollout }.first
        guard let rollout, rollout.strategy != .replace, !moving.isEmpty else {
            return (try TrafficRoute.settled(objects), nil)
        }
        let routed = RoutedRollout(
            routes: moving, settings: rollout,
            outcomes: environment.prometheus.map {
                PrometheusOutcomes(query: $0, namespace: environment.namespace, transport: options.transport)
            }, clock: options.clock, board: rolloutBoard,
            outcomesPath: "\(places.state)/rollout-\(environment.name).jsonl")
        let first = RolloutAnalysis(plan: rollout.plan(paired: false)).percent
        let release = try objects.map { object in
            guard let route = TrafficRoute.routes(in: [object]).first else { return object }
            return moving.contains(where: { $0.object == object })
                ? try routed.routing(route, percent: first) : try route.routing(canary: 100, mirror: false)
        }
        return (release, routed)
    }

    /// What the cluster holds of the applied release, compared with git at every pass and applied again
    /// where it drifted (an edit, a `kubectl scale`, a deleted object): git stays the truth between
    /// promotions. A fault is retried next pass; the release is not in question.
    func correctDrift(_ environment: AgentConfig.Environment, tip: ObjectID) -> Result {
        do {
            let corrected = try cluster().correctDrift(
                TrafficRoute.settled(manifests(environment, at: tip)), environment: environment.name)
            guard !corrected.isEmpty else { return .synced(tip.hex) }
            Log.warning(
                "drift corrected", ["environment": environment.name, "objects": corrected.joined(separator: ", ")])
            return .corrected(tip.hex, objects: corrected)
        } catch {
            return .stopped(step: .drift, reason: "\(error); retried next pass", stop: .waiting(after: nil))
        }
    }

    /// Puts `commit` back on the environment's target (a rollback a killed agent left half done).
    func restore(_ environment: AgentConfig.Environment, _ commit: ObjectID) throws -> HealthReport {
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
                TrafficRoute.settled(manifests(environment, at: commit)), environment: environment.name,
                deadline: environment.health.deadline)
        }
    }

    func manifests(_ environment: AgentConfig.Environment, at commit: ObjectID) throws -> [KubernetesObject] {
        try ManifestSet.read(environment: environment.name, in: mirror.fileView(.git(commit.hex)))
    }

    /// The cluster, from the service account or the kubeconfig; resolved once.
    func cluster() throws -> KubernetesTarget {
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
    func verify(_ environment: AgentConfig.Environment, tip: ObjectID, lastApplied: String?) -> Result? {
        guard let trust else { return nil }
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
    func checkPolicy(_ environment: AgentConfig.Environment, tip: ObjectID, lastApplied: String?) -> Result? {
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

    /// The rollout the default branch's PromotionPolicy asks of `environment` (nil: it names none).
    func trustedRollout(_ environment: AgentConfig.Environment, tip: ObjectID) throws -> RolloutSettings? {
        guard
            let trusted = try RulesInForce.defaultBranch(in: mirror, configured: config.defaultBranch, policies: false)
        else { return nil }
        return try RulesInForce.promotion(environmentTip: tip, trusted: trusted, repository: mirror).rules
            .filter { $0.source == trusted.rules.source }
            .lazy.compactMap { $0.policy.environments[environment.name]?.rollout }.first
    }

    /// A commit that cannot even be built (bad record, artifact digest differs): what ran keeps running,
    /// and when there is one, the branch is rolled back to it so the bad commit is not tried again.
}
