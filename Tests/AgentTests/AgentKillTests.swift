import Foundation
import GitOpsMLCore
import GitStore
import Processes
import Promotion
import TestSupport
import Testing

@testable import Agent

/// SIGKILL inside each lock window, at the exact moment: `Tests/Fixtures/kill_at_rename.c`, preloaded into
/// the agent, kills it when it commits a named lock file (the lock written, the rename not done) or a state
/// file, so each kill leaves what a real one there leaves — the lock held by a dead process, a half-done
/// push. After each, another agent is started on the same state and remote: it must serve the last healthy
/// release, finish what was begun, and write nothing twice.
@Suite("The agent killed inside its lock windows", .serialized)
struct AgentKillTests {
    typealias Running = AgentProcessTests.Running

    /// The preload, compiled once per test process with the machine's C compiler.
    static let library: Swift.Result<String, any Error> = Swift.Result {
        let output = FileManager.default.temporaryDirectory.path + "/gitops-ml-kill-\(getpid()).so"
        let compiler =
            ["cc", "clang", "gcc"].first { name in
                (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                    .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
            } ?? "cc"
        try run([
            compiler, "-shared", "-fPIC", "-O2", "-o", output, packageRoot + "/Tests/Fixtures/kill_at_rename.c", "-ldl",
        ])
        return output
    }

    /// An agent that dies at the commit of a path holding `at` (once one holding `armedBy` is committed).
    static func killed(
        _ fixture: AgentFixture, name: String, at: String, armedBy: String? = nil
    ) throws -> Running {
        var extra = ["GITOPS_ML_KILL_AT": at]
        extra["GITOPS_ML_KILL_ARMED_BY"] = armedBy
        return try killed(fixture, name: name, extra, moment: "at \(at)")
    }

    /// An agent killed at its `count`th commit of a file (any lock, any state write). Every pass writes
    /// the state, so a running agent reaches any count.
    static func killed(_ fixture: AgentFixture, name: String, atCommit count: Int) throws -> Running {
        try killed(fixture, name: name, ["GITOPS_ML_KILL_AT_COUNT": "\(count)"], moment: "at commit \(count)")
    }

    /// An agent started with the preload and `kill` telling it when to die; one still alive after a minute
    /// is an issue (and is killed then).
    static func killed(_ fixture: AgentFixture, name: String, _ kill: [String: String], moment: String) throws
        -> Running
    {
        let extra = kill.merging(["LD_PRELOAD": try library.get(), "GITOPS_ML_KILL_TRACE": "1"]) { $1 }
        let agent = try Running(fixture, name: name, extra: extra, started: false)
        if !waitUntil(60, { !agent.process.isRunning }) {
            Issue.record("\(name) was not killed \(moment) within a minute\n\(agent.output())")
            Glibc.kill(agent.process.pid, SIGKILL)
        }
        let status = agent.process.waitForExit()
        #expect(status == 128 + SIGKILL, "\(name) was not killed \(moment): exit \(status)\n\(agent.output())")
        return agent
    }

    /// The commits of files an agent made, in order, from its trace: `(number, path)`.
    static func commits(_ agent: Running) -> [(Int, String)] {
        agent.output().split(separator: "\n").compactMap { line in
            guard line.hasPrefix("kill_at_rename: commit ") else { return nil }
            let fields = line.dropFirst("kill_at_rename: commit ".count).split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let number = Int(fields[0]) else { return nil }
            return (number, String(fields[1]))
        }
    }

    /// The commits to kill at: every one, with `GITOPS_ML_KILL_EVERY_COMMIT` set; otherwise one per moment —
    /// the first of a run of commits of the same file (libgit2 tries link, then rename; a fetch writes
    /// FETCH_HEAD several times) or of names that differ only in their random part; a source folder being
    /// written is one moment; the mirror's object writes are left out (a kill there is a fetch cut short,
    /// as at the ref lock that follows it).
    static func moments(_ commits: [(Int, String)]) -> [Int] {
        if ProcessInfo.processInfo.environment["GITOPS_ML_KILL_EVERY_COMMIT"] != nil { return commits.map(\.0) }
        func kind(_ path: String) -> String {
            if path.contains("/" + SourceCheckout.incomingPrefix) { return "a source folder being written" }
            return path.replacing(/\.gitops-ml-\w{6}$/, with: ".gitops-ml-*")
                .replacing(/incoming\/[0-9a-f-]{36}/, with: "incoming/*")
        }
        var chosen: [Int] = []
        var previous = ""
        for (number, path) in commits where !path.contains("/objects/") {
            if kind(path) != previous { chosen.append(number) }
            previous = kind(path)
        }
        return chosen
    }

    /// The remote and the agent's state as they are now, to start each kill from the same place.
    struct Snapshot {
        let folders: [String]
        let copy: String

        init(_ folders: [String], in temp: String, name: String) throws {
            self.folders = folders
            copy = temp + "/" + name
            for (index, folder) in folders.enumerated() {
                _ = try run(["cp", "-a", folder, "\(copy)-\(index)"])
            }
        }

        func restore() throws {
            for (index, folder) in folders.enumerated() {
                try FileManager.default.removeItem(atPath: folder)
                _ = try run(["cp", "-a", "\(copy)-\(index)", folder])
            }
        }
    }

    /// Makes every file under `folder` two minutes old: a lock there is then one a killed writer left.
    static func age(_ folder: String) throws {
        let walker = try #require(FileManager.default.enumerator(atPath: folder))
        while let file = walker.nextObject() as? String {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: folder + "/" + file)
        }
    }

    static func rollbacks(_ agent: Running) -> String? {
        let prefix = #"gitops_ml_agent_rollbacks_total{environment="local",model="churn"} "#
        return (agent.get("/metrics")?.text ?? "").split(separator: "\n").first { $0.hasPrefix(prefix) }
            .map { String($0.dropFirst(prefix.count)) }
    }

    @Test func killsInsideEachLockWindowConvergeAndWriteNothingTwice() throws {
        let fixture = try AgentFixture("agent-kill-windows", deadline: 15)
        fixture.config.interval = 0.3
        let first = try fixture.promote("main", version: "v1.0.0")

        // 1. Inside the mirror's ref lock, at the first fetch: every later fetch would fail on that lock.
        let fetchLock = "repository.git/refs/remotes/origin/gitops.lock"
        _ = try Self.killed(fixture, name: "agent-1", at: fetchLock)
        #expect(FileManager.default.fileExists(atPath: fixture.config.stateDirectory + "/" + fetchLock))
        var agent = try Running(fixture, name: "agent-2")
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" }, "\(agent.output())")
        #expect(agent.wait(10) { (try? agent.status().environments["local"]?.lastApplied) == first })
        // Its record on the remote before it is killed: a kill while it publishes would leave the remote's
        // notes lock held (fresh, so rightly respected), and the kill below would not come where it is meant.
        let origin = try Repository(at: fixture.origin, discover: false)
        #expect(
            agent.wait(30) { (try? DeploymentNotes.records(for: ObjectID(hex: first), in: origin))?.isEmpty == false })
        kill(agent.process.pid, SIGKILL)
        _ = agent.process.waitForExit()

        // 2. A release that fails without starting; the agent dies inside the remote's notes lock, while it
        // publishes the failure record. The release record is in the state, not yet on the remote.
        let failed = try fixture.promote("challenger/better", version: "not-a-version")
        let notesLock = "origin.git/" + DeploymentNotes.ref + ".lock"
        _ = try Self.killed(fixture, name: "agent-3", at: notesLock)
        #expect(FileManager.default.fileExists(atPath: fixture.temp.path + "/" + notesLock))
        #expect(try fixture.originTip() == failed, "no revert yet")

        // 3. The next agent serves v1 again, cannot publish (the notes lock is fresh: someone may hold it) and
        // dies inside the remote branch's lock while it pushes the revert.
        let branchLock = "origin.git/refs/heads/gitops.lock"
        _ = try Self.killed(fixture, name: "agent-4", at: branchLock)
        #expect(FileManager.default.fileExists(atPath: fixture.temp.path + "/" + branchLock))
        #expect(try fixture.originTip() == failed, "the branch did not move")

        // 4. A minute passes: both locks are stale, and so are the refs the two killed pushes had made for
        // their objects. The next agent removes them, pushes the revert once and publishes the record once.
        try Self.age(fixture.origin + "/refs")
        agent = try Running(fixture, name: "agent-5")
        #expect(
            agent.wait(30) { (try? fixture.originTip()) != failed && fixture.serving() == "v1.0.0" },
            "\(agent.output())")
        let passes = agent.passes() ?? 0
        #expect(agent.wait(30) { (agent.passes() ?? 0) >= passes + 3 }, "\(agent.output())")
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: failed), in: remote).map(\.outcome) == [.failed])
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).map(\.outcome) == [.healthy])
        let reverts = try git(
            "log", "--format=%H", "--grep=Gitops-Ml-Rollback-Of: \(failed)", "gitops", in: fixture.origin)
        #expect(reverts.split(separator: "\n").count == 1)
        #expect(try git("rev-parse", "gitops^", in: fixture.origin) == failed)
        #expect(Self.rollbacks(agent) == "1", "the revert this agent pushed is its one rollback")
        let left = try git("for-each-ref", "refs/gitops-ml/", in: fixture.origin)
        #expect(left.isEmpty, "no push left refs behind: \(left)\n\(agent.output())")
        kill(agent.process.pid, SIGKILL)
        _ = agent.process.waitForExit()

        // 5. Between the notes push and the state save: a good release applied, its record pushed, the agent
        // killed when it writes the state that says so (the state file's temporary copy, about to be renamed
        // over it). The record is published once, and the temporary file does not stay.
        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        _ = try Self.killed(fixture, name: "agent-6", at: "/state/.gitops-ml-", armedBy: notesLock)
        agent = try Running(fixture, name: "agent-7")
        #expect(agent.wait(30) { fixture.serving() == "v2.0.0" }, "\(agent.output())")
        let passes7 = agent.passes() ?? 0
        #expect(agent.wait(30) { (agent.passes() ?? 0) >= passes7 + 3 }, "\(agent.output())")
        let secondRecords = try DeploymentNotes.records(for: ObjectID(hex: second), in: remote)
        #expect(secondRecords.map(\.outcome) == [.healthy], "\(secondRecords)\n\(agent.output())")
        #expect(try fixture.originTip() == second)
        #expect(try agent.status().environments["local"]?.lastApplied == second)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.config.stateDirectory)
        #expect(!leftovers.contains { $0.hasPrefix(".gitops-ml-") }, "\(leftovers)")
        kill(agent.process.pid, SIGTERM)
        #expect(agent.process.waitForExit() == 0)
    }

    /// Every commit of a file an agent makes while it judges a release that fails and reverts it (the
    /// state, the mirror's refs, the notes and the branch on the remote), while it applies a good one, and
    /// while it puts that one back after a release that fails its smoke test: for each in turn, from the
    /// same starting point, the agent is killed there and started again.
    /// Each time the next agent must end where an agent never killed ends — the same release served, one
    /// revert, each deployment record once, no lock or temporary ref left — within a few passes.
    @Test func aKillAtEveryCommitOfAPassConverges() throws {
        let fixture = try AgentFixture("agent-kill-every", deadline: 15)
        fixture.config.interval = 0.3
        let first = try fixture.promote("main", version: "v1.0.0")
        let agent = try Running(fixture, name: "agent-0")
        #expect(agent.wait(30) { (try? agent.status().environments["local"]?.lastApplied) == first })
        agent.stop()
        let remote = try Repository(at: fixture.origin, discover: false)
        let folders = [fixture.origin, fixture.config.stateDirectory]

        /// Nothing half-written stays: such things begin with a dot (.gitops-ml-…, .incoming-…); the mirror
        /// and the source trees (where a project's .gitignore is) are not looked into.
        func noLeftovers(_ moment: String) throws {
            let state = fixture.config.stateDirectory
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: state).filter {
                !$0.hasPrefix("repository.git/") && !$0.hasPrefix("sources/") || $0.hasPrefix("sources/.")
            }
            #expect(!leftovers.contains { $0.contains("/.") || $0.hasPrefix(".") }, "\(moment): \(leftovers)")
            #expect(try git("for-each-ref", "refs/gitops-ml/", in: fixture.origin).isEmpty, "\(moment)")
        }

        /// Kills at every commit a clean run makes until `settled`, restarting from `snapshot` each time.
        func killEverywhere(
            _ scenario: String, _ snapshot: Snapshot, settled: (Running) -> Bool,
            then check: (Running, String) throws -> Void
        ) throws -> Int {
            // A clean run, traced, counts the commits up to the end state.
            try snapshot.restore()
            let extra = ["LD_PRELOAD": try Self.library.get(), "GITOPS_ML_KILL_TRACE": "1"]
            let traced = try Running(fixture, name: "\(scenario)-traced", extra: extra)
            #expect(traced.wait(30) { settled(traced) }, "\(traced.output())")
            let moments = Self.moments(Self.commits(traced))
            try check(traced, "\(scenario), never killed")
            traced.stop()
            for count in moments {
                try snapshot.restore()
                let victim = try Self.killed(fixture, name: "\(scenario)-kill-\(count)", atCommit: count)
                let moment = Self.commits(victim).last?.1 ?? "nowhere"
                // The minute after which a lock on the remote is taken as stale passes before the restart;
                // `killsInsideEachLockWindowConvergeAndWriteNothingTwice` restarts within it.
                try Self.age(fixture.origin + "/refs")
                let next = try Running(fixture, name: "\(scenario)-after-\(count)")
                #expect(next.wait(30) { settled(next) }, "killed at \(moment) (\(count)): \(next.output())")
                let passes = next.passes() ?? 0
                #expect(next.wait(30) { (next.passes() ?? 0) >= passes + 2 })
                try check(next, "killed at commit \(count), \(moment)")
                next.stop()
            }
            return moments.count
        }

        /// Where a revert ends: `healthy` serving as `version`, one revert of `failed` on the branch, each
        /// record once, and the revert's tree — `healthy`'s — applied as itself after some kills and synced
        /// after others.
        func reverted(_ failed: String, back healthy: String, serving version: String) -> (
            settled: (Running) -> Bool, check: (Running, String) throws -> Void
        ) {
            let settled = { (_: Running) in
                (try? git("rev-parse", "gitops^", in: fixture.origin)) == failed && fixture.serving() == version
            }
            return (
                settled,
                { agent, moment in
                    #expect(fixture.serving() == version, "\(moment)")
                    let reverts = try git(
                        "log", "--format=%H", "--grep=Gitops-Ml-Rollback-Of: \(failed)", "gitops", in: fixture.origin)
                    #expect(reverts.split(separator: "\n").count == 1, "\(moment)")
                    #expect(
                        try DeploymentNotes.records(for: ObjectID(hex: failed), in: remote).map(\.outcome) == [.failed],
                        "\(moment)")
                    #expect(
                        try DeploymentNotes.records(for: ObjectID(hex: healthy), in: remote).map(\.outcome) == [
                            .healthy
                        ],
                        "\(moment)")
                    let applied = try agent.status().environments["local"]?.lastApplied
                    #expect(
                        try [healthy, fixture.originTip()].contains(applied),
                        "\(moment): \(String(describing: applied))")
                    try noLeftovers(moment)
                }
            )
        }

        // A release that fails without starting: recorded, reverted on the remote.
        let failed = try fixture.promote("challenger/better", version: "not-a-version")
        let rollback = try Snapshot(folders, in: fixture.temp.path, name: "before-rollback")
        let toFirst = reverted(failed, back: first, serving: "v1.0.0")
        let rollbackCommits = try killEverywhere("rollback", rollback, settled: toFirst.settled, then: toFirst.check)
        #expect(rollbackCommits >= 6, "the traced rollback made \(rollbackCommits) moments to kill at")

        // A good release after the revert: applied, recorded once.
        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        let apply = try Snapshot(folders, in: fixture.temp.path, name: "before-apply")
        let applyCommits = try killEverywhere(
            "apply", apply,
            settled: { agent in
                fixture.serving() == "v2.0.0"
                    && (try? DeploymentNotes.records(for: ObjectID(hex: second), in: remote))?.isEmpty == false
            }
        ) { agent, moment in
            #expect(try fixture.originTip() == second, "nothing reverted: \(moment)")
            #expect(
                try DeploymentNotes.records(for: ObjectID(hex: second), in: remote).map(\.outcome) == [.healthy],
                "\(moment)")
            #expect(try agent.status().environments["local"]?.lastApplied == second, "\(moment)")
            try noLeftovers(moment)
        }
        #expect(applyCommits >= 6, "the traced apply made \(applyCommits) moments to kill at")

        // A release that starts and fails its smoke test: the second put back, recorded, reverted.
        let broken = try fixture.promote("broken", version: "v3.0.0")
        let restore = try Snapshot(folders, in: fixture.temp.path, name: "before-restore")
        let toSecond = reverted(broken, back: second, serving: "v2.0.0")
        let restoreCommits = try killEverywhere("restore", restore, settled: toSecond.settled, then: toSecond.check)
        #expect(restoreCommits >= 6, "the traced restore made \(restoreCommits) moments to kill at")
        print(
            "killed at \(rollbackCommits) moments of a rollback, \(applyCommits) of an apply, "
                + "\(restoreCommits) of a restore")
    }
}
