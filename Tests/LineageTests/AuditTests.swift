import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Lineage

/// `audit` on the example's history with real promotions (`promote --run-checks`), then a direct edit, a
/// forged trailer, a report made for another commit, a deployed rollback and one of a commit never
/// deployed: each rule fires where it should and only there.
@Suite("Audit", .serialized)
struct AuditTests {
    let temp = TemporaryDirectory("audit")

    func failures(_ directory: String, _ arguments: [String] = []) throws -> (Set<String>, ProcessOutput) {
        let output = try gitopsML(["audit", "--env", "staging", "--format", "json"] + arguments, in: directory)
        let object = try JSONSerialization.jsonObject(with: Data(output.stdout)) as? [String: Any]
        let findings = object?["findings"] as? [[String: Any]] ?? []
        return (
            Set(
                findings.filter { $0["status"] as? String == "fail" }.map {
                    "\($0["rule"] ?? "") \(String(($0["commit"] as? String ?? "").prefix(12)))"
                }), output
        )
    }

    /// A commit on `gitops` made with git in a worktree: `files` written, `message` as given.
    func commitOnGitops(_ project: String, files: [String: String], message: String) throws -> String {
        let work = temp.path + "/gitops-worktree"
        if !FileManager.default.fileExists(atPath: work) {
            try git("worktree", "add", "-q", work, "gitops", in: project)
        }
        for (path, contents) in files { try write(contents, to: path, in: work) }
        try git("add", "-A", in: work)
        try run(["git", "commit", "-q", "-m", message], in: work)
        return try git("rev-parse", "HEAD", in: work)
    }

    @Test func eachRuleFiresWhereItShouldAndOnlyThere() throws {
        let project = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        for revision in ["main", "challenger/better"] {
            let promoted = try gitopsML(
                ["promote", "churn", "--to", "staging", "--rev", revision, "--run-checks"], in: project)
            #expect(promoted.status == 0, "\(promoted.stderrText)")
        }
        let good = try git("rev-parse", "gitops", in: project)
        var (failed, output) = try failures(project)
        #expect(failed.isEmpty, "\(output.stdoutText)")
        #expect(output.status == 0)
        #expect(!output.stdoutText.contains("\"history\""), "a full clone has all its history")
        // A shallow clone (CI's default fetch-depth: 1) says what it could not audit.
        let shallow = temp.path + "/shallow"
        try run(["git", "clone", "-q", "--depth", "1", "--no-single-branch", "file://" + project, shallow])
        let cut = try gitopsML(["audit", "--env", "staging", "--format", "json"], in: shallow)
        let cutFindings =
            (try JSONSerialization.jsonObject(with: Data(cut.stdout)) as? [String: Any])?["findings"]
            as? [[String: Any]]
            ?? []
        let history = cutFindings.first { $0["rule"] as? String == "history" }
        #expect(history?["status"] as? String == "warn", "\(cut.stdoutText)\(cut.stderrText)")
        #expect((history?["message"] as? String)?.contains("git fetch --unshallow") == true, "\(cut.stdoutText)")
        // The lineage of the promoted challenger shows its gate report's key gates, as the report states them.
        let lineage = try gitopsML(["lineage", "churn", "--env", "staging", "--format", "json"], in: project)
        let traced = try JSONSerialization.jsonObject(with: Data(lineage.stdout)) as? [String: Any]
        let report = traced?["gate_report"] as? [String: Any]
        let gates = report?["gates"] as? [[String: Any]] ?? []
        #expect(report?["verdict"] as? String == "pass", "\(lineage.stdoutText)")
        #expect(!gates.isEmpty && gates.allSatisfy { $0["status"] as? String != "fail" }, "\(lineage.stdoutText)")
        let lineageText = try gitopsML(["lineage", "churn", "--env", "staging"], in: project).stdoutText
        #expect(gates.allSatisfy { lineageText.contains("\($0["check"] ?? ""): ") }, "\(lineageText)")
        // The data staging runs: its origin as at the promoted source commit.
        let running = try gitopsML(["data", "origin", "train@env:staging", "--json"], in: project)
        #expect(running.status == 0, "\(running.stderrText)")
        let atSource = try gitopsML(["data", "origin", "train@challenger/better", "--json"], in: project)
        let runningOrigin = try JSONSerialization.jsonObject(with: Data(running.stdout)) as? [String: Any]
        let sourceOrigin = try JSONSerialization.jsonObject(with: Data(atSource.stdout)) as? [String: Any]
        #expect(runningOrigin?["commit"] as? String == (try git("rev-parse", "challenger/better", in: project)))
        #expect(
            (runningOrigin?["current"] as? [String: Any])?["digest"] as? String != nil
                && (runningOrigin?["current"] as? [String: Any])?["digest"] as? String
                    == (sourceOrigin?["current"] as? [String: Any])?["digest"] as? String,
            "\(running.stdoutText)")
        let noSuchEnvironment = try gitopsML(["data", "origin", "train@env:nosuch"], in: project)
        #expect(noSuchEnvironment.status == 2)
        #expect(
            noSuchEnvironment.stderrText
                == "gitops-ml: error: no environment \"nosuch\" in gitops-ml.yaml (production, staging)\n",
            "\(noSuchEnvironment.stderrText)")

        // A direct edit of the manifests.
        let edit = try commitOnGitops(
            project, files: ["deploy/staging/churn/deployment.yaml": "# edited by hand\n"], message: "Hotfix replicas")
        // A forged trailer: the record's promotion copied with another artifact digest in its trailer.
        let message = try git("log", "-1", "--format=%B", good, in: project)
        let forgedMessage = message.replacingOccurrences(
            of: #"Gitops-Ml-Artifact: sha256:[0-9a-f]+"#,
            with: "Gitops-Ml-Artifact: sha256:" + String(repeating: "0", count: 64),
            options: .regularExpression)
        let record = try git("show", "\(good):environments/staging/churn.yaml", in: project)
        let forged = try commitOnGitops(
            project, files: ["environments/staging/churn.yaml": record + "# touched\n"], message: forgedMessage)
        // A rollback of a promotion that was deployed (a note says so), and one of a commit never deployed.
        let repository = try Repository(at: project)
        try DeploymentNotes.append(
            DeploymentRecord(
                environment: "staging", target: "local", commit: good, started: Date(), finished: Date(),
                outcome: .failed, checks: [], agent: "test"), in: repository)
        let deployedRollback = try commitOnGitops(
            project, files: ["README.md": "1\n"],
            message: "Roll back\n\nGitops-Ml-Environment: staging\nGitops-Ml-Rollback-Of: \(good)\n")
        let strayRollback = try commitOnGitops(
            project, files: ["README.md": "2\n"],
            message: "Roll back\n\nGitops-Ml-Environment: staging\nGitops-Ml-Rollback-Of: \(edit)\n")

        (failed, output) = try failures(project)
        #expect(output.status == 1)
        #expect(
            failed == [
                "promotion-only \(edit.prefix(12))", "trailers \(forged.prefix(12))",
                "rollback \(strayRollback.prefix(12))",
            ], "\(output.stdoutText)")
        #expect(!failed.contains { $0.hasSuffix(deployedRollback.prefix(12)) })

        // A gate report made for another commit, attached to the source commit of a new promotion.
        let source = try git("rev-parse", "challenger/better", in: project)
        let main = try git("rev-parse", "main", in: project)
        try git(
            "notes", "--ref", "gitops-ml", "add", "-f", "-C",
            "\(try git("notes", "--ref", "gitops-ml", "list", main, in: project))", source, in: project)
        (failed, output) = try failures(project)
        #expect(failed.contains { $0.hasPrefix("gate-report ") }, "\(output.stdoutText)")
        #expect(output.stdoutText.contains("was made for \(main.prefix(12))"))

        // Signatures required: every promotion and rollback is unsigned.
        let signers = temp.path + "/allowed_signers"
        try "nobody@example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8Cj6DVn5Dd7pVRZk0n0N2bHPZ5oSAr7SuCE7V2z2mH\n"
            .write(toFile: signers, atomically: true, encoding: .utf8)
        (failed, output) = try failures(project, ["--allowed-signers", signers])
        #expect(failed.filter { $0.hasPrefix("signatures ") }.count >= 4, "\(output.stdoutText)")

        let text = try gitopsML(["audit", "--env", "staging"], in: project)
        #expect(text.status == 1)
        #expect(text.stdoutText.contains("direct edit bypassing promotion"))
        let junit = try gitopsML(["audit", "--format", "junit"], in: project)
        #expect(junit.stdoutText.contains("<failure message="))
        // A report that says pass on a challenger whose gates fail: the audit re-runs them.
        let worse = try git("rev-parse", "challenger/worse", in: project)
        let forgedReport =
            #"{"schema_version": 1, "tool": {"name": "gitops-ml", "version": "0.1.0"}, "verdict": "pass", "base": null, "head": {"rev": "HEAD", "commit": "\#(worse)"}, "summary": {"pass": 0, "skip": 0, "warn": 0, "fail": 0, "error": 0}, "findings": []}"#
        try git("notes", "--ref", "gitops-ml", "add", "-f", "-m", forgedReport, worse, in: project)
        let reportDigest = try git("notes", "--ref", "gitops-ml", "show", worse, in: project)
        let digest = "sha256:" + Digests.sha256(Array((reportDigest + "\n").utf8))
        let current = try git("show", "gitops:environments/staging/churn.yaml", in: project)
        func replacing(_ text: String) -> String {
            text.replacingOccurrences(
                of: #"source_commit: [0-9a-f]+"#, with: "source_commit: \(worse)", options: .regularExpression
            )
            .replacingOccurrences(
                of: #"Gitops-Ml-Source-Commit: [0-9a-f]+"#, with: "Gitops-Ml-Source-Commit: \(worse)",
                options: .regularExpression
            )
            .replacingOccurrences(
                of: #"gate_report: sha256:[0-9a-f]+"#, with: "gate_report: \(digest)", options: .regularExpression
            )
            .replacingOccurrences(
                of: #"Gitops-Ml-Gate-Report: sha256:[0-9a-f]+"#, with: "Gitops-Ml-Gate-Report: \(digest)",
                options: .regularExpression)
        }
        let smuggled = try commitOnGitops(
            project, files: ["environments/staging/churn.yaml": replacing(current)],
            message: replacing(try git("log", "-1", "--format=%B", good, in: project)))
        let rerun = try gitopsML(["audit", "--env", "staging", "--format", "json"], in: project)
        #expect(
            rerun.stdoutText.contains("re-run from git objects by the rules of the default branch"),
            "\(rerun.stdoutText)")
        #expect(rerun.stdoutText.contains(String(smuggled.prefix(12))))

        let unknown = try gitopsML(["audit", "--env", "nowhere"], in: project)
        #expect(unknown.status == 2)
    }
}
