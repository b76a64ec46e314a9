import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Agent

/// With `verify: ssh`, the agent verifies everything it would act on, not only the tip: every commit since
/// the last applied one that rewrites a release record, the descent of the tip from what it applied, and
/// the grammar of what a record hands to the serving command. Real SSH signatures (`ssh-keygen -Y`, through
/// `git commit -S`) against a bare remote.
@Suite("The agent verifies every commit it relies on", .serialized)
struct AgentVerificationTests {
    /// The example's agent with SSH verification: promoter and agent keys allowed, a stranger's not.
    final class Signed {
        let fixture: AgentFixture
        let keys: String
        let agent: Reconciler

        init(_ name: String) throws {
            let fixture = try AgentFixture(name, deadline: 10)
            let keys = fixture.temp.path + "/keys"
            self.fixture = fixture
            self.keys = keys
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: true)
            for name in ["promoter", "stranger", "agent"] {
                try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", "\(keys)/\(name)"])
            }
            let allowed = try ["promoter", "agent"].map { name in
                "\(name)@example.com " + (try String(contentsOfFile: "\(keys)/\(name).pub", encoding: .utf8))
            }.joined()
            try allowed.write(toFile: keys + "/allowed_signers", atomically: true, encoding: .utf8)
            fixture.config.verify = .ssh(allowedSigners: keys + "/allowed_signers")
            var options = fixture.options()
            options.signer = .ssh(key: keys + "/agent")
            agent = try Reconciler(config: fixture.config, options: options)
        }

        deinit { agent.shutdown() }

        /// Signs the work tree's last commit with `key` and force-pushes it to the environment branch.
        @discardableResult
        func sign(with key: String = "promoter") throws -> String {
            try run(
                [
                    "git", "-c", "gpg.format=ssh", "-c", "user.signingkey=\(keys)/\(key)", "commit", "-q", "--amend",
                    "--no-edit", "-S",
                ], in: fixture.work)
            try run(["git", "push", "-q", "-f", "origin", "HEAD:gitops"], in: fixture.work)
            return try git("rev-parse", "HEAD", in: fixture.work)
        }

        /// A signed commit that changes nothing the agent reads, on top, pushed.
        @discardableResult
        func signedCommitOnTop() throws -> String {
            try write("notes\n", to: "NOTES.md", in: fixture.work)
            try git("add", "-A", in: fixture.work)
            try run(
                [
                    "git", "-c", "gpg.format=ssh", "-c", "user.signingkey=\(keys)/promoter", "commit", "-q", "-S",
                    "-m", "Notes",
                ], in: fixture.work)
            try run(["git", "push", "-q", "origin", "HEAD:gitops"], in: fixture.work)
            return try git("rev-parse", "HEAD", in: fixture.work)
        }
    }

    @Test func anUnsignedRewriteUnderASignedTipIsRefused() throws {
        let signed = try Signed("verify-range")
        try signed.fixture.promote("main", version: "v1.0.0")
        let first = try signed.sign()
        #expect(signed.agent.pass()["local"] == .applied(first))

        // The release record rewritten by an unsigned commit, hidden under a signed one.
        let unsigned = try signed.fixture.promote("challenger/better", version: "v2.0.0")
        let tip = try signed.signedCommitOnTop()
        guard case .stopped(let step, let reason, let stop)? = signed.agent.pass()["local"] else {
            Issue.record("an unsigned release record under a signed tip was applied")
            return
        }
        #expect(step == .verify && stop == .stalled, "\(reason)")
        #expect(reason.contains(String(unsigned.prefix(12))) && reason.contains("not signed"), "\(reason)")
        #expect(signed.fixture.serving() == "v1.0.0", "what ran keeps running")
        #expect(signed.agent.state.environments["local"]?.lastApplied == first)
        #expect(try signed.fixture.originTip() == tip, "nothing was reverted or rewritten")
    }

    @Test func aForcePushBackToAnOlderSignedReleaseIsRefused() throws {
        let signed = try Signed("verify-downgrade")
        try signed.fixture.promote("main", version: "v1.0.0")
        let first = try signed.sign()
        #expect(signed.agent.pass()["local"] == .applied(first))
        try signed.fixture.promote("challenger/better", version: "v2.0.0")
        let second = try signed.sign()
        #expect(signed.agent.pass()["local"] == .applied(second))

        try run(["git", "push", "-q", "-f", "origin", "\(first):gitops"], in: signed.fixture.work)
        guard case .stopped(let step, let reason, let stop)? = signed.agent.pass()["local"] else {
            Issue.record("a downgrade to an older signed release was applied")
            return
        }
        #expect(step == .verify && stop == .stalled)
        #expect(reason.contains("does not descend from \(second.prefix(12))"), "\(reason)")
        #expect(signed.fixture.serving() == "v2.0.0")
        #expect(signed.agent.state.environments["local"]?.lastApplied == second)
    }

    /// A healthy record in the agent's name, forged in an unsigned notes commit before the agent applies the
    /// release, does not pass for the agent's own: the deployment is recorded, signed, as the agent saw it.
    @Test func aForgedDeploymentNoteDoesNotKeepADeploymentOutOfTheRecord() throws {
        let signed = try Signed("verify-forged-note")
        try signed.fixture.promote("main", version: "v1.0.0")
        let first = try signed.sign()
        let work = try Repository(at: signed.fixture.work, discover: false)
        let forged = DeploymentRecord(
            environment: "local", target: "local", commit: first, started: Date(), finished: Date(),
            outcome: .healthy, checks: [], agent: signed.agent.options.agent)
        try DeploymentNotes.append(forged, in: work)
        try run(["git", "push", "-q", "origin", DeploymentNotes.ref], in: signed.fixture.work)

        #expect(signed.agent.pass()["local"] == .applied(first))
        let remote = try Repository(at: signed.fixture.origin, discover: false)
        let trust = CommitVerifier.Trust.sshAllowedSigners(signed.keys + "/allowed_signers")
        let verified = try DeploymentNotes.verifiedRecords(for: ObjectID(hex: first), in: remote, trust: trust)
        #expect(verified.map(\.outcome) == [.healthy], "the agent's own record, signed")
        #expect(try DeploymentNotes.records(for: ObjectID(hex: first), in: remote).count == 2, "the forged one stays")
    }

    /// A signed record whose version is a shell command: refused by its grammar, nothing runs it.
    @Test func aVersionThatIsNotASemanticVersionNeverReachesACommand() throws {
        let signed = try Signed("verify-version")
        try signed.fixture.promote("main", version: "v1.0.0")
        let first = try signed.sign()
        #expect(signed.agent.pass()["local"] == .applied(first))

        try signed.fixture.promote("challenger/better", version: "v9; touch PWNED; echo")
        let hostile = try signed.sign()
        // Refused before anything starts: what ran keeps running, and the branch is reverted by a commit.
        #expect(signed.agent.pass()["local"] == .rolledBack(failed: hostile, restored: first))
        #expect(signed.fixture.serving() == "v1.0.0")
        let remote = try Repository(at: signed.fixture.origin, discover: false)
        let records = try DeploymentNotes.records(for: ObjectID(hex: hostile), in: remote)
        #expect(records.map(\.outcome) == [.failed])
        #expect(
            records.first?.checks.contains { $0.reason.contains("not a semantic version (v1.2.3): refused") } == true,
            "\(records)")
        // The revert says what happened: nothing started, so no health check failed.
        let subject = try git("log", "-1", "--format=%s", "gitops", in: signed.fixture.origin)
        #expect(subject == "Roll back churn in local: the release could not be started", "\(subject)")
        let found = try run(["find", signed.fixture.temp.path, "-name", "PWNED"])
        #expect(found.isEmpty, "the version ran as a command: \(found)")
    }
}
