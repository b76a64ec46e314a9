import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// A change under review cannot switch off its own gates: `check` judges it by the base's rules and shows
/// what it does to them.
@Suite("Rules come from the trusted side")
struct TrustedRulesTests {
    let temp = TemporaryDirectory("trusted-rules")

    func example(_ name: String) throws -> String {
        let dest = temp.path + "/" + name
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dest], timeout: 300)
        try git("checkout", "-q", "challenger/worse", in: dest)
        return dest
    }

    @Test func anEmptiedPolicyInTheHeadDoesNotSwitchOffTheGates() throws {
        let dir = try example("emptied")
        try commitFiles(
            [
                "policies/gates.yaml":
                    "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: churn-gates}\nspec:\n  model: churn\n  gates:\n    - metric: accuracy\n      threshold: 0.1\n"
            ], message: "loosen the gates", in: dir)
        let result = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(result.status == 1, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("significantly worse"))  // the base's McNemar gate still runs
        #expect(result.stdoutText.contains("the change edits the rules (policies/gates.yaml)"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("gate churn/roc_auc removed"))
        #expect(result.stdoutText.contains("gate churn/accuracy loosened: threshold 0.7 → 0.1"))
    }

    @Test func renamingTheModelOrMovingThePoliciesChangesNothing() throws {
        let dir = try example("renamed")
        let config = try String(contentsOfFile: dir + "/gitops-ml.yaml", encoding: .utf8)
        try commitFiles(
            [
                "gitops-ml.yaml":
                    config.replacingOccurrences(of: "  churn:\n", with: "  churn2:\n")
                    + "\n", "nothing/README.md": "no policies here\n",
            ], message: "rename", in: dir)
        let renamed = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(renamed.status == 1, "\(renamed.stdoutText)\(renamed.stderrText)")
        #expect(renamed.stdoutText.contains("significantly worse"), "\(renamed.stdoutText)")
        // The renamed model no longer matches its policy: the head's rules do not even load.
        #expect(renamed.stdoutText.contains("the rules at HEAD"), "\(renamed.stdoutText)")
        #expect(renamed.stdoutText.contains("names model \"churn\", which gitops-ml.yaml does not have"))
    }

    @Test func policyChangesCanFail() throws {
        let dir = try example("strict")
        let config = try String(contentsOfFile: dir + "/gitops-ml.yaml", encoding: .utf8)
        try git("checkout", "-q", "main", in: dir)
        try commitFiles(
            ["gitops-ml.yaml": config.replacingOccurrences(of: "checks:\n", with: "checks:\n  policy_changes: fail\n")],
            message: "strict", in: dir)
        try git("checkout", "-q", "challenger/better", in: dir)
        try git("merge", "-q", "--no-edit", "main", in: dir)
        let untouched = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(untouched.status == 0, "\(untouched.stdoutText)\(untouched.stderrText)")
        try commitFiles(
            ["policies/gates.yaml": "# emptied\n"], message: "drop the gates", in: dir)
        let edited = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(edited.status == 1, "\(edited.stdoutText)")
        #expect(edited.stdoutText.contains("✘ the change edits the rules"), "\(edited.stdoutText)")
    }

    @Test func validateRefusesWhatCheckWouldRefuse() throws {
        let dir = try example("validate")
        let cases: [(String, String, String)] = [
            (
                "policies/gates.yaml",
                "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  model: churm\n  gates:\n    - metric: accuracy\n",
                "policies/gates.yaml:5: GatePolicy g names model \"churm\""
            ),
            (
                "policies/gates.yaml",
                "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  model: churn\n  gates: []\n",
                "GatePolicy g has no gates"
            ),
        ]
        for (path, contents, message) in cases {
            try write(contents, to: path, in: dir)
            let result = try gitopsML(["validate"], in: dir)
            #expect(result.status == 2, "\(result.stdoutText)")
            #expect(result.stderrText.contains(message), "\(result.stderrText)")
        }
        try git("checkout", "-q", "--", "policies/gates.yaml", in: dir)
        let config = try String(contentsOfFile: dir + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config.replacingOccurrences(of: "  policies: policies\n", with: "  policies: nowhere\n"),
            to: "gitops-ml.yaml",
            in: dir)
        let nowhere = try gitopsML(["validate"], in: dir)
        #expect(nowhere.status == 2)
        #expect(nowhere.stderrText.contains("checks.policies points at nowhere/"), "\(nowhere.stderrText)")
    }
}

/// A note is evidence, never trusted alone: `promote` checks its shape and verdict and recomputes the
/// verdict from git objects.
@Suite("Forged gate reports")
struct ForgedReportTests {
    let temp = TemporaryDirectory("forged")

    @Test func aForgedNoteDoesNotPromoteAFailingCommit() throws {
        let dir = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dir], timeout: 300)
        let worse = try git("rev-parse", "challenger/worse", in: dir)
        // The note of the issue: a bare verdict.
        try git(
            "notes", "--ref", "gitops-ml", "add", "-f", "-m",
            "{\"verdict\":\"pass\",\"head\":{\"commit\":\"\(worse)\"}}",
            worse, in: dir)
        let bare = try gitopsML(["promote", "churn", "--to", "staging", "--rev", worse], in: dir)
        #expect(bare.status == 1, "\(bare.stdoutText)\(bare.stderrText)")
        #expect(bare.stderrText.contains("does not follow schemas/check-report.schema.json"), "\(bare.stderrText)")

        // A well-formed report copied from the passing challenger and pointed at the failing one.
        try git("checkout", "-q", "challenger/better", in: dir)
        let better = try git("rev-parse", "HEAD", in: dir)
        let passing = try gitopsML(["check", "--base", "main"], in: dir)
        #expect(passing.status == 0, "\(passing.stdoutText)")
        let note = try run(["git", "notes", "--ref=gitops-ml", "show", better], in: dir)
        try git(
            "notes", "--ref", "gitops-ml", "add", "-f", "-m", note.replacingOccurrences(of: better, with: worse), worse,
            in: dir)
        let forged = try gitopsML(["promote", "churn", "--to", "staging", "--rev", worse], in: dir)
        #expect(forged.status == 1)
        #expect(forged.stderrText.contains("says pass, but recomputed from git objects"), "\(forged.stderrText)")
        #expect(forged.stderrText.contains("roc_auc = 0.5863 is below the threshold 0.7"))  // staging runs nothing yet
        #expect(!(try refExists("refs/heads/gitops", in: dir)), "nothing was written")

        // A report whose verdict does not follow from its own findings.
        let flipped = note.replacingOccurrences(of: "\"status\": \"pass\"", with: "\"status\": \"fail\"")
        try git("notes", "--ref", "gitops-ml", "add", "-f", "-m", flipped, better, in: dir)
        let inconsistent = try gitopsML(["promote", "churn", "--to", "staging", "--rev", better], in: dir)
        #expect(inconsistent.status == 1)
        #expect(inconsistent.stderrText.contains("its own findings make it fail"), "\(inconsistent.stderrText)")

        // The genuine report promotes.
        try git("notes", "--ref", "gitops-ml", "add", "-f", "-m", note, better, in: dir)
        let genuine = try gitopsML(["promote", "churn", "--to", "staging", "--rev", better], in: dir)
        #expect(genuine.status == 0, "\(genuine.stdoutText)\(genuine.stderrText)")
    }
}

/// `check --sign ssh` signs the report in its own namespace; an environment with `report_signers` takes
/// only reports signed by one of them.
@Suite("Signed gate reports")
struct SignedReportTests {
    let temp = TemporaryDirectory("signed")

    func key(_ name: String) throws -> (privateKey: String, publicKey: String) {
        let path = temp.path + "/" + name
        _ = try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
        return (path, try String(contentsOfFile: path + ".pub", encoding: .utf8).trimmingCharacters(in: .newlines))
    }

    @Test func promoteTakesOnlyReportsSignedByTheEnvironmentsSigners() throws {
        let dir = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dir], timeout: 300)
        let reviewer = try key("reviewer")
        let stranger = try key("stranger")
        try git("checkout", "-q", "main", in: dir)
        let config = try String(contentsOfFile: dir + "/gitops-ml.yaml", encoding: .utf8)
        try commitFiles(
            [
                "gitops-ml.yaml": config.replacingOccurrences(
                    of: "    namespace: churn-staging\n",
                    with: "    namespace: churn-staging\n    report_signers: allowed_signers\n"),
                "allowed_signers": "reviewer@example.com \(reviewer.publicKey)\n",
            ], message: "signed reports for staging", in: dir)
        try git("checkout", "-q", "challenger/better", in: dir)

        #expect(try gitopsML(["check", "--base", "main"], in: dir).status == 0)
        let unsigned = try gitopsML(["promote", "churn", "--to", "staging"], in: dir)
        #expect(unsigned.status == 1)
        #expect(unsigned.stderrText.contains("staging needs a signed gate report"), "\(unsigned.stderrText)")

        let byStranger = try gitopsML(
            ["check", "--base", "main", "--sign", "ssh", "--signing-key", stranger.privateKey], in: dir)
        #expect(byStranger.status == 0, "\(byStranger.stderrText)")
        let refused = try gitopsML(["promote", "churn", "--to", "staging"], in: dir)
        #expect(refused.status == 1)
        #expect(refused.stderrText.contains("is not signed by a signer of allowed_signers"), "\(refused.stderrText)")

        let signed = try gitopsML(
            ["check", "--base", "main", "--sign", "ssh", "--signing-key", reviewer.privateKey], in: dir)
        #expect(signed.stderrText.contains(", signed, stored as a note"), "\(signed.stderrText)")
        let promoted = try gitopsML(["promote", "churn", "--to", "staging"], in: dir)
        #expect(promoted.status == 0, "\(promoted.stderrText)")
        #expect(promoted.stderrText.contains("signed by reviewer@example.com"))

        // A report signature is no commit signature: the namespaces differ.
        let head = try git("rev-parse", "HEAD", in: dir)
        let signature = try run(["git", "notes", "--ref=gitops-ml-signatures", "show", head], in: dir)
        #expect(signature.contains("BEGIN SSH SIGNATURE"))
    }
}
