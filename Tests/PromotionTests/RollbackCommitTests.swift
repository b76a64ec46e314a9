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
}
