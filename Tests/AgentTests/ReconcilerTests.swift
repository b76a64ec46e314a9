import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Agent

/// The reconcile pass against a real remote and the example's real serve.py: deploy, upgrade, a promoted
/// model that fails its smoke prediction rolled back by a revert commit, a crashed server restarted.
@Suite("The reconcile pass", .serialized)
struct ReconcilerTests {
    @Test func deploysUpgradesAndRollsBackThroughGit() throws {
        let fixture = try AgentFixture("reconcile", deadline: 15)
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }

        let first = try fixture.promote("main", version: "v1.0.0")
        #expect(agent.pass()["local"] == .applied(first))
        #expect(fixture.serving() == "v1.0.0")
        #expect(agent.pass()["local"] == .synced(first))

        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        #expect(agent.pass()["local"] == .applied(second))
        #expect(fixture.serving() == "v2.0.0")

        let third = try fixture.promote("broken", version: "v3.0.0")
        let started = Date()
        let result = agent.pass()["local"]
        let took = Date().timeIntervalSince(started)
        #expect(result == .rolledBack(failed: third, restored: second))
        #expect(took < 15 + 2, "the rollback took \(took) s")
        #expect(fixture.serving() == "v2.0.0")

        // The revert commit: on top of the failed one, the healthy tree, the trailer and the reason.
        let revert = try fixture.originTip()
        #expect(try git("rev-parse", "\(revert)^", in: fixture.origin) == third)
        #expect(
            try git("rev-parse", "\(revert)^{tree}", in: fixture.origin)
                == git("rev-parse", "\(second)^{tree}", in: fixture.origin))
        let message = try git("log", "-1", "--format=%B", revert, in: fixture.origin)
        #expect(message.contains("Gitops-Ml-Rollback-Of: \(third)"))
        #expect(message.contains("smoke prediction: HTTP 400"))

        // Deployment notes on the remote: healthy for the first two, failed (and what was restored) for the third.
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).map(\.outcome) == [.healthy])
        let failed = try DeploymentNotes.records(for: ObjectID(hex: third), in: remote)
        #expect(failed.map(\.outcome) == [.failed])
        #expect(failed.first?.restored == second)
        #expect(failed.first?.checks.contains { $0.name == "smoke prediction" && $0.status == "Degraded" } == true)

        // The revert commit names what runs: adopted without a restart, and the bad commit is not retried.
        let pid = try #require(agent.state.environments["local"]?.serverProcessGroup)
        #expect(agent.pass()["local"] == .synced(revert))
        #expect(agent.state.environments["local"]?.serverProcessGroup == pid)
        #expect(agent.state.environments["local"]?.lastApplied == revert)
        #expect(agent.state.environments["local"]?.pendingRollback == nil)

        // A crashed model server comes back on its own.
        kill(pid, SIGKILL)
        #expect(
            waitUntil(30) {
                agent.poll().contains { if case .restarted = $0.event { return true } else { return false } }
            })
        #expect(waitUntil(30) { fixture.serving() != nil })
        #expect(fixture.serving() == "v2.0.0")
    }

    @Test func aReleaseThatCannotBeBuiltIsRolledBackWithoutStoppingWhatRuns() throws {
        let fixture = try AgentFixture("reconcile-invalid")
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        let first = try fixture.promote("main", version: "v1.0.0")
        #expect(agent.pass()["local"] == .applied(first))

        // A record whose digest is not the artifact's: refused before anything is stopped.
        try write(
            try String(contentsOfFile: fixture.work + "/environments/local/churn.yaml", encoding: .utf8)
                .replacingOccurrences(of: "version: v1", with: "version: v1-forged")
                .replacingOccurrences(of: "digest: sha256:", with: "digest: sha256:0"),
            to: "environments/local/churn.yaml", in: fixture.work)
        let forged = try commitFiles([:], message: "Forge a digest", in: fixture.work)
        _ = try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: fixture.work)
        guard case .rolledBack(let failed, let restored)? = agent.pass()["local"] else {
            Issue.record("expected a rollback, got \(String(describing: agent.state.environments["local"]))")
            return
        }
        #expect(failed == forged && restored == first)
        #expect(fixture.serving() == "v1.0.0")
        #expect(try git("log", "-1", "--format=%B", "gitops", in: fixture.origin).contains("release:"))
    }

    @Test func oneAgentPerStateDirectory() throws {
        let fixture = try AgentFixture("reconcile-lock")
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        #expect(throws: GitOpsMLError.self) { try Reconciler(config: fixture.config, options: fixture.options()) }
        withExtendedLifetime(agent) {}
    }

    @Test func theFirstReleaseFailingIsNotRetriedUntilTheBranchMoves() throws {
        let fixture = try AgentFixture("reconcile-first", deadline: 8)
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        let broken = try fixture.promote("broken", version: "v0.0.0")
        guard case .stopped(let step, _, _)? = agent.pass()["local"] else {
            Issue.record("expected a failed rollout")
            return
        }
        #expect(step == .health)
        #expect(fixture.serving() == nil)
        #expect(agent.state.environments["local"]?.lastFailed == broken)
        let again = agent.pass()["local"]
        guard case .stopped(_, let reason, _)? = again else {
            Issue.record("the failed release was tried again: \(String(describing: again))")
            return
        }
        #expect(reason.contains("failed already"))
        #expect(fixture.serving() == nil, "nothing was started for it")
        let good = try fixture.promote("main", version: "v1.0.0")
        #expect(agent.pass()["local"] == .applied(good))
    }
}

/// With `verify: ssh`, only a tip signed by an allowed signer is applied; the agent signs its own
/// rollback commits so that they pass its verification.
@Suite("The reconcile pass with signatures", .serialized)
struct ReconcilerSignatureTests {
    @Test func unsignedAndWronglySignedTipsAreRefused() throws {
        let setup = try AgentVerificationTests.Signed("reconcile-signed")
        let (fixture, keys, agent) = (setup.fixture, setup.keys, setup.agent)
        func sign(with key: String) throws -> String { try setup.sign(with: key) }

        let unsigned = try fixture.promote("main", version: "v1.0.0")
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record("an unsigned tip was applied")
            return
        }
        #expect(step == .verify && reason.contains("not signed") && stop == .stalled)
        #expect(fixture.serving() == nil)
        #expect(agent.state.environments["local"]?.conditions.first?.reason.contains("\(unsigned.prefix(12))") == true)

        _ = try sign(with: "stranger")
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record("a tip signed by a stranger was applied")
            return
        }
        #expect(step == .verify && reason.contains("not an allowed signer") && stop == .stalled)
        #expect(fixture.serving() == nil)

        let signed = try sign(with: "promoter")
        #expect(agent.pass()["local"] == .applied(signed))
        #expect(fixture.serving() == "v1.0.0")

        // A broken model, signed: rolled back by a revert commit the agent signs, which it then accepts.
        _ = try fixture.promote("broken", version: "v2.0.0")
        let failed = try sign(with: "promoter")
        #expect(agent.pass()["local"] == .rolledBack(failed: failed, restored: signed))
        let revert = try fixture.originTip()
        let verification = try run(
            [
                "bash", "-c",
                "git -c gpg.ssh.allowedSignersFile=\(keys)/allowed_signers verify-commit \(revert) 2>&1",
            ], in: fixture.origin)
        #expect(verification.contains("agent@example.com"))
        // The deployment notes are signed too.
        let notes = try run(
            [
                "bash", "-c",
                "git -c gpg.ssh.allowedSignersFile=\(keys)/allowed_signers verify-commit refs/notes/gitops-ml-deployments 2>&1",
            ], in: fixture.origin)
        #expect(notes.contains("Good \"git\" signature for agent@example.com"), "\(notes)")
        #expect(agent.pass()["local"] == .synced(revert))
        #expect(fixture.serving() == "v1.0.0")
    }
}
