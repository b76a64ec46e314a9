import Config
import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The generated workflows fetch from DVC only what the checks read: the step's own script, taken from the
/// rendered ml-ci.yml and run as a runner would run it (in a fresh clone, with a local directory DVC remote,
/// `BASE` set as the step's env sets it), fetches the declared dataset and model of the head and of the base,
/// and not the DVC output nothing declares.
@Suite("DVC: only the declared outputs, of the head and the base")
struct DVCFetchTests {
    let temp = TemporaryDirectory("dvc-fetch")

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func theWorkflowFetchesOnlyTheDeclaredOutputs() throws {
        let dvc = try requireTool("dvc")
        let environment = dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
        let origin = try makeRepository(
            in: temp.sub("origin"),
            files: [
                "gitops-ml.yaml": """
                version: 1
                models:
                  m: {artifact: models/model.pkl, metrics: metrics.json}
                datasets:
                  train: {path: data/train.csv}
                environments:
                  staging: {branch: gitops, namespace: m-staging}

                """,
                "metrics.json": "{\"accuracy\": 0.9}\n",
            ])
        func dvcRun(_ arguments: [String], in directory: String) throws {
            try run([dvc] + arguments, in: directory, environment: environment, timeout: 300)
        }
        func write(_ text: String, _ path: String) throws {
            try FileManager.default.createDirectory(
                atPath: (origin + "/" + path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: origin + "/" + path, atomically: false, encoding: .utf8)
        }
        let remote = temp.sub("dvc-remote")
        try dvcRun(["init", "-q"], in: origin)
        try dvcRun(["remote", "add", "-d", "local", remote], in: origin)
        try write("a,b\n1,2\n", "data/train.csv")
        try write("x\n" + String(repeating: "unused\n", count: 100), "data/unused.csv")
        try write("model v1\n", "models/model.pkl")
        try dvcRun(["add", "-q", "data/train.csv", "data/unused.csv", "models/model.pkl"], in: origin)
        try git("add", "-A", in: origin)
        try git("commit", "-qm", "Data and model, tracked by DVC", in: origin)
        try dvcRun(["push", "-q"], in: origin)
        try git("checkout", "-qb", "feature", in: origin)
        try write("a,b\n1,2\n3,4\n", "data/train.csv")
        try dvcRun(["add", "-q", "data/train.csv"], in: origin)
        try git("commit", "-qam", "More training data", in: origin)
        try dvcRun(["push", "-q"], in: origin)

        // A clone as actions/checkout makes it (full history), with an empty DVC cache.
        let clone = temp.path + "/clone"
        try run(["git", "clone", "-q", "--branch", "feature", "file://" + origin, clone])
        let generated = try gitopsML(["generate", "workflows"], in: clone)
        #expect(generated.status == 0, "\(generated.stderrText)")
        // ml-ci's job runs the composite action with the base branch as base and rules.
        let ci = try String(contentsOfFile: clone + "/.github/workflows/ml-ci.yml", encoding: .utf8)
        #expect(ci.contains("uses: ./.github/actions/gitops-ml") && ci.contains("rules: origin/${{ github.base_ref }}"))
        let output = try runFetchStep(
            in: clone, base: "origin/main", rules: "origin/main", dvc: dvc, environment: environment,
            runnerTemp: temp.sub("runner"))
        #expect(
            output.contains("fetched from DVC:\ndata/train.csv\nmodels/model.pkl\ndata/train.csv\nmodels/model.pkl"),
            "\(output)")

        // In the cache: both versions of the dataset and the model; not the output nothing declares.
        func md5(_ pointer: String, at revision: String) throws -> String {
            let text = try git("show", "\(revision):\(pointer)", in: clone)
            return try #require(
                text.split(separator: "\n").first { $0.contains("md5:") }?.split(separator: ":").last?
                    .trimmingCharacters(in: .whitespaces))
        }
        let cached = Set(
            try FileManager.default.subpathsOfDirectory(atPath: clone + "/.dvc/cache").compactMap { path -> String? in
                let parts = path.split(separator: "/")
                return parts.count >= 2 && parts.last?.count == 30 ? String(parts[parts.count - 2] + parts.last!) : nil
            })
        let wanted: Set<String> = [
            try md5("data/train.csv.dvc", at: "HEAD"), try md5("data/train.csv.dvc", at: "origin/main"),
            try md5("models/model.pkl.dvc", at: "HEAD"),
        ]
        #expect(cached == wanted, "cached \(cached), declared \(wanted)")
        #expect(!cached.contains(try md5("data/unused.csv.dvc", at: "HEAD")))
        // And the check reads them without a pull.
        let listed = try gitopsML(["fetch-list", "--lfs"], in: clone)
        #expect(listed.status == 0 && listed.stdoutText.isEmpty, "no LFS object: \(listed.stdoutText)")
        #expect(try gitopsML(["fetch-list", "--dvc", "--lfs"], in: clone).status == 2, "one of the two")
    }

    /// A step's `run:` script, by the start of its name, from a rendered workflow.
    /// The rendered composite action's DVC fetch step, run in `clone` as a runner runs it: `BASE` and `RULES`
    /// as its inputs set them, gitops-ml and `dvc` on the PATH; its output.
    func runFetchStep(
        in clone: String, base: String, rules: String, dvc: String, environment: [String: String], runnerTemp: String
    ) throws -> String {
        let script = try stepScript(
            clone + "/.github/actions/gitops-ml/action.yml", named: "Fetch the DVC outputs the checks read")
        var stepEnvironment = environment
        stepEnvironment["BASE"] = base
        stepEnvironment["RULES"] = rules
        stepEnvironment["RUNNER_TEMP"] = runnerTemp
        stepEnvironment["GITHUB_WORKSPACE"] = clone
        stepEnvironment["PATH"] =
            [(gitopsMLBinary as NSString).deletingLastPathComponent, (dvc as NSString).deletingLastPathComponent]
            .joined(separator: ":") + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        return try run(["bash", "-e", "-o", "pipefail", "-c", script], in: clone, environment: stepEnvironment)
    }

    /// The `run:` script of the step whose name starts with `prefix`, in a workflow's jobs or a composite
    /// action's steps.
    func stepScript(_ workflow: String, named prefix: String) throws -> String {
        let bytes = try #require(FileManager.default.contents(atPath: workflow))
        let root = try #require(try YAMLReader.compose(Array(bytes), file: workflow))
        let top = try ConfigNode(root, file: workflow).mapping()
        let lists =
            try top.optional("jobs")?.mapping().all().map { try $0.node.mapping().required("steps") }
            ?? [try top.required("runs").mapping().required("steps")]
        for steps in lists {
            for step in try steps.list() {
                let map = try step.mapping()
                if try map.optional("name")?.string().hasPrefix(prefix) == true {
                    return try map.required("run").string()
                }
            }
        }
        throw CommandFailed(description: "no step named \(prefix)… in \(workflow)")
    }

    /// A pre-2.0 dvc.lock (DVC 1's shape: stages at the top level, no schema), which DVC 3 refuses with a
    /// stack trace, gets one message naming the file, the outputs and the fix; a DVC 2 lock is listed.
    @Test func aDVC1LockIsSaidOnceClearly() throws {
        let legacy = """
            train:
              cmd: python train.py
              deps:
              - path: train.py
                md5: 0123456789abcdef0123456789abcdef
              outs:
              - path: metrics.json
                md5: fedcba9876543210fedcba9876543210

            """
        let directory = try makeRepository(
            in: temp.sub("legacy"),
            files: [
                "gitops-ml.yaml": "version: 1\nmodels:\n  m: {metrics: metrics.json}\n",
                "dvc.yaml":
                    "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n    outs: [metrics.json]\n",
                "dvc.lock": legacy, "train.py": "print(1)\n",
            ])
        let refused = try gitopsML(["fetch-list", "--dvc"], in: directory)
        #expect(refused.status == 2, "\(refused.stderrText)")
        #expect(refused.stderrText.contains("dvc.lock at HEAD is in DVC 1's format"), "\(refused.stderrText)")
        #expect(refused.stderrText.contains("metrics.json") && refused.stderrText.contains("dvc commit"))

        let current =
            "schema: '2.0'\nstages:\n" + legacy.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        try commitFiles(["dvc.lock": current], message: "DVC 2 lock", in: directory)
        let listed = try gitopsML(["fetch-list", "--dvc"], in: directory)
        #expect(listed.status == 0 && listed.stdoutText == "metrics.json\n", "\(listed.stdoutText)\(listed.stderrText)")
        // Before gitops-ml.yaml is committed (init just wrote it), the work tree's declares what to fetch.
        try git("rm", "-q", "--cached", "gitops-ml.yaml", in: directory)
        try git("commit", "-qm", "Not yet committed", in: directory)
        let uncommitted = try gitopsML(["fetch-list", "--dvc"], in: directory)
        #expect(uncommitted.status == 0 && uncommitted.stdoutText == "metrics.json\n", "\(uncommitted.stderrText)")
    }

    /// In a monorepo, each path is fetched through the dvc.lock of its own project: a DVC 1 lock in one
    /// project is named as that file, and a project with a current lock is listed.
    @Test func aMonorepoProjectsDVC1LockIsNamedAsItsOwnFile() throws {
        func lock(_ output: String, schema: Bool) -> String {
            let stage =
                "train:\n  cmd: python train.py\n  outs:\n  - path: \(output)\n    md5: fedcba9876543210fedcba9876543210\n"
            return schema
                ? "schema: '2.0'\nstages:\n" + stage.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
                    + "\n"
                : stage
        }
        let directory = try makeRepository(
            in: temp.sub("monorepo-legacy"),
            files: [
                "gitops-ml.yaml":
                    "version: 1\nmodels:\n  a: {metrics: project-a/metrics.json}\n  b: {metrics: project-b/metrics.json}\n",
                "project-a/dvc.yaml": "stages:\n  train: {cmd: python train.py, outs: [metrics.json]}\n",
                "project-a/dvc.lock": lock("metrics.json", schema: true),
                "project-b/dvc.yaml": "stages:\n  train: {cmd: python train.py, outs: [metrics.json]}\n",
                "project-b/dvc.lock": lock("metrics.json", schema: false),
            ])
        let refused = try gitopsML(["fetch-list", "--dvc"], in: directory)
        #expect(refused.status == 2, "\(refused.stdoutText)\(refused.stderrText)")
        #expect(
            refused.stderrText.contains("project-b/dvc.lock at HEAD is in DVC 1's format")
                && refused.stderrText.contains("to fetch project-b/metrics.json:"), "\(refused.stderrText)")
        try commitFiles(["project-b/dvc.lock": lock("metrics.json", schema: true)], message: "DVC 2", in: directory)
        let listed = try gitopsML(["fetch-list", "--dvc"], in: directory)
        #expect(listed.stdoutText == "project-a/metrics.json\nproject-b/metrics.json\n", "\(listed.stderrText)")
    }
}
