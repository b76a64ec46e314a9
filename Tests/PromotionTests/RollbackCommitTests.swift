import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Promotion

@Suite("Rollback commits on the environment branch")
struct RollbackCommitTests {
    /// Two promotions of m1 on `gitops`: the healthy one and the one whose rollout failed.
    func promotions(_ fixture: PromotionFixture) throws -> (healthy: ObjectID, failed: ObjectID) {
        let promoter = try fixture.promoter()
        guard case .committed(let healthy, _, _) = try promoter.promoteLocally(try fixture.request("m1")) else {
            throw CommandFailed(description: "first promotion not committed")
        }
        try commitFiles(["model/m1.bin": "weights 1, retrained\n"], message: "retrain", in: fixture.work)
        guard case .committed(let failed, _, _) = try promoter.promoteLocally(try fixture.request("m1")) else {
            throw CommandFailed(description: "second promotion not committed")
        }
        return (healthy, failed)
    }

    @Test func aRollbackRestoresTheHealthyTreeOnTopOfTheFailedCommit() throws {
        let fixture = try PromotionFixture()
        let (healthy, failed) = try promotions(fixture)
        let repository = try Repository(at: fixture.work)
        let rollback = RollbackCommit(
            environment: "staging", branch: "gitops", failed: failed, restored: healthy,
            reasons: ["smoke prediction: HTTP 500: boom", "readyz: 3 failures in a row\n(last: timeout)"])
        let author = GitSignature(name: "gitops-ml agent", email: "agent@example.com")
        let commit = try #require(try rollback.write(in: repository, author: author))
        let work = fixture.work

        #expect(try git("rev-parse", "gitops", in: work) == commit.hex)
        #expect(
            try git("rev-parse", "\(commit.hex)^{tree}", in: work)
                == git("rev-parse", "\(healthy.hex)^{tree}", in: work))
        #expect(try git("rev-parse", "\(commit.hex)^", in: work) == failed.hex)
        #expect(
            try git("log", "-1", "--format=%s", commit.hex, in: work)
                == "Roll back m1 v0.0.2 in staging: health checks failed")
        let body = try git("log", "-1", "--format=%b", commit.hex, in: work)
        #expect(body.contains("- smoke prediction: HTTP 500: boom\n- readyz: 3 failures in a row (last: timeout)"))
        // git and libgit2 read the same trailers.
        let gitTrailers = try git("log", "-1", "--format=%(trailers:only,unfold)", commit.hex, in: work)
        let ours = try repository.commit(commit.hex).message
        #expect(gitTrailers == CommitTrailers.parse(ours).map { "\($0.key): \($0.value)" }.joined(separator: "\n"))
        #expect(CommitTrailers.value(Trailer.rollbackOf, in: ours) == failed.hex)
        #expect(CommitTrailers.value("gitops-ml-environment", in: ours) == "staging", "keys compare without case")

        // Done already: nothing more to write.
        let again = RollbackCommit(
            environment: "staging", branch: "gitops", failed: commit, restored: healthy, reasons: [])
        #expect(try again.write(in: repository, author: author) == nil)
    }

    @Test func aNewerPromotionIsNeverRolledBackOver() throws {
        let fixture = try PromotionFixture()
        let (healthy, failed) = try promotions(fixture)
        try commitFiles(["model/m1.bin": "weights 1, fixed\n"], message: "fix", in: fixture.work)
        guard case .committed(let newer, _, _) = try fixture.promoter().promoteLocally(try fixture.request("m1")) else {
            Issue.record("third promotion not committed")
            return
        }
        let repository = try Repository(at: fixture.work)
        let rollback = RollbackCommit(
            environment: "staging", branch: "gitops", failed: failed, restored: healthy, reasons: [])
        let error = try #require(throws: GitError.self) { try rollback.write(in: repository) }
        #expect(error.code == .referenceMoved)
        #expect(try git("rev-parse", "gitops", in: fixture.work) == newer.hex)
    }

    @Test func aSignedRollbackVerifiesWithGitAndOurVerifier() throws {
        let fixture = try PromotionFixture()
        let (healthy, failed) = try promotions(fixture)
        let key = fixture.temp.path + "/agent_key"
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agent", "-f", key])
        let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        let allowed = fixture.temp.path + "/allowed_signers"
        try "agent@example.com \(publicKey)".write(toFile: allowed, atomically: true, encoding: .utf8)
        let repository = try Repository(at: fixture.work)
        let commit = try #require(
            try RollbackCommit(environment: "staging", branch: "gitops", failed: failed, restored: healthy, reasons: [])
                .write(
                    in: repository, author: GitSignature(name: "agent", email: "agent@example.com"),
                    signer: .ssh(key: key)))
        #expect(
            try CommitVerifier.verify(commit, in: repository, trust: .sshAllowedSigners(allowed)).signer
                == "agent@example.com")
        _ = try run(
            [
                "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowed)", "verify-commit",
                commit.hex,
            ],
            in: fixture.work)
    }

    /// A branch of `commits`, each writing `files` (path → contents), returning their ids.
    func branch(_ commits: [[String: String]], in directory: String) throws -> [ObjectID] {
        try git("checkout", "-q", "--orphan", "gitops", in: directory)
        try run(["git", "rm", "-rqf", "--cached", "."], in: directory)
        var ids: [ObjectID] = []
        for (index, files) in commits.enumerated() {
            ids.append(ObjectID(hex: try commitFiles(files, message: "commit \(index)", in: directory)))
        }
        return ids
    }

    /// Two environments on one branch: production's revert puts back only production's folders; staging's
    /// newer promotion stays.
    @Test func aRevertTouchesOnlyItsOwnEnvironment() throws {
        let temp = TemporaryDirectory("rollback-shared")
        let directory = try makeRepository(in: temp.sub("work"))
        let ids = try branch(
            [
                ["environments/production/m.yaml": "v1\n", "environments/staging/m.yaml": "s1\n"],
                ["environments/staging/m.yaml": "s2\n", "deploy/staging/m/deployment.yaml": "s2\n"],
                ["environments/production/m.yaml": "v2\n", "deploy/production/m/deployment.yaml": "v2\n"],
            ], in: directory)
        let repository = try Repository(at: directory)
        let revert = try #require(
            try RollbackCommit(
                environment: "production", branch: "gitops", failed: ids[2], restored: ids[0], reasons: []
            ).write(in: repository))
        #expect(try git("show", "\(revert.hex):environments/production/m.yaml", in: directory) == "v1")
        #expect(try git("show", "\(revert.hex):environments/staging/m.yaml", in: directory) == "s2")
        #expect(try git("show", "\(revert.hex):deploy/staging/m/deployment.yaml", in: directory) == "s2")
        #expect(try repository.read("deploy/production/m/deployment.yaml", at: .git(revert.hex)) == nil)
    }

    /// Promotions faster than rollouts: the revert of a failed release goes back to the promotion before it,
    /// never tried, not to what ran; a revert that fails in turn goes back past every release shown bad.
    @Test func aRevertKeepsNewerPromotionsThatWereNeverTried() throws {
        let temp = TemporaryDirectory("rollback-untried")
        let directory = try makeRepository(in: temp.sub("work"))
        let ids = try branch(
            [
                ["environments/production/m.yaml": "v1\n"], ["environments/production/m.yaml": "v2\n"],
                ["environments/production/m.yaml": "v3\n"],
            ], in: directory)
        let repository = try Repository(at: directory)
        let (applied, untried, failed) = (ids[0], ids[1], ids[2])
        let target = try RollbackCommit.target(
            environment: "production", failed: failed, restored: applied, in: repository)
        #expect(target == untried)
        let first = try #require(
            try RollbackCommit(
                environment: "production", branch: "gitops", failed: failed, restored: applied, target: target,
                reasons: []
            ).write(in: repository))
        #expect(try git("show", "\(first.hex):environments/production/m.yaml", in: directory) == "v2")
        #expect(try git("log", "-1", "--format=%b", first.hex, in: directory).contains("go back to \(untried.short)"))

        // v2 fails as well: its revert goes back past v3 (reverted) and v2 (the same folders) to v1.
        let again = try RollbackCommit.target(
            environment: "production", failed: first, restored: applied, in: repository)
        #expect(again == applied)
        // One promotion since what ran: back to it, as before.
        #expect(
            try RollbackCommit.target(environment: "production", failed: untried, restored: applied, in: repository)
                == applied)
    }
}
