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

/// What a pass records: the state file, deployment records as notes, and the per-environment helpers.
extension Reconciler {
    // MARK: - Helpers

    /// Every configured environment has its target from `init`.
    func target(_ name: String) -> LocalTarget {
        if let target = targets[name] { return target }
        // agent.yaml `proxy`: the agent serves the stable port, the servers take turns behind it.
        let environment = config.environments.first { $0.name == name }
        let proxy = environment.flatMap { environment in
            environment.port.map { port in
                environment.upstreams.isEmpty
                    ? nil
                    : RolloutProxy(
                        port: port, outcomesPath: "\(places.state)/rollout-\(name).jsonl",
                        reuseConnections: environment.reuseConnections)
            } ?? nil
        }
        let target = LocalTarget(
            clock: options.clock, backoff: options.restartBackoff, grace: options.grace, proxy: proxy,
            upstreams: environment?.upstreams ?? [])
        if let drift = environment?.drift { proxy?.sampleInputs(capacity: drift.sample) }
        target.onStart = { [unowned self] group in self.update(name) { $0.serverProcessGroup = group } }
        targets[name] = target
        return target
    }

    func author() -> GitSignature? {
        options.author.map { GitSignature(name: $0.name, email: $0.email) }
    }

    /// The release at `commit` as this host runs it, on `port` (default: where the next server starts:
    /// the free upstream behind a proxy, else the stable port).
    func deployment(_ environment: AgentConfig.Environment, at commit: ObjectID, port: Int? = nil) throws
        -> LocalDeployment
    {
        try LocalDeployment(
            environment: environment, commit: commit, in: mirror, places: places,
            stores: options.stores ?? DataStores(dvcCache: nil, lfsObjects: mirror.gitDirectory + "/lfs/objects"),
            port: port ?? target(environment.name).nextPort)
    }

    func health(_ environment: AgentConfig.Environment, _ deployment: LocalDeployment) -> HealthAssessment {
        HealthAssessment(
            environment.health, base: "http://127.0.0.1:\(deployment.release.launch.environment["PORT"] ?? "")",
            healthPath: deployment.healthPath, predictPath: deployment.predictPath, sample: deployment.sample,
            clock: options.clock, transport: options.transport)
    }

    func deploymentRecord(
        _ environment: AgentConfig.Environment, _ commit: ObjectID, _ started: Date,
        _ outcome: DeploymentRecord.Outcome, _ checks: [CheckOutcome], restored: String?
    ) -> DeploymentRecord {
        DeploymentRecord(
            environment: environment.name, target: environment.target.rawValue, commit: commit.hex, started: started,
            finished: Date(), outcome: outcome, checks: checks, restored: restored, agent: options.agent)
    }

    /// The pass's result as the environment's conditions: `Synced`, and for a pass that stopped, `Stalled`
    /// (a person must act) or `Reconciling` (retried), as Flux's kstatus conditions say it.
    func record(_ result: Result, for name: String) {
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
    func update(_ name: String, _ change: (inout AgentState.Environment) -> Void) {
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
