import Config
import Foundation
import GitOpsMLCore
import GitStore
import Render
import TestSupport
import Testing

@testable import Promotion

/// A project with models m1…mN in one environment, and a bare remote it pushes to.
struct PromotionFixture {
    let temp = TemporaryDirectory("promote")
    let work: String
    let remote: String
    let config: ProjectConfig

    init(models: Int = 2) throws {
        remote = temp.path + "/remote.git"
        try git("init", "-q", "--bare", "-b", "main", remote, in: temp.path)
        var yaml = "version: 1\nproject: fixture\nmodels:\n"
        for index in 1...models {
            yaml += "  m\(index): {artifact: model/m\(index).bin, serving: {image: ghcr.io/x/m\(index)}}\n"
        }
        yaml +=
            "datasets:\n  train: data/train.csv\nenvironments:\n  staging: {branch: gitops, namespace: fixture-staging}\n"
        var files = ["gitops-ml.yaml": yaml, "data/train.csv": "a,b\n1,2\n", "params.yaml": "lr: 0.1\n"]
        for index in 1...models { files["model/m\(index).bin"] = "weights \(index)\n" }
        work = try makeRepository(in: temp.sub("work"), files: files)
        try git("remote", "add", "origin", remote, in: work)
        try git("push", "-q", "origin", "main", in: work)
        config = try ProjectConfig.parse(Array(yaml.utf8), file: "gitops-ml.yaml")
    }

    func promoter() throws -> Promoter {
        var promoter = Promoter(
            repository: try Repository(at: work), config: config, library: TemplateLibrary(overridesAt: nil))
        promoter.author = GitSignature(name: "Promoter", email: "promoter@example.com")
        return promoter
    }

    func request(_ model: String, commit: String? = nil, version: String? = nil) throws -> PromotionRequest {
        let source = try ObjectID(hex: commit ?? git("rev-parse", "HEAD", in: work))
        let report = "{\"verdict\": \"pass\", \"head\": {\"rev\": \"HEAD\", \"commit\": \"\(source.hex)\"}}\n"
        return PromotionRequest(
            model: model, environment: "staging", sourceCommit: source,
            lineage: BuildLineage(
                artifactPath: "model/\(model).bin", artifactDigest: "sha256:" + String(repeating: "a", count: 64)),
            gateReport: report, version: version)
    }
}

@Suite struct PromoterTests {
    @Test func aPromotionIsOneCommitWithItsRecordManifestsAndTrailers() throws {
        let fixture = try PromotionFixture()
        let promoter = try fixture.promoter()
        let first = try promoter.promoteLocally(try fixture.request("m1"))
        guard case .committed(let commit, let plan, _) = first else { Issue.record("not committed"); return }
        #expect(plan.record.version == "v0.0.1")
        let trailers = try git("log", "-1", "--format=%(trailers:only,unfold)", commit.hex, in: fixture.work)
        let source = try git("rev-parse", "HEAD", in: fixture.work)
        #expect(trailers.contains("Gitops-Ml-Model: m1"))
        #expect(trailers.contains("Gitops-Ml-Version: v0.0.1"))
        #expect(trailers.contains("Gitops-Ml-Environment: staging"))
        #expect(trailers.contains("Gitops-Ml-Source-Commit: \(source)"))
        #expect(trailers.contains("Gitops-Ml-Gate-Report: sha256:"))
        #expect(!trailers.contains("Previous-Version"))
        let files = try git("ls-tree", "-r", "--name-only", "gitops", in: fixture.work)
        #expect(files.contains("environments/staging/m1.yaml"))
        #expect(files.contains("deploy/staging/m1/deployment.yaml"))
        #expect(!files.contains("deploy/staging/m2/"), "only released models are rendered")
        let record = try git("show", "gitops:environments/staging/m1.yaml", in: fixture.work)
        #expect(record.contains("source_commit: \(source)"))
        #expect(try git("fsck", "--strict", in: fixture.work).isEmpty)

        // The same promotion again changes nothing; a new source commit is the next patch version.
        guard case .unchanged = try promoter.promoteLocally(try fixture.request("m1")) else {
            Issue.record("a repeated promotion wrote a commit")
            return
        }
        let next = try commitFiles(["model/m1.bin": "weights 1b\n"], message: "retrain", in: fixture.work)
        guard
            case .committed(let second, let plan2, _) = try promoter.promoteLocally(
                try fixture.request("m1", commit: next))
        else { Issue.record("not committed"); return }
        #expect(plan2.record.version == "v0.0.2")
        #expect(
            try git(
                "log", "-1", "--format=%(trailers:key=Gitops-Ml-Previous-Version,valueonly)", second.hex,
                in: fixture.work) == "v0.0.1")
        #expect(try git("rev-parse", "gitops~1", in: fixture.work) == commit.hex)
    }

    /// Another promotion lands between our fetch and our push: on other files we retry on the new tip,
    /// on our files we fail and nothing is written anywhere.
    @Test func concurrentPromotionsRetryOrFailCleanly() throws {
        let fixture = try PromotionFixture(models: 2)
        var promoter = try fixture.promoter()
        let other = try fixture.promoter()
        promoter.beforeFirstPush = { _ = try other.promote(try fixture.request("m2"), pushTo: fixture.remote) }
        guard
            case .committed(_, _, let attempts) = try promoter.promote(
                try fixture.request("m1"), pushTo: fixture.remote)
        else { Issue.record("not committed"); return }
        #expect(attempts == 2)
        let log = try git("log", "--format=%s", "gitops", in: fixture.remote).split(separator: "\n")
        #expect(log == ["promote(m1): v0.0.1 to staging", "promote(m2): v0.0.1 to staging"])
        #expect(try git("rev-list", "--merges", "gitops", in: fixture.remote).isEmpty)
        let kustomization = try git("show", "gitops:deploy/staging/kustomization.yaml", in: fixture.remote)
        #expect(kustomization.contains("- m1") && kustomization.contains("- m2"))

        // Same model, same file: the later push fails with a conflict and the remote keeps the winner.
        let retrained = try commitFiles(["model/m1.bin": "weights 1c\n"], message: "retrain", in: fixture.work)
        var loser = try fixture.promoter()
        let winner = try fixture.promoter()
        loser.beforeFirstPush = {
            _ = try winner.promote(
                try fixture.request("m1", commit: retrained, version: "v2.0.0"), pushTo: fixture.remote)
        }
        let tipBefore = try git("rev-parse", "gitops", in: fixture.remote)
        let failure = #expect(throws: PromotionFailure.self) {
            _ = try loser.promote(
                try fixture.request("m1", commit: retrained, version: "v3.0.0"), pushTo: fixture.remote)
        }
        #expect(
            failure.map { if case .conflict = $0 { true } else { false } } == true, "\(String(describing: failure))")
        #expect(try git("rev-parse", "gitops~1", in: fixture.remote) == tipBefore)
        #expect(try git("show", "gitops:environments/staging/m1.yaml", in: fixture.remote).contains("version: v2.0.0"))
        #expect(try git("for-each-ref", "refs/gitops-ml/", in: fixture.work).isEmpty, "scratch refs are removed")
    }

    @Test func sshSignaturesVerifyWithGitAndOurs() throws {
        let fixture = try PromotionFixture()
        let key = fixture.temp.path + "/signing_key"
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "promoter", "-f", key])
        let publicKey = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        let allowed = fixture.temp.path + "/allowed_signers"
        try "promoter@example.com \(publicKey)".write(toFile: allowed, atomically: true, encoding: .utf8)

        var promoter = try fixture.promoter()
        promoter.signer = .ssh(key: key)
        guard case .committed(let commit, _, _) = try promoter.promoteLocally(try fixture.request("m1")) else {
            Issue.record("not committed")
            return
        }
        try run(
            [
                "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowed)", "verify-commit",
                commit.hex,
            ],
            in: fixture.work)
        let repository = try Repository(at: fixture.work)
        #expect(
            try CommitVerifier.verify(commit, in: repository, trust: .sshAllowedSigners(allowed)).signer
                == "promoter@example.com")

        // A key not in the allowed signers, and a commit whose content was changed after signing, are refused.
        let stranger = fixture.temp.path + "/other_allowed"
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", fixture.temp.path + "/other"])
        try "someone@example.com \(try String(contentsOfFile: fixture.temp.path + "/other.pub", encoding: .utf8))"
            .write(toFile: stranger, atomically: true, encoding: .utf8)
        #expect(throws: VerificationFailure.self) {
            _ = try CommitVerifier.verify(commit, in: repository, trust: .sshAllowedSigners(stranger))
        }
        let raw = try git("cat-file", "commit", commit.hex, in: fixture.work)
        let tampered = raw.replacingOccurrences(of: "Gitops-Ml-Version: v0.0.1", with: "Gitops-Ml-Version: v9.9.9")
        #expect(tampered != raw)
        let forged = try run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"], in: fixture.work, input: tampered + "\n"
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
        let failure = #expect(throws: VerificationFailure.self) {
            _ = try CommitVerifier.verify(ObjectID(hex: forged), in: repository, trust: .sshAllowedSigners(allowed))
        }
        #expect(failure?.description.contains("does not match") == true)
        #expect(throws: CommandFailed.self) {
            try run(
                [
                    "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(allowed)", "verify-commit",
                    forged,
                ],
                in: fixture.work)
        }
        // Unsigned commits are refused too.
        #expect(throws: VerificationFailure.self) {
            _ = try CommitVerifier.verify(
                ObjectID(hex: try git("rev-parse", "main", in: fixture.work)), in: repository,
                trust: .sshAllowedSigners(allowed))
        }
    }

    @Test func openPGPSignaturesVerifyWithGitAndOurs() throws {
        let fixture = try PromotionFixture()
        let home = fixture.temp.sub("gnupg")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: home)
        var environment = gitTestEnvironment
        environment["GNUPGHOME"] = home
        try run(
            [
                "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                "Promoter <promoter@example.com>", "ed25519", "sign", "never",
            ],
            environment: environment)
        var promoter = try fixture.promoter()
        promoter.signer = .openPGP(key: "promoter@example.com", home: home)
        guard case .committed(let commit, _, _) = try promoter.promoteLocally(try fixture.request("m1")) else {
            Issue.record("not committed")
            return
        }
        try run(["git", "verify-commit", commit.hex], in: fixture.work, environment: environment)
        let verified = try CommitVerifier.verify(
            commit, in: try Repository(at: fixture.work), trust: .openPGPKeyring(home))
        // The signer is the key's own fingerprint, as gpg lists it.
        let listing = try run(
            ["gpg", "--with-colons", "--fingerprint", "promoter@example.com"], environment: environment)
        let fingerprint = listing.split(separator: "\n").first { $0.hasPrefix("fpr:") }?.split(
            separator: ":", omittingEmptySubsequences: false
        ).dropFirst(9).first.map(String.init)
        #expect(fingerprint?.count == 40)
        #expect(verified.signer == fingerprint, "\(verified.signer) vs \(String(describing: fingerprint))")
        let empty = fixture.temp.sub("empty-keyring")
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: empty)
        #expect(throws: VerificationFailure.self) {
            _ = try CommitVerifier.verify(commit, in: try Repository(at: fixture.work), trust: .openPGPKeyring(empty))
        }
    }
}
