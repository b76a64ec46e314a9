import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

/// The presets on the bundled example, through the real binary: its manifests pass the deployment preset in
/// staging and production, the gate preset reaches the verdicts of the example's own gates, and `promote`
/// and `audit` enforce and report its PromotionPolicy.
@Suite("Policies on the example", .serialized)
struct ExamplePoliciesTests {
    let temp = TemporaryDirectory("example-policies")

    func example() throws -> String {
        let project = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        return project
    }

    @Test func theGeneratedManifestsPassTheDeploymentPresetsInStagingAndProduction() throws {
        let project = try example()
        #expect(try gitopsML(["generate", "all"], in: project).status == 0)
        let checked = try gitopsML(["generate", "all", "--check"], in: project)
        #expect(checked.status == 0, "\(checked.stderrText)")
        try git("add", "-A", in: project)
        try git("commit", "-qm", "Generated files", in: project)
        let suite = try gitopsML(["check", "--suite", "deploy", "--format", "json"], in: project)
        #expect(suite.status == 0, "\(suite.stdoutText)")
        // Every file generate wrote under deploy/production/ is checked (counted here from the folder).
        let written = try FileManager.default.subpathsOfDirectory(atPath: project + "/deploy/production").filter {
            $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }
        #expect(written.count > 1)
        #expect(
            suite.stdoutText.contains("deploy/production/: \(written.count) files pass the DeployPolicy rules"),
            "\(written) \(suite.stdoutText)")

        // One replica in production breaks the preset, at the Deployment's line; staging is not concerned.
        let config = try String(contentsOfFile: project + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config.replacingOccurrences(of: "replicas: 2", with: "replicas: 1"), to: "gitops-ml.yaml", in: project)
        _ = try gitopsML(["generate", "all"], in: project)
        let broken = try gitopsML(["generate", "all", "--check"], in: project)
        #expect(broken.status == 1)
        #expect(
            broken.stderrText.contains(
                "deploy/production/churn/deployment.yaml:20: replicas (error): Deployment/churn"),
            "\(broken.stderrText)")
        #expect(!broken.stderrText.contains("deploy/staging/"))

        // promote checks the default branch's DeployPolicy on what it would write: refused, every rule listed.
        try git("checkout", "-q", "--", "deploy", in: project)
        try git("commit", "-qam", "One replica", in: project)
        let promote = try gitopsML(
            [
                "promote", "churn", "--to", "production", "--run-checks", "--dry-run", "--approval",
                "github-environment",
            ],
            in: project)
        #expect(promote.status == 1)
        #expect(promote.stderrText.contains("deploy/production/churn/deployment.yaml:20: replicas (error)"))
        #expect(promote.stderrText.contains("after: churn from"), "\(promote.stderrText)")
        #expect(!(try refExists("refs/heads/gitops", in: project)), "nothing written")

        // A manifest that is not YAML fails the deploy suite at its line; the report still stands.
        try write("kind: [unclosed\n", to: "deploy/staging/churn/broken.yaml", in: project)
        try git("add", "-A", in: project)
        try git("commit", "-qm", "A broken manifest", in: project)
        let unreadable = try gitopsML(["check", "--suite", "deploy", "--no-note"], in: project)
        #expect(unreadable.status == 1)
        #expect(unreadable.stdoutText.contains("invalid YAML"), "\(unreadable.stdoutText)")
        #expect(unreadable.stdoutText.contains("[deploy/staging/churn/broken.yaml:2]"))
    }

    @Test func theGatePresetReachesTheVerdictsOfTheExamplesOwnGates() throws {
        let project = try example()
        try git("checkout", "-qb", "preset-rules", "main", in: project)
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: GatePolicy
            extends: builtin:gates/binary-classification
            metadata: {name: churn-gates}
            spec: {model: churn}

            """, to: "policies/gates.yaml", in: project)
        try git("commit", "-qam", "Gates from the preset", in: project)
        try git("checkout", "-q", "main", in: project)
        for (challenger, expected) in [("challenger/better", Int32(0)), ("challenger/worse", Int32(1))] {
            let arguments = ["check", "--base", "main", "--head", challenger, "--suite", "gate", "--no-note"]
            let own = try gitopsML(arguments, in: project)
            let preset = try gitopsML(arguments + ["--rules", "preset-rules"], in: project)
            #expect(own.status == expected, "\(challenger): \(own.stdoutText)")
            #expect(preset.status == expected, "\(challenger): \(preset.stdoutText)")
            #expect(preset.stdoutText.contains("roc_auc") && preset.stdoutText.contains("brier"))
        }
    }

    @Test func promoteEnforcesThePromotionPolicyAndAuditReportsWhatBrokeIt() throws {
        let project = try example()
        // The example's policy without its weekend freeze, so that the test does not depend on the day.
        let policy = try String(contentsOfFile: project + "/policies/promotion.yaml", encoding: .utf8)
        try write(
            policy + "  environments:\n    production:\n      freeze: []\n", to: "policies/promotion.yaml", in: project)
        // The staging agent's key, whose signed deployment notes count for the soak (the preset's `agents`).
        let agentKey = temp.path + "/agent-key"
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "agent", "-f", agentKey])
        try write(
            "agent@example.com " + (try String(contentsOfFile: agentKey + ".pub", encoding: .utf8)),
            to: ".gitops-ml/agent_signers", in: project)
        try git("add", "-A", in: project)
        try git("commit", "-qm", "No freeze in the test; the staging agent's key", in: project)

        let early = try gitopsML(
            ["promote", "churn", "--to", "production", "--run-checks", "--approval", "github-environment"], in: project)
        #expect(early.status == 1)
        // With the freeze removed, only `after` is broken (no staging yet), on any day of the week.
        #expect(early.stderrText.contains("breaks 1 policy rule:"), "\(early.stderrText)")
        let broken = early.stderrText.split(separator: "\n").filter { $0.hasPrefix("  - ") }
        #expect(broken.count == 1 && broken.first?.hasPrefix("  - after: churn from") == true, "\(early.stderrText)")
        #expect(!(try refExists("refs/heads/gitops", in: project)), "nothing written")

        let staging = try gitopsML(["promote", "churn", "--to", "staging"], in: project)
        #expect(staging.status == 0, "\(staging.stderrText)")
        let stagingCommit = try git("rev-parse", "gitops", in: project)
        // Run again, the promotion that landed is unchanged, exit 0 (not judged against itself as champion).
        let again = try gitopsML(["promote", "churn", "--to", "staging"], in: project)
        #expect(again.status == 0, "\(again.stderrText)")
        #expect(again.stdoutText.hasPrefix("unchanged: staging already runs churn "), "\(again.stdoutText)")
        #expect(try git("rev-parse", "gitops", in: project) == stagingCommit)
        let unsoaked = try gitopsML(
            ["promote", "churn", "--to", "production", "--approval", "github-environment"], in: project)
        #expect(unsoaked.status == 1)
        #expect(unsoaked.stderrText.contains("soak: no healthy deployment"), "\(unsoaked.stderrText)")

        // The agent's note: healthy in staging for 25 hours.
        let healthy = Date().addingTimeInterval(-25 * 3600)
        try DeploymentNotes.append(
            DeploymentRecord(
                environment: "staging", target: "local", commit: stagingCommit, started: healthy,
                finished: healthy, outcome: .healthy, checks: [], agent: "test"),
            in: try Repository(at: project), signer: .ssh(key: agentKey))
        let promoted = try gitopsML(
            ["promote", "churn", "--to", "production", "--approval", "github-environment"], in: project)
        #expect(promoted.status == 0, "\(promoted.stderrText)")
        let production = try git("rev-parse", "gitops", in: project)

        func policyFindings() throws -> [[String: Any]] {
            let audit = try gitopsML(["audit", "--env", "production", "--format", "json"], in: project)
            let object = try JSONSerialization.jsonObject(with: Data(audit.stdout)) as? [String: Any]
            return (object?["findings"] as? [[String: Any]] ?? []).filter {
                $0["rule"] as? String == "promotion-policy"
            }
        }
        let allowed = try policyFindings()
        #expect(allowed.map { $0["status"] as? String } == ["pass"])
        // The preset counts promotions per day: the audit says it judged them at committer dates.
        #expect(
            (allowed.first?["message"] as? String)?.contains(
                "freeze and max_per_day judged at committer dates, which the pusher sets") == true, "\(allowed)")

        // The rules now ask for three days of soak: the audit finds that this promotion did not have them.
        try write(
            policy + "  environments:\n    production:\n      freeze: []\n      soak: 72h\n",
            to: "policies/promotion.yaml",
            in: project)
        try git("commit", "-qam", "Three days in staging first", in: project)
        let findings = try policyFindings()
        #expect(findings.map { $0["status"] as? String } == ["fail"])
        #expect(
            (findings.first?["message"] as? String)?.contains("soak: it has run healthy in staging for 1d 1h of 3d")
                == true, "\(findings)")
        #expect(findings.first?["commit"] as? String == production)
    }
}
