import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Render

/// Every generated file goes through the tools users and their platforms run on it: zizmor and actionlint
/// (workflows and action.yml), kubernetes-validate --strict for Kubernetes 1.28 and 1.37, kustomize (inside
/// kubectl), promtool, and checkov. The tools come from `make test` (.venv and Debian's prometheus); under
/// CI a missing tool fails the test, elsewhere it skips that tool.
@Suite(.serialized) struct ValidatorTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardized.path

    /// Both golden projects written to a temporary folder (a git repository, as actionlint wants one).
    func renderedProjects() throws -> (TemporaryDirectory, [String]) {
        let folder = TemporaryDirectory("render")
        var roots: [String] = []
        for (name, files) in [
            ("churn", try Projects.all(try Projects.churn())),
            ("dvc", try Projects.all(try Projects.dvc(), releases: Projects.dvcReleases)),
        ] {
            let root = folder.sub(name)
            try Projects.write(files, to: root)
            try git("init", "-q", ".", in: root)
            roots.append(root)
        }
        return (folder, roots)
    }

    @Test(.enabled(if: toolsAvailable("zizmor", "actionlint"), "needs zizmor, actionlint (make test installs them)"))
    func workflowsAndActionPassZizmorAndActionlint() throws {
        let (folder, roots) = try renderedProjects()
        defer { withExtendedLifetime(folder) {} }
        let zizmor = try requireTool("zizmor")
        let actionlint = try requireTool("actionlint")
        for root in roots {
            let output = try run(
                [zizmor, "--offline", "--no-progress", "--persona", "pedantic", ".github"], in: root)
            #expect(output.contains("No findings to report"), "\(output)")
            try run([actionlint], in: root)
        }
        // action.yml: zizmor on the file; actionlint checks an action's metadata when a workflow uses it locally.
        let actionRoot = folder.sub("action")
        try FileManager.default.copyItem(atPath: Self.packageRoot + "/action.yml", toPath: actionRoot + "/action.yml")
        try write(
            """
            name: use
            on: [pull_request]
            permissions: {}
            jobs:
              check:
                runs-on: ubuntu-24.04
                permissions:
                  contents: read
                steps:
                  - uses: ./
                    with: {command: check, args: --format github, version: 0.1.0}
            """, to: ".github/workflows/use.yml", in: actionRoot)
        try git("init", "-q", ".", in: actionRoot)
        let output = try run(
            [zizmor, "--offline", "--no-progress", "--persona", "pedantic", "action.yml"], in: actionRoot)
        #expect(output.contains("No findings to report"), "\(output)")
        try run([actionlint], in: actionRoot)
        // …and that check is real: a misspelt input is an error.
        try write(
            "name: use\non: [pull_request]\npermissions: {}\njobs:\n  c:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: ./\n        with: {comand: check}\n",
            to: ".github/workflows/use.yml", in: actionRoot)
        #expect(throws: CommandFailed.self) { try run([actionlint], in: actionRoot) }
    }

    @Test(
        .enabled(
            if: toolsAvailable("kubernetes-validate", "kubectl"),
            "needs kubernetes-validate, kubectl (make test installs them)"))
    func manifestsPassKubernetesValidateAndKustomize() throws {
        let (folder, roots) = try renderedProjects()
        defer { withExtendedLifetime(folder) {} }
        let validate = try requireTool("kubernetes-validate")
        let kubectl = try requireTool("kubectl")
        for root in roots {
            let deploy = root + "/deploy"
            let manifests = try FileManager.default.subpathsOfDirectory(atPath: deploy)
                // kubernetes-validate has no schemas for KServe's and the Gateway API's custom resources
                // (RolloutManifestTests checks the HTTPRoute's fields; kustomize below builds it).
                .filter {
                    $0.hasSuffix(".yaml") && !$0.hasSuffix("kustomization.yaml")
                        && !$0.hasSuffix("inferenceservice.yaml") && !$0.hasSuffix("httproute.yaml")
                }
                .map { deploy + "/" + $0 }
            #expect(manifests.count >= 20)
            for version in ["1.28.0", "1.37.0"] {
                try run([validate, "--strict", "--quiet", "-k", version] + manifests)
            }
            let folders = try FileManager.default.subpathsOfDirectory(atPath: deploy).filter {
                $0.hasSuffix("kustomization.yaml")
            }
            .map { deploy + "/" + ($0 as NSString).deletingLastPathComponent }
            #expect(folders.count >= 4)
            for folder in folders {
                let built = try run([kubectl, "kustomize", folder])
                #expect(built.contains("kind: "))
            }
        }
        // The validator is not a formality: an unknown field fails it.
        let bad = TemporaryDirectory()
        try write(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  bogus: 1\n", to: "bad.yaml", in: bad.path)
        #expect(throws: CommandFailed.self) { try run([validate, "--strict", "--quiet", bad.path + "/bad.yaml"]) }
    }

    @Test(.enabled(if: toolsAvailable("promtool"), "needs promtool (make test installs them)"))
    func alertRulesPassPromtool() throws {
        let (folder, roots) = try renderedProjects()
        defer { withExtendedLifetime(folder) {} }
        let promtool = try requireTool("promtool")
        for root in roots {
            let output = try run([promtool, "check", "rules", root + "/monitoring/alerts.rules.yml"])
            #expect(output.contains("SUCCESS"))
        }
    }

    /// checkov: no failed check on manifests or workflows; each skip is an annotation or comment with its reason.
    @Test(.enabled(if: toolsAvailable("checkov"), "needs checkov (make test installs them)"))
    func checkovFindsNothingUnjustified() throws {
        let (folder, roots) = try renderedProjects()
        defer { withExtendedLifetime(folder) {} }
        let checkov = try requireTool("checkov")
        for root in roots {
            for (framework, folder) in [("kubernetes", "deploy"), ("github_actions", ".github")] {
                let output = try Subprocess.run(
                    [
                        checkov, "-d", root + "/" + folder, "--framework", framework, "-o", "json", "--skip-download",
                        "--compact",
                    ],
                    environment: gitTestEnvironment, timeout: 300)
                let json = try JSONSerialization.jsonObject(with: Data(output.stdout)) as? [String: Any]
                let summary = try #require(json?["summary"] as? [String: Any], "\(output.stderrText)")
                #expect(summary["failed"] as? Int == 0, "\(framework) in \(root): \(output.stdoutText.prefix(4000))")
                #expect((summary["passed"] as? Int ?? 0) > 20)
            }
        }
    }
}
