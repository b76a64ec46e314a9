import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Config

/// `gitops-ml diff metrics|params --json` against the real `dvc metrics diff --json` / `dvc params diff --json`.
@Suite("Parity with DVC's metrics and params diffs", .enabled(if: venvTool("dvc") != nil || runningInCI))
struct DVCParityTests {
    let temp = TemporaryDirectory("dvc-parity")

    /// A DVC project whose history exercises the corners: 0.20 vs 0.2, int vs float, nested keys, strings,
    /// booleans, lists in params, metrics in JSON, YAML and TOML, keys added and removed, a file added.
    func makeProject() throws -> String {
        let dir = temp.sub("project")
        try git("init", "-q", "-b", "main", in: dir)
        try run([try dvc(), "init", "-q"], in: dir, environment: dvcEnvironment)
        try write(
            """
            stages:
              train:
                cmd: python3 train.py
                params:
                  - train
                  - extra.toml:
                      - model.depth
                metrics:
                  - metrics.json:
                      cache: false
                  - eval/scores.yaml:
                      cache: false
            metrics:
              - summary.toml
            """, to: "dvc.yaml", in: dir)
        let versions: [[String: String]] = [
            [
                "metrics.json":
                    #"{"accuracy": 0.20, "loss": 1, "nested": {"f1": 0.5, "deep": {"x": 3}}, "name": "a", "flag": true, "list": [1, 2]}"#,
                "eval/scores.yaml": "auc: 0.8\ncount: 100\nby_class:\n  cat: 0.9\n  dog: 0.7\n",
                "summary.toml": "[overall]\nscore = 1.5\nruns = 3\n",
                "params.yaml": "train:\n  lr: 0.01\n  layers: [32, 64]\n  optimizer: adam\n  dropout: 0.2\nunused: 1\n",
                "extra.toml": "[model]\ndepth = 4\nwidth = 8\n",
            ],
            [
                "metrics.json":
                    #"{"accuracy": 0.2, "loss": 1.0, "nested": {"f1": 0.55, "deep": {"x": 4}}, "name": "b", "flag": false, "extra": 7}"#,
                "eval/scores.yaml": "auc: 0.85\ncount: 100\nby_class:\n  cat: 0.9\n  dog: 0.72\n  bird: 0.1\n",
                "summary.toml": "[overall]\nscore = 1.25\nruns = 4\n",
                "params.yaml":
                    "train:\n  lr: 0.02\n  layers: [32, 128]\n  optimizer: adam\n  dropout: 0.20\n  seed: 7\nunused: 2\n",
                "extra.toml": "[model]\ndepth = 6\nwidth = 16\n",
            ],
            [
                "metrics.json": #"{"accuracy": 0.25, "nested": {"f1": 0.6}, "name": "b", "flag": false, "extra": 7.5}"#,
                "eval/scores.yaml": "auc: 0.9\ncount: 120\n",
                "summary.toml": "[overall]\nscore = 1.25\nruns = 4\nnew = 0.1\n",
                "params.yaml": "train:\n  lr: 0.02\n  layers: [32, 128, 256]\n  optimizer: sgd\n  seed: 7\n",
                "extra.toml": "[model]\ndepth = 6.0\n",
            ],
        ]
        for (index, files) in versions.enumerated() {
            try commitFiles(files, message: "version \(index)", in: dir)
        }
        // The workspace differs from HEAD too.
        try write(
            #"{"accuracy": 0.3, "nested": {"f1": 0.6}, "name": "c", "flag": true, "extra": 8}"#, to: "metrics.json",
            in: dir)
        return dir
    }

    var dvcEnvironment: [String: String] {
        dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
    }

    func dvc() throws -> String {
        try #require(venvTool("dvc"), "dvc is not installed in .venv (make test installs it)")
    }

    /// Canonical JSON by Python's json (not our reader, which is under test): keys sorted; ints and
    /// floats kept apart (`1` is not `1.0`).
    func canonical(_ text: String) throws -> String {
        try run(
            ["python3", "-c", "import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))"],
            input: text)
    }

    @Test(arguments: [
        ["HEAD~2", "HEAD~1"], ["HEAD~1", "HEAD"], ["HEAD~2", "HEAD"], ["HEAD"], ["HEAD~2"],
        ["HEAD~2", "HEAD", "--all"],
        ["HEAD", "HEAD~2", "--all"],
    ])
    func metricsAndParamsMatchDVC(revisions: [String]) throws {
        let dir = try makeProject()
        var compared = 0
        for kind in ["metrics", "params"] {
            let theirs = try run([try dvc(), kind, "diff", "--json"] + revisions, in: dir, environment: dvcEnvironment)
            let ours = try gitopsML(["diff", kind, "--json"] + revisions, in: dir)
            #expect(ours.status == 0, "\(ours.stderrText)")
            let expected = try canonical(theirs)
            let actual = try canonical(ours.stdoutText)
            #expect(actual == expected, "\(kind) \(revisions): ours \(actual) vs dvc \(expected)")
            compared += actual.count
        }
        #expect(compared > 40, "the comparison must not be vacuous")
    }
}
