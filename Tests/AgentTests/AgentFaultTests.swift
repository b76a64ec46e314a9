import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Agent

/// Faults at exact moments: the remote's ref lock held when the revert commit is pushed. A lock is not a
/// moved branch: the rollback stays pending and is pushed once the lock is gone, never dropped.
@Suite("Agent faults", .serialized)
struct AgentFaultTests {
    @Test func aRollbackIsKeptWhileTheRemoteBranchIsLocked() throws {
        let fixture = try AgentFixture("fault-lock")
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }

        // A release that cannot be built (its version is not one), pushed; then another writer holds the
        // remote branch's lock while the agent would push the revert.
        let failed = try fixture.promote("challenger/better", version: "not-a-version")
        let lock = fixture.origin + "/refs/heads/gitops.lock"
        try "".write(toFile: lock, atomically: false, encoding: .utf8)
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record(
                "expected the revert to wait for the lock: \(String(describing: agent.state.environments["local"]))")
            return
        }
        #expect(step == .rollback && reason.contains("locked"), "\(reason)")
        #expect(stop == .waiting(after: nil), "a held lock is retried, not a verdict")
        #expect(agent.state.environments["local"]?.pendingRollback?.failed == failed, "the rollback is kept")
        #expect(try fixture.originTip() == failed, "nothing was pushed")
        #expect(fixture.serving() == "v1.0.0", "what ran keeps running")

        // The lock gone, the next pass pushes the revert and reports the rollback (counted once, then).
        try FileManager.default.removeItem(atPath: lock)
        #expect(agent.pass()["local"] == .rolledBack(failed: failed, restored: first))
        #expect(agent.state.environments["local"]?.pendingRollback == nil)
        let tip = try fixture.originTip()
        #expect(tip != failed)
        #expect(try git("log", "-1", "--format=%s", tip, in: fixture.origin).hasPrefix("Roll back churn in local"))
        #expect(try git("rev-parse", "\(tip)^", in: fixture.origin) == failed)
        #expect(fixture.serving() == "v1.0.0")
        #expect(agent.pass()["local"] == .synced(tip), "the revert's tree is what runs")
    }

    /// Serve first: an agent started again runs the last release it applied before anything else — with
    /// the remote gone, and with a revert that still waits for a held lock.
    @Test func aRestartedAgentServesTheLastHealthyReleaseWhateverTheRemoteDoes() throws {
        let fixture = try AgentFixture("fault-restart")
        let first = try fixture.firstReleaseAppliedThenStopped()
        #expect(fixture.serving() == nil, "stopped with the agent")

        // The remote unreachable: the fetch fails, the last applied release serves anyway.
        let away = fixture.origin + ".away"
        try FileManager.default.moveItem(atPath: fixture.origin, toPath: away)
        do {
            let agent = try Reconciler(config: fixture.config, options: fixture.options())
            guard case .stopped(let step, _, _)? = agent.pass()["local"] else {
                Issue.record("the fetch of a missing remote did not fail")
                return
            }
            #expect(step == .fetch)
            #expect(fixture.serving() == "v1.0.0", "served with the remote down")
            agent.shutdown()
        }
        try FileManager.default.moveItem(atPath: away, toPath: fixture.origin)

        // A failed release whose revert waits for a held lock, then a restart: still served.
        do {
            let agent = try Reconciler(config: fixture.config, options: fixture.options())
            _ = agent.pass()
            let failed = try fixture.promote("challenger/better", version: "not-a-version")
            try "".write(toFile: fixture.origin + "/refs/heads/gitops.lock", atomically: false, encoding: .utf8)
            guard case .stopped(let step, _, _)? = agent.pass()["local"] else {
                Issue.record("the revert did not wait for the lock")
                return
            }
            #expect(step == .rollback)
            #expect(agent.state.environments["local"]?.pendingRollback?.failed == failed)
            agent.shutdown()
        }
        do {
            let agent = try Reconciler(config: fixture.config, options: fixture.options())
            defer { agent.shutdown() }
            _ = agent.pass()
            #expect(fixture.serving() == "v1.0.0", "served while the revert waits")
            #expect(agent.state.environments["local"]?.lastApplied == first)
        }
    }

    /// A fault of this host while a good release is prepared (its artifact cannot be written: here the
    /// place is taken by a file, as a full disk refuses it) is retried, not taken for a bad release: nothing
    /// is reverted, what ran keeps running, and the release is applied once the fault is gone.
    @Test func aHostFaultIsRetriedNotTakenForABadRelease() throws {
        let fixture = try AgentFixture("fault-disk")
        let (agent, _) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }

        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        let record = try String(contentsOfFile: fixture.work + "/environments/local/churn.yaml", encoding: .utf8)
        let digest = try #require(
            record.split(separator: "\n").first { $0.contains("digest: sha256:") }?
                .split(separator: ":").last.map(String.init))
        let blocked = fixture.config.stateDirectory + "/artifacts/churn/sha256-" + digest
        try FileManager.default.createDirectory(
            atPath: (blocked as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "not a folder".write(toFile: blocked, atomically: false, encoding: .utf8)
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record(
                "a host fault was taken for a bad release: \(String(describing: agent.state.environments["local"]))")
            return
        }
        #expect(step == .desiredState && reason.hasSuffix("retried next pass"), "\(reason)")
        #expect(stop == .waiting(after: nil))
        #expect(try fixture.originTip() == second, "nothing reverted")
        #expect(agent.state.environments["local"]?.lastFailed != second)
        #expect(fixture.serving() == "v1.0.0")

        try FileManager.default.removeItem(atPath: blocked)
        #expect(agent.pass()["local"] == .applied(second))
        #expect(fixture.serving() == "v2.0.0")
    }

    /// Locks a killed agent left: in its own mirror (every fetch would fail) they are removed when it starts
    /// again; on the remote, a ref lock older than a minute is taken as stale and the revert goes through.
    @Test func locksLeftByAKilledAgentDoNotWedgeIt() throws {
        let fixture = try AgentFixture("fault-stale-lock")
        let first = try fixture.firstReleaseAppliedThenStopped()
        let mirrorLock = fixture.config.stateDirectory + "/repository.git/refs/remotes/origin/gitops.lock"
        try "".write(toFile: mirrorLock, atomically: false, encoding: .utf8)
        let failed = try fixture.promote("challenger/better", version: "not-a-version")
        let remoteLock = fixture.origin + "/refs/heads/gitops.lock"
        try "".write(toFile: remoteLock, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: remoteLock)

        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        #expect(!FileManager.default.fileExists(atPath: mirrorLock), "the mirror's stale lock is gone")
        #expect(agent.pass()["local"] == .rolledBack(failed: failed, restored: first))
        #expect(!FileManager.default.fileExists(atPath: remoteLock))
        let tip = try fixture.originTip()
        #expect(try git("rev-parse", "\(tip)^", in: fixture.origin) == failed, "the revert is on the remote")
        #expect(fixture.serving() == "v1.0.0")
    }

    /// Every fetch that brings objects adds a pack to the mirror, which libgit2 keeps open: over 40 rollout
    /// cycles the packs are consolidated past `maximumPacks`, so packs on disk and files open stay bounded
    /// (before: one more open file and one more pack per cycle, without end).
    @Test func packsAndOpenFilesStayBoundedOverManyCycles() throws {
        let fixture = try AgentFixture("fault-packs")
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        var baseline = 0
        for index in 0..<40 {
            let commit = try fixture.promote(index % 2 == 0 ? "main" : "challenger/better", version: "v1.0.\(index)")
            #expect(agent.pass()["local"] == .applied(commit), "cycle \(index)")
            if index == 0 { baseline = openFiles() }
            #expect(agent.mirror.packCount <= Reconciler.maximumPacks + 1, "cycle \(index)")
        }
        #expect(openFiles() <= baseline + Reconciler.maximumPacks + 4, "open files \(openFiles()) from \(baseline)")
        #expect(fixture.serving() == "v1.0.39")
    }

    /// A model server that crashes is Degraded, through its restart and until it has stayed up: a crash
    /// loop is not shown as Healthy.
    @Test func aCrashedServerIsDegradedUntilItStaysUp() throws {
        let fixture = try AgentFixture("fault-crash")
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        #expect(agent.state.environments["local"]?.health == "Healthy")
        let pid = try #require(agent.state.environments["local"]?.serverProcessGroup)
        kill(-pid, SIGKILL)
        var events: [ServerSupervisor.Event] = []
        #expect(
            waitUntil(30) {
                events += agent.poll().map(\.event)
                return events.contains { if case .restarted = $0 { true } else { false } }
            }, "\(events)")
        #expect(agent.state.environments["local"]?.health == "Degraded", "\(events)")
        #expect(waitUntil(30) { fixture.serving() == "v1.0.0" }, "served again after the restart")
        #expect(agent.pass()["local"] == .synced(first))
        #expect(agent.state.environments["local"]?.health == "Degraded", "not yet stable")
    }

    /// The state is told as it changes, during a pass: `/status` (built from it by the service) shows a
    /// rollout under way, its commit and phase, and then that nothing is.
    @Test func aRolloutUnderWayIsVisibleWhileItRuns() throws {
        let fixture = try AgentFixture("fault-in-flight")
        let (agent, _) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        let seen = Locked<[AgentStatus]>([])
        let config = fixture.config
        agent.onStateChange = { state in
            seen.withLock {
                $0.append(AgentStatus(agent: "test", ready: true, recovery: nil, state: state, config: config))
            }
        }
        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        #expect(agent.pass()["local"] == .applied(second))
        let phases = seen.withLock { $0 }.compactMap { $0.environments["local"]?.inFlight }
        #expect(phases.contains { $0.commit == second && $0.phase == .applying }, "\(phases)")
        #expect(seen.withLock { $0.last?.environments["local"]?.inFlight } == nil, "nothing under way after")
        #expect(seen.withLock { $0.last?.environments["local"]?.lastApplied } == second)
    }

    /// Something else answering on the environment's port (a second agent, a server started by hand) is a
    /// fault of this host: the release is not started, not recorded as failed and not reverted.
    @Test func aPortTakenByAnotherProcessIsNotABadRelease() throws {
        let fixture = try AgentFixture("fault-port")
        let squatter = try Subprocess.start(
            ["python3", "-m", "http.server", "--bind", "127.0.0.1", "\(fixture.port)"], directory: fixture.temp.path)
        defer { _ = squatter.terminate() }
        #expect(waitUntil(10) { LocalTarget.answers(port: fixture.port) })
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        let first = try fixture.promote("main", version: "v1.0.0")
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record("expected the pass to wait for the port")
            return
        }
        #expect(step == .apply && reason.contains("port \(fixture.port) is in use"), "\(reason)")
        #expect(stop == .waiting(after: nil))
        #expect(try fixture.originTip() == first, "nothing reverted")
        #expect(agent.state.environments["local"]?.lastFailed == nil)
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).isEmpty, "no failed note")
    }

    /// A state file that does not read back is set aside and the agent starts from nothing: it applies the
    /// branch's release again, but the healthy deployment it recorded before stands — not written twice.
    @Test func aCorruptStateDoesNotRecordADeploymentTwice() throws {
        let fixture = try AgentFixture("fault-corrupt-state")
        let first = try fixture.firstReleaseAppliedThenStopped()
        let statePath = fixture.config.stateDirectory + "/state.json"
        try "{\"environments\": [".write(toFile: statePath, atomically: false, encoding: .utf8)
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        #expect(agent.recovery?.contains("was corrupt") == true)
        #expect(agent.pass()["local"] == .applied(first))
        #expect(fixture.serving() == "v1.0.0")
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).map(\.outcome) == [.healthy])
        #expect(agent.state.environments["local"]?.unpublished.isEmpty == true)

        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        #expect(agent.pass()["local"] == .applied(second))
        #expect(try DeploymentNotes.records(for: ObjectID(hex: second), in: remote).map(\.outcome) == [.healthy])
    }

    /// Promotions faster than rollouts: a release promoted on top of one being tried is not lost when that
    /// one fails. The failed one's server is stopped and the last healthy release put back; no revert is
    /// pushed over the newer promotion (the branch keeps it), which the next pass applies.
    @Test func aPromotionArrivingDuringAFailingRolloutIsAppliedNext() throws {
        let fixture = try AgentFixture("fault-faster-promotions", deadline: 10)
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        let broken = try fixture.promote("broken", version: "v2.0.0")
        let newer = Locked<String?>(nil)
        // The callback runs on the pass's thread while this test waits in `pass()`: one user at a time.
        nonisolated(unsafe) let promoter = fixture
        agent.onStateChange = { state in
            guard state.environments["local"]?.inFlight?.commit == broken, newer.withLock({ $0 == nil }) else { return }
            newer.withLock { $0 = try? promoter.promote("challenger/better", version: "v3.0.0") }
        }
        #expect(agent.pass()["local"] == .rolledBack(failed: broken, restored: first))
        agent.onStateChange = nil
        let third = try #require(newer.withLock { $0 })
        #expect(fixture.serving() == "v1.0.0", "the last healthy release runs while the newer one waits")
        #expect(try fixture.originTip() == third, "no revert over the newer promotion")
        #expect(try git("log", "--format=%H", "--grep=Gitops-Ml-Rollback-Of", "gitops", in: fixture.origin).isEmpty)

        #expect(agent.pass()["local"] == .applied(third))
        #expect(fixture.serving() == "v3.0.0")
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: broken), in: remote).map(\.outcome) == [.failed])
        #expect(try DeploymentNotes.records(for: ObjectID(hex: third), in: remote).map(\.outcome) == [.healthy])
        #expect(agent.state.environments["local"]?.pendingRollback == nil)
    }

    /// Whether this process may mount a tmpfs (root, with the capability): the full-disk test needs a disk
    /// it can fill.
    static let canMountTmpfs: Bool = {
        let probe = FileManager.default.temporaryDirectory.path + "/gitops-ml-tmpfs-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard (try? run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe])) != nil else { return false }
        _ = try? run(["umount", probe])
        return true
    }()

    /// A full disk under the state directory — a real one: a small tmpfs, filled until the kernel says
    /// ENOSPC, first to 150 KiB free (the fault probe's case), then to nothing — is a fault of this host
    /// while a good release is prepared: it is retried, not reverted, not recorded as a failure, what ran
    /// keeps running; once space is back the release is applied.
    @Test(.enabled(if: canMountTmpfs, "mounting a tmpfs needs root"))
    func aFullStateDiskIsRetriedNotTakenForABadRelease() throws {
        let fixture = try AgentFixture("fault-full-disk")
        let state = fixture.config.stateDirectory
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", state])
        defer { _ = try? run(["umount", "-l", state]) }
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        let remote = try Repository(at: fixture.origin, discover: false)

        /// Fills the disk with one file until `free` bytes are left (as near as its blocks allow). Opened
        /// close-on-exec: a process another test spawns meanwhile must not keep the space held.
        func fill(leaving free: Int, _ name: String) throws {
            let path = state + "/" + name
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            defer { close(descriptor) }
            let chunk = [UInt8](repeating: 0x5a, count: 4096)
            while true {
                var status = statvfs()
                statvfs(state, &status)
                let available = Int(status.f_bavail) * Int(status.f_frsize)
                guard available > free else { break }
                let count = min(chunk.count, available - free)
                guard write(descriptor, chunk, count) == count else { break }
            }
        }

        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        for (free, name) in [(150 << 10, "filler-150k"), (0, "filler-0")] {
            try fill(leaving: free, name)
            guard case .stopped(_, let reason, let stop)? = agent.pass()["local"] else {
                Issue.record(
                    "a full disk (\(free) bytes free) was not a fault: \(String(describing: agent.state.environments["local"]))"
                )
                return
            }
            #expect(reason.contains("No space left on device"), "the reason is the system's: \(reason)")
            #expect(stop == .waiting(after: nil), "retried: \(reason)")
            #expect(try fixture.originTip() == second, "nothing reverted with \(free) bytes free")
            #expect(agent.state.environments["local"]?.lastFailed == nil)
            #expect(try DeploymentNotes.records(for: ObjectID(hex: second), in: remote).isEmpty, "no failed note")
            #expect(fixture.serving() == "v1.0.0", "what ran keeps running")
        }

        for name in ["filler-150k", "filler-0"] { try FileManager.default.removeItem(atPath: state + "/" + name) }
        #expect(agent.pass()["local"] == .applied(second))
        #expect(fixture.serving() == "v2.0.0")
        #expect(try DeploymentNotes.records(for: ObjectID(hex: second), in: remote).map(\.outcome) == [.healthy])
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).map(\.outcome) == [.healthy])
        #expect(try StateStore(path: state + "/state.json").peek().environments["local"]?.lastApplied == second)
    }
}
