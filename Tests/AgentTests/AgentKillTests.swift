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
        var extra = ["LD_PRELOAD": try library.get(), "GITOPS_ML_KILL_AT": at, "GITOPS_ML_KILL_TRACE": "1"]
        extra["GITOPS_ML_KILL_ARMED_BY"] = armedBy
        let agent = try Running(fixture, name: name, extra: extra, started: false)
        let status = agent.process.waitForExit()
        #expect(status == 128 + SIGKILL, "\(name) was not killed at \(at): exit \(status)\n\(agent.output())")
        return agent
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
        let refs = fixture.origin + "/refs"
        let walker = try #require(FileManager.default.enumerator(atPath: refs))
        while let file = walker.nextObject() as? String {
            try FileManager.default.setAttributes(
                [.modificationDate: Date().addingTimeInterval(-120)], ofItemAtPath: refs + "/" + file)
        }
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
        #expect(try git("for-each-ref", "refs/gitops-ml/", in: fixture.origin).isEmpty, "no push left refs behind")
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
}
