import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The shipped JSON Schema and the parser agree on what a valid gitops-ml.yaml is.
@Suite("JSON Schema of gitops-ml.yaml", .enabled(if: venvTool("python") != nil || runningInCI))
struct SchemaTests {
    let temp = TemporaryDirectory("schema")

    @Test func schemaAndParserAgree() throws {
        let python = try #require(venvTool("python"), "make test installs .venv")
        let cases: [(name: String, text: String, valid: Bool)] = [
            (
                "example.yaml",
                try String(contentsOfFile: packageRoot + "/examples/churn/gitops-ml.yaml", encoding: .utf8), true
            ),
            ("unknown-key.yaml", "version: 1\nmodles: {}\n", false),
            ("bad-version.yaml", "version: 2\n", false),
            ("bad-port.yaml", "version: 1\nmodels:\n  m:\n    serving: {port: 70000}\n", false),
            ("datasets.yaml", "version: 1\ndatasets:\n  a: a.csv\n  b: {path: b.tsv, format: tsv}\n", true),
            (
                "deploy.yaml",
                """
                version: 1
                gitops_repository: https://example.com/g.git
                models:
                  m:
                    serving:
                      resources: {cpu: 250m, memory: 1Gi}
                      autoscaling: {min_replicas: 2, max_replicas: 4, target_cpu: 60}
                      canary_weight: 10
                      kserve: true
                workflows: {runs_on: ubuntu-24.04, drift: {dataset: a, schedule: "0 6 * * 1"}}
                """, true
            ),
            ("bad-canary.yaml", "version: 1\nmodels:\n  m:\n    serving: {canary_weight: 100}\n", false),
            (
                "new-keys.yaml",
                """
                version: 1
                models:
                  m: {predictions: eval/p.csv, positive_label: "yes", classes: ["no", "yes"]}
                environments:
                  prod: {branch: gitops, report_signers: allowed_signers}
                checks:
                  min_overlap: 0.9
                  policy_changes: fail
                  code:
                    - {name: unit, run: pytest, pass_env: [GITHUB_TOKEN]}
                """, true
            ),
            ("bad-overlap.yaml", "version: 1\nchecks: {min_overlap: 1.5}\n", false),
            ("bad-policy-changes.yaml", "version: 1\nchecks: {policy_changes: ignore}\n", false),
            ("bad-classes.yaml", "version: 1\nmodels:\n  m: {classes: [a]}\n", false),
            ("bad-workflows.yaml", "version: 1\nworkflows: {drift: {datset: a}}\n", false),
        ]
        for item in cases {
            let dir = temp.sub(item.name)
            try write(item.text, to: "gitops-ml.yaml", in: dir)
            if item.name == "example.yaml" {  // it names its policies folder: validate reads that too
                for name in ["gates.yaml", "data.yaml"] {
                    let policy = try String(
                        contentsOfFile: packageRoot + "/examples/churn/policies/" + name, encoding: .utf8)
                    try write(policy, to: "policies/" + name, in: dir)
                }
            }
            let schema = try Subprocess.run(
                [
                    python, packageRoot + "/Tests/Fixtures/validate_schema.py",
                    packageRoot + "/schemas/gitops-ml.schema.json",
                    dir + "/gitops-ml.yaml",
                ])
            // The validator says ok (exit 0) or names the error (exit 1); any other exit is its own failure.
            #expect(schema.status == (item.valid ? 0 : 1), "\(item.name): \(schema.stdoutText)\(schema.stderrText)")
            #expect(schema.stdoutText.hasSuffix(": ok\n") == item.valid, "\(item.name): \(schema.stdoutText)")
            try git("init", "-q", in: dir)
            let ours = try gitopsML(["validate"], in: dir)
            // Ours accepts (exit 0) or refuses as a configuration error: exit 2, one line naming the file.
            #expect(ours.status == (item.valid ? 0 : 2), "\(item.name): \(ours.stderrText)")
            if !item.valid {
                let lines = ours.stderrText.split(separator: "\n")
                #expect(
                    lines.count == 1 && ours.stderrText.contains("gitops-ml.yaml"), "\(item.name): \(ours.stderrText)")
            }
        }
    }
}
