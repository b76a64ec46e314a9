import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `init` on the shapes of public projects it got wrong: metrics found only in history or experiments, a
/// folder of ONNX models beside Python code, a model at an `s3://` URL, an XML dataset, a clone whose
/// current branch is not the remote's default. Every guess is printed, and the next step works as printed.
@Suite("init guesses right, or says what to set")
struct InitGuessTests {
    let temp = TemporaryDirectory("init-guesses")

    func initialize(_ directory: String) throws -> (output: String, config: String) {
        let result = try gitopsML(["init", directory], in: directory)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        return (result.stdoutText, try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8))
    }

    /// The metrics file is gitignored here (a DVC output not pulled), but a DVC experiment committed it: the
    /// gate takes a metric from there, the held-out one, and says so.
    @Test func aMetricFoundInAnExperimentNotAnInventedOne() throws {
        let directory = try makeRepository(
            in: temp.sub("experiments"),
            files: [
                "dvc.yaml":
                    "stages:\n  evaluate:\n    cmd: python eval.py\n    metrics:\n    - eval/metrics.json:\n        cache: false\n",
                "params.yaml": "seed: 1\n",
            ])
        let baseline = try git("rev-parse", "HEAD", in: directory)
        let experiment = try commitFiles(
            ["eval/metrics.json": "{\"dice_multi\": {\"train\": 0.9, \"test\": 0.81}, \"epochs\": 10}"],
            message: "dvc: experiment", in: directory)
        try git(
            "update-ref", "refs/exps/\(baseline.prefix(2))/\(baseline.dropFirst(2))/lucky-fox", experiment,
            in: directory)
        try git("reset", "-q", "--hard", baseline, in: directory)
        let (output, _) = try initialize(directory)
        let gates = try String(contentsOfFile: directory + "/policies/gates.yaml", encoding: .utf8)
        #expect(gates.contains("- metric: \"dice_multi.test\""), "\(gates)")
        #expect(gates.contains("min_relative_change: -0.01"))
        #expect(
            output.contains("guessed: gate metric dice_multi.test from eval/metrics.json at refs/exps/"), "\(output)")
    }

    /// DVC 2's `live:` section (dvclive's summary, `dvclive.json`) is a metrics file, and a stage's model
    /// output (`model.pt`, kept in the DVC cache) is the artifact.
    @Test func dvcliveSummariesAndStageModelOutputs() throws {
        let directory = try makeRepository(
            in: temp.sub("dvclive"),
            files: [
                "dvc.yaml":
                    "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.pt:\n        checkpoint: true\n    live:\n      dvclive:\n        summary: true\n",
                "train.py": "print(1)\n", "dvclive.json": "{\"step\": 3, \"acc\": 0.91, \"loss\": 0.2}",
            ])
        let (output, config) = try initialize(directory)
        #expect(config.contains("metrics: [\"dvclive.json\"]"), "\(config)")
        #expect(config.contains("artifact: \"model.pt\""), "\(config)")
        let gates = try String(contentsOfFile: directory + "/policies/gates.yaml", encoding: .utf8)
        #expect(gates.contains("- metric: \"acc\""), "\(output)\(gates)")
    }

    /// No metric anywhere: no invented `accuracy` gate. The gates are an example to finish, the
    /// configuration validates, and `check` (run as printed) says what to configure.
    @Test func noMetricMeansNoGateAndTheNextStepWorks() throws {
        let directory = try makeRepository(in: temp.sub("no-metrics"), files: ["train.py": "print(1)\n"])
        let (output, config) = try initialize(directory)
        #expect(!FileManager.default.fileExists(atPath: directory + "/policies/gates.yaml"))
        #expect(FileManager.default.fileExists(atPath: directory + "/policies/gates.yaml.example"))
        #expect(config.contains("# policies: policies"), "\(config)")
        #expect(output.contains("git add gitops-ml.yaml policies .github && git commit -m \"Adopt gitops-ml\""))
        let workspace = try gitopsML(
            ["check", "--head", "workspace", "--rules", "workspace", "--no-note"], in: directory)
        #expect(workspace.status == 1, "\(workspace.stdoutText)\(workspace.stderrText)")
        #expect(workspace.stdoutText.contains("NOTHING CHECKED"), "\(workspace.stdoutText)")
        try git("add", "-A", in: directory)
        try git("commit", "-qm", "Adopt gitops-ml", in: directory)
        let committed = try gitopsML(["check", "--no-note"], in: directory)
        #expect(committed.stdoutText.contains("NOTHING CHECKED"), "\(committed.stdoutText)\(committed.stderrText)")
    }

    /// A folder of ONNX models beside Python code: a model file is the artifact, never the code; a model
    /// declared at an `s3://` URL is named and left out, and `validate` refuses a URL as a repository path.
    @Test func modelFilesByKindAndRemoteArtifactsLeftOut() throws {
        let directory = try makeRepository(
            in: temp.sub("zoo"),
            files: [
                "models/__init__.py": "\n", "models/resnet/resnet50.onnx": "onnx", "models/vgg/vgg16.onnx": "onnx",
                "artifacts.yaml": "remote-model:\n  type: model\n  path: s3://bucket/models/model.pkl\n",
            ])
        let (output, config) = try initialize(directory)
        #expect(config.contains("artifact: \"models/resnet/resnet50.onnx\""), "\(config)")
        #expect(output.contains("the first of 2 model files (models/vgg/vgg16.onnx)"), "\(output)")
        #expect(output.contains("remote-model is at s3://bucket/models/model.pkl, remote storage"), "\(output)")
        #expect(!config.contains("s3:"))
        try write(
            config.replacingOccurrences(of: "models/resnet/resnet50.onnx", with: "s3://bucket/models/model.pkl"),
            to: "gitops-ml.yaml", in: directory)
        let refused = try gitopsML(["validate"], in: directory)
        #expect(refused.status == 2, "\(refused.stdoutText)")
        #expect(refused.stderrText.contains("it is a URL (remote storage)"), "\(refused.stderrText)")
    }

    /// onnx/models' shape: the model files six levels down, Python beside them: the deeper search finds
    /// them when the first three levels hold none.
    @Test func aZooKeepsItsModelsDeep() throws {
        let directory = try makeRepository(
            in: temp.sub("deep-zoo"),
            files: [
                "validated/vision/classification/resnet/model/resnet50-v1-7.onnx": "onnx",
                "validated/vision/classification/resnet/README.md": "ResNet\n",
                "workflow_scripts/check_model.py": "print(1)\n",
            ])
        let (output, config) = try initialize(directory)
        #expect(
            config.contains("artifact: \"validated/vision/classification/resnet/model/resnet50-v1-7.onnx\""),
            "\(output)")
    }

    /// The folder under review leads out through symlinks: params.yaml to a file outside (whose values dvc.yaml's
    /// templating would write into the configuration) and a dataset to a FIFO outside (a read would block).
    /// init reads neither, and finishes.
    @Test func symlinksOutOfTheFolderAreNotRead() throws {
        let outside = temp.sub("outside")
        try write("secret:\n  dir: leaked\n", to: "params.yaml", in: outside)
        try run(["mkfifo", outside + "/pipe.csv"])
        let directory = try makeRepository(
            in: temp.sub("links-out"),
            files: [
                "dvc.yaml": "stages:\n  train:\n    cmd: python train.py\n    outs:\n    - ${secret.dir}/model.pkl\n"
            ])
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/params.yaml", withDestinationPath: outside + "/params.yaml")
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: directory + "/data/train.csv", withDestinationPath: outside + "/pipe.csv")
        let (output, config) = try initialize(directory)
        #expect(!config.contains("leaked") && !output.contains("leaked"), "\(output)\(config)")
    }

    /// `--model NAME=PATH` names the model and its artifact: no guess is made, and a URL is refused.
    @Test func theModelAndItsArtifactCanBeNamed() throws {
        let directory = try makeRepository(
            in: temp.sub("named"), files: ["models/a.onnx": "a", "models/b.onnx": "b", "train.py": "print(1)\n"])
        let result = try gitopsML(["init", directory, "--model", "fraud=models/b.onnx"], in: directory)
        #expect(result.status == 0, "\(result.stderrText)")
        let config = try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8)
        #expect(config.contains("  fraud:\n    artifact: \"models/b.onnx\""), "\(config)")
        #expect(!result.stdoutText.contains("guessed: model"), "\(result.stdoutText)")
        let url = try gitopsML(["init", directory, "--force", "--model", "fraud=s3://bucket/model.pkl"], in: directory)
        #expect(url.status == 2 && url.stderrText.contains("it is a URL"), "\(url.stderrText)")
    }

    /// A subfolder of a repository is not where GitHub or check look: init says where to run it and writes
    /// nothing.
    @Test func aSubfolderIsRefusedWithTheRootNamed() throws {
        let directory = try makeRepository(in: temp.sub("mono"), files: ["project-1/params.yaml": "lr: 1\n"])
        let result = try gitopsML(["init", directory + "/project-1"], in: directory)
        #expect(result.status == 2)
        #expect(result.stderrText.contains("is inside the repository at \(directory)"), "\(result.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/project-1/gitops-ml.yaml"))
    }

    /// A model file dvc.yaml declares but nothing holds (a pipeline never reproduced: no dvc.lock, not in
    /// git) comes after one that exists, and when it is the only one, the guess says why the first check
    /// will not find it.
    @Test func aDeclaredModelNobodyHoldsIsNotPreferredAndIsSaidSo() throws {
        let dvcYAML = "stages:\n  train:\n    cmd: python train.py\n    outs: [model.pt]\n"
        let directory = try makeRepository(
            in: temp.sub("never-reproduced"),
            files: ["dvc.yaml": dvcYAML, "models/exported.onnx": "\u{8}\u{7}\u{12}\u{7}pytorch", "train.py": "1\n"])
        let (output, config) = try initialize(directory)
        #expect(config.contains("artifact: \"models/exported.onnx\""), "\(output)")
        let alone = try makeRepository(in: temp.sub("never-reproduced-alone"), files: ["dvc.yaml": dvcYAML])
        let (said, _) = try initialize(alone)
        #expect(said.contains("model.pt (dvc.yaml declares it, but neither git nor a dvc.lock has it"), "\(said)")
    }

    /// The shape of iterative/demo-bank-customer-churn: dvc.yaml names its outputs through templating
    /// (`${base.model_dir}/clf-model`), GTO's artifacts.yaml still names the model's old path, and the data
    /// splits are pickles: the model is the stage output named as one, not the stale declaration nor
    /// `data/X_train.pkl`, under the registry's name; the metrics file dvc.yaml names through `vars:` is
    /// found.
    @Test func templatedOutputsAndAStaleRegistryDeclaration() throws {
        let lockOutput = { (path: String, md5: String) in "    - path: \(path)\n      md5: \(md5)\n      size: 10\n" }
        let directory = try makeRepository(
            in: temp.sub("templated"),
            files: [
                "params.yaml": "base:\n  model_dir: model\n  data_dir: data\n",
                "eval.yaml": "reports: {dir: reports}\n",
                "artifacts.yaml": "churn-model:\n  type: model\n  path: .mlem/model/clf-model\n",
                "dvc.yaml": """
                vars:
                  - eval.yaml:reports
                stages:
                  split:
                    cmd: python split.py
                    outs:
                      - ${base.data_dir}/X_train.pkl
                      - ${base.data_dir}/y_train.pkl
                  train:
                    cmd: python train.py
                    deps:
                      - ${base.data_dir}/X_train.pkl
                    outs:
                      - ${base.model_dir}/clf-model
                  eval:
                    cmd: python eval.py
                    metrics:
                      - ${reports.dir}/metrics.json:
                          cache: false

                """,
                "dvc.lock": "schema: '2.0'\nstages:\n  split:\n    cmd: python split.py\n    outs:\n"
                    + lockOutput("data/X_train.pkl", String(repeating: "a", count: 32))
                    + lockOutput("data/y_train.pkl", String(repeating: "b", count: 32))
                    + "  train:\n    cmd: python train.py\n    outs:\n"
                    + lockOutput("model/clf-model", String(repeating: "c", count: 32)),
                "reports/metrics.json": "{\"roc_auc\": 0.86}",
            ])
        let (output, config) = try initialize(directory)
        #expect(config.contains("  churn-model:\n    artifact: \"model/clf-model\""), "\(config)")
        #expect(
            output.contains(
                "declares .mlem/model/clf-model, which HEAD does not hold; model/clf-model, the first of 3 model files"),
            "\(output)")
        #expect(config.contains("metrics: [\"reports/metrics.json\"]"), "\(config)")
        let gates = try String(contentsOfFile: directory + "/policies/gates.yaml", encoding: .utf8)
        #expect(gates.contains("- metric: \"roc_auc\""), "\(gates)")
    }

    /// iterative/cml_base_case's data: matrices of numbers written by numpy's savetxt, no header row. pandas
    /// would take the first row for column names, so no data policy is written for them; they are declared
    /// for lineage and init says why.
    @Test func headerlessNumberMatricesGetNoDataTests() throws {
        let directory = try makeRepository(
            in: temp.sub("savetxt"),
            files: [
                "data/train_features.csv": "-9.05e-01 4.09e-02 9.01e-01\n1.2e+00 -3.1e-01 5.5e-02\n",
                "data/train_labels.csv": "0.000000000000000000e+00\n1.000000000000000000e+00\n",
                "train.py": "import numpy\n",
            ])
        let (output, config) = try initialize(directory)
        #expect(config.contains("train-features: \"data/train_features.csv\""), "\(config)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/policies/data.yaml"))
        #expect(
            output.contains(
                "dataset train-features (data/train_features.csv) has no header row (its first line is numbers"),
            "\(output)")
    }

    /// A monorepo of two DVC projects (`dvc init --subdir`, nothing at the root): a model per project, each
    /// with its own model file and evaluation metrics, every project's metrics declared, the environments
    /// named after the repository; the first `check` after committing is green.
    @Test func aMonorepoGetsAModelPerDVCProject() throws {
        var files: [String: String] = ["README.md": "two projects\n"]
        for project in ["churn", "fraud-scoring"] {
            files["\(project)/.dvc/config"] = ""
            files["\(project)/dvc.yaml"] = """
                stages:
                  train: {cmd: python train.py, deps: [train.py], outs: [models/model.onnx]}
                  evaluate:
                    cmd: python evaluate.py
                    deps: [models/model.onnx]
                    metrics: [{eval/metrics.json: {cache: false}}]

                """
            files["\(project)/params.yaml"] = "seed: 1\n"
            files["\(project)/eval/metrics.json"] = "{\"roc_auc\": 0.8}\n"
            files["\(project)/models/model.onnx"] = "\u{8}\u{7}\u{12}\u{7}pytorch"
        }
        let directory = try makeRepository(in: temp.sub("monorepo"), files: files)
        let (output, config) = try initialize(directory)
        #expect(
            output.contains(
                "guessed: model churn: the DVC project in churn/, model file churn/models/model.onnx, metrics churn/eval/metrics.json"
            ), "\(output)")
        #expect(output.contains("guessed: model fraud-scoring: the DVC project in fraud-scoring/"), "\(output)")
        #expect(
            config.contains(#"metrics: ["churn/eval/metrics.json", "fraud-scoring/eval/metrics.json"]"#), "\(config)")
        #expect(config.contains(#"params: ["churn/params.yaml", "fraud-scoring/params.yaml"]"#), "\(config)")
        #expect(
            config.contains(
                "  fraud-scoring:\n    artifact: \"fraud-scoring/models/model.onnx\"\n    metrics: \"fraud-scoring/eval/metrics.json\""
            ), "\(config)")
        #expect(config.contains("namespace: monorepo-staging"), "\(config)")
        let second = try String(contentsOfFile: directory + "/policies/gates-fraud-scoring.yaml", encoding: .utf8)
        #expect(second.contains("from fraud-scoring/eval/metrics.json"), "its own project's metrics: \(second)")
        try git("add", "-A", in: directory)
        try git("commit", "-qm", "Adopt gitops-ml", in: directory)
        let check = try gitopsML(["check", "--no-note"], in: directory)
        #expect(check.status == 0, "\(check.stdoutText)\(check.stderrText)")
        #expect(check.stdoutText.components(separatedBy: "roc_auc: challenger 0.8 vs champion 0.8").count == 3)
    }

    /// Paths typed on the command line are relative to the current folder, as git and dvc take them.
    @Test func typedPathsAreRelativeToTheCurrentFolder() throws {
        let directory = try makeRepository(
            in: temp.sub("relative"), files: ["script.py": "root\n", "project-1/script.py": "project\n"])
        let here = try gitopsML(["data", "origin", "script.py"], in: directory + "/project-1")
        #expect(here.status == 0, "\(here.stderrText)")
        #expect(here.stdoutText.hasPrefix("project-1/script.py at HEAD"), "\(here.stdoutText)")
        let up = try gitopsML(["data", "origin", "../script.py"], in: directory + "/project-1")
        #expect(up.stdoutText.hasPrefix("script.py at HEAD"), "\(up.stdoutText)")
        let out = try gitopsML(["data", "origin", "../../script.py"], in: directory + "/project-1")
        #expect(out.status == 2 && out.stderrText.contains("leads outside the repository"), "\(out.stderrText)")
    }

    /// An XML dataset declared in dvc.yaml is kept for lineage, with no data policy and no drift workflow;
    /// an undeclared archive is named and left out; the default branch is the remote's, not the feature
    /// branch checked out.
    @Test func unreadableDataAndTheRemotesDefaultBranch() throws {
        func pointer(_ md5: Character, _ name: String) -> String {
            "outs:\n- md5: \(String(repeating: md5, count: 32))\n  size: 10\n  hash: md5\n  path: \(name)\n"
        }
        let origin = try makeRepository(
            in: temp.sub("origin"),
            files: [
                "data/data.xml.dvc": pointer("a", "data.xml"), "data/images.tar.dvc": pointer("b", "images.tar"),
                "dvc.yaml": "artifacts:\n  raw-data:\n    type: dataset\n    path: data/data.xml\n",
            ],
            branch: "trunk")
        let clone = temp.path + "/clone"
        try git("clone", "-q", origin, clone, in: temp.path)
        try git("checkout", "-q", "-b", "feature-y", in: clone)
        let (output, config) = try initialize(clone)
        #expect(config.contains("default_branch: \"trunk\""), "\(config)")
        #expect(
            output.contains("guessed: default branch trunk: the remote's default branch (origin/HEAD)"), "\(output)")
        #expect(config.contains("raw-data: \"data/data.xml\""), "\(config)")
        #expect(config.contains("not CSV, TSV or JSON Lines: for lineage only"))
        #expect(
            output.contains("data/images.tar is not CSV, TSV or JSON Lines: not declared as a dataset"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: clone + "/policies/data.yaml"))
        #expect(!FileManager.default.fileExists(atPath: clone + "/.github/workflows/ml-drift.yml"))
    }
}
