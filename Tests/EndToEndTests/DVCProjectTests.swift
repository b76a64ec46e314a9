import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// A repository built here to look like iterative/example-get-started: stages in dvc.yaml with an
/// `artifacts:` model, outputs (the metrics among them) only in dvc.lock and the DVC cache, a `.dvc`
/// pointer, a GTO tag, and DVC experiments under refs/exps. `init` finds the declared model; `check` reads
/// the metrics from the cache and says what to pull without it; `check --each 'exp:*'` gates every
/// experiment against the champion.
@Suite("DVC projects", .serialized)
struct DVCProjectTests {
    let temp = TemporaryDirectory("dvc-project")

    static let dvcYAML = """
        stages:
          train:
            cmd: python src/train.py data/features model.pkl
            deps: [src/train.py, data/features]
            params: [train.seed, train.n_est]
            outs: [model.pkl]
          evaluate:
            cmd: python src/evaluate.py model.pkl data/features
            deps: [src/evaluate.py, model.pkl]
            outs: [eval/plots]
            metrics: [{eval/metrics.json: {cache: true}}]
        metrics:
          - eval/metrics.json
        artifacts:
          text-classification:
            path: model.pkl
            type: model
            desc: Detect sentiment from text
            labels: [text, classification]

        """

    /// Writes an output into the DVC cache (DVC 3 layout) and returns its md5.
    func cache(_ contents: [UInt8], in directory: String) throws -> String {
        let file = directory + "/.md5-input"
        try Data(contents).write(to: URL(fileURLWithPath: file))
        let digest = String(try run(["md5sum", file]).prefix(32))
        let object = "\(directory)/.dvc/cache/files/md5/\(digest.prefix(2))/\(digest.dropFirst(2))"
        try FileManager.default.createDirectory(
            atPath: (object as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: file, toPath: object)
        return digest
    }

    /// A pickled model, as the project's train stage writes one.
    func pickle(_ name: String) throws -> [UInt8] {
        let output = try Subprocess.run([
            "python3", "-c", "import pickle, sys; sys.stdout.buffer.write(pickle.dumps({'model': sys.argv[1]}))", name,
        ])
        return output.stdout
    }

    /// dvc.lock as `dvc repro` writes it, with the metrics' and the model's digests.
    func lock(metrics: String, model: String, in directory: String) throws -> String {
        let metricsMD5 = try cache(Array(metrics.utf8), in: directory)
        let modelBytes = try pickle(model)
        let modelMD5 = try cache(modelBytes, in: directory)
        return """
            schema: '2.0'
            stages:
              train:
                cmd: python src/train.py data/features model.pkl
                outs:
                - path: model.pkl
                  hash: md5
                  md5: \(modelMD5)
                  size: \(modelBytes.count)
              evaluate:
                cmd: python src/evaluate.py model.pkl data/features
                outs:
                - path: eval/metrics.json
                  hash: md5
                  md5: \(metricsMD5)
                  size: \(metrics.utf8.count)

            """
    }

    static func metrics(_ avgPrec: Double, _ rocAUC: Double) -> String {
        #"{"avg_prec": {"train": 0.97, "test": \#(avgPrec)}, "roc_auc": {"train": 0.98, "test": \#(rocAUC)}}"#
    }

    func project() throws -> String {
        let directory = temp.path + "/example-get-started"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try write("[core]\n    remote = storage\n", to: ".dvc/config", in: directory)
        try write("/cache\n/tmp\n", to: ".dvc/.gitignore", in: directory)
        try write("/model.pkl\n/eval\n", to: ".gitignore", in: directory)
        try write(Self.dvcYAML, to: "dvc.yaml", in: directory)
        try write("train:\n  seed: 20170428\n  n_est: 50\n", to: "params.yaml", in: directory)
        try write("print('train')\n", to: "src/train.py", in: directory)
        try write(
            "outs:\n- md5: a304afb96060aad90176268345e10355\n  size: 37891850\n  hash: md5\n  path: data.xml\n",
            to: "data/data.xml.dvc", in: directory)
        try write(
            try lock(metrics: Self.metrics(0.76, 0.94), model: "champion model", in: directory), to: "dvc.lock",
            in: directory)
        try write(
            """
            version: 1
            project: example-get-started
            metrics: [eval/metrics.json]
            params: [params.yaml]
            models:
              text-classification: {artifact: model.pkl, metrics: eval/metrics.json}
            checks:
              policies: policies

            """, to: "gitops-ml.yaml", in: directory)
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: GatePolicy
            metadata: {name: text-classification-gates}
            spec:
              model: text-classification
              gates:
                - {metric: avg_prec.test, greater_is_better: true, min_absolute_change: 0.0}
                - {metric: roc_auc.test, min_absolute_change: -0.01}

            """, to: "policies/gates.yaml", in: directory)
        try git("init", "-q", "-b", "main", in: directory)
        try git("add", "-A", in: directory)
        try run(["git", "commit", "-q", "-m", "Evaluate the model"], in: directory, environment: gitTestEnvironment)
        try git("tag", "-a", "text-classification@v1.0.0", "-m", "Registering artifact", in: directory)
        return directory
    }

    /// A DVC experiment: a commit on top of main with its own params and metrics, under refs/exps.
    func experiment(_ name: String, avgPrec: Double, in directory: String) throws {
        let baseline = try git("rev-parse", "main", in: directory)
        try git("checkout", "-q", "--detach", "main", in: directory)
        try write("train:\n  seed: 20170428\n  n_est: \(Int(avgPrec * 100))\n", to: "params.yaml", in: directory)
        try write(
            try lock(metrics: Self.metrics(avgPrec, 0.94), model: "model of \(name)", in: directory), to: "dvc.lock",
            in: directory)
        try git("commit", "-qam", "dvc: commit experiment \(name)", in: directory)
        let commit = try git("rev-parse", "HEAD", in: directory)
        try git("update-ref", "refs/exps/\(baseline.prefix(2))/\(baseline.dropFirst(2))/\(name)", commit, in: directory)
        try git("checkout", "-q", "main", in: directory)
    }

    @Test func initFindsTheModelDeclaredInDvcYaml() throws {
        let directory = try project()
        try FileManager.default.removeItem(atPath: directory + "/gitops-ml.yaml")
        try FileManager.default.removeItem(atPath: directory + "/policies")
        let result = try gitopsML(["init", directory], in: directory)
        #expect(result.status == 0, "\(result.stderrText)")
        let config = try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8)
        #expect(config.contains("  text-classification:\n"), "\(config)")
        #expect(config.contains("artifact: \"model.pkl\""), "\(config)")
        #expect(config.contains("eval/metrics.json"), "\(config)")
        // The metrics are only in the DVC cache (gitignored, not pulled): read there, the test split's AUC.
        let gates = try String(contentsOfFile: directory + "/policies/gates.yaml", encoding: .utf8)
        #expect(gates.contains("metric: \"roc_auc.test\""), "\(gates)")
    }

    /// example-get-started-experiments declares its model in GTO's artifacts.yaml, next to a dataset (and
    /// here a second model).
    @Test func initFindsTheModelAndDatasetOfAGTORegistry() throws {
        let directory = temp.path + "/example-get-started-experiments"
        try write(
            """
            pool-segmentation:
              type: model
              path: models/model.pkl
              description: Segment swimming pools in satellite images
              labels: [cv, segmentation]
            pool-images:
              type: dataset
              path: data/pool_data.csv
            pool-detection:
              type: model
              path: models/detector.pkl

            """, to: "artifacts.yaml", in: directory)
        try write("image,mask\na.png,a_mask.png\n", to: "data/pool_data.csv", in: directory)
        try git("init", "-q", "-b", "main", in: directory)
        let result = try gitopsML(["init", directory], in: directory)
        #expect(result.status == 0, "\(result.stderrText)")
        let config = try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8)
        #expect(config.contains("  pool-segmentation:\n") && config.contains("artifact: \"models/model.pkl\""))
        #expect(config.contains("pool-images: \"data/pool_data.csv\""), "\(config)")
        // A second declared model gets its own entry and gates, and the whole validates.
        #expect(config.contains("  pool-detection:\n    artifact: \"models/detector.pkl\""), "\(config)")
        // No metrics anywhere: the gates are examples to finish, and init says why.
        #expect(FileManager.default.fileExists(atPath: directory + "/policies/gates-pool-detection.yaml.example"))
        #expect(
            result.stdoutText.contains("guessed: no gate: no metric with a known direction was found"),
            "\(result.stdoutText)")
        let validated = try gitopsML(["validate"], in: directory)
        #expect(validated.status == 0, "\(validated.stderrText)")
    }

    @Test func checkReadsMetricsThatAreDVCOutputsAndSaysWhatToPull() throws {
        let directory = try project()
        try experiment("worse", avgPrec: 0.70, in: directory)
        let checked = try gitopsML(["check", "--head", "exp:worse", "--base", "main", "--no-note"], in: directory)
        #expect(checked.status == 1, "\(checked.stdoutText)")
        #expect(checked.stdoutText.contains("avg_prec.test: challenger 0.7 vs champion 0.76"), "\(checked.stdoutText)")

        // Without the cache: the findings that need the metrics are errors naming the file and what to run;
        // the others (the stale-lock check, which needs no data) are still judged.
        try FileManager.default.moveItem(atPath: directory + "/.dvc/cache", toPath: temp.path + "/moved-cache")
        let empty = try gitopsML(["check", "--head", "exp:worse", "--base", "main", "--no-note"], in: directory)
        #expect(empty.status == 1, "\(empty.stdoutText)\(empty.stderrText)")
        #expect(
            empty.stdoutText.contains("eval/metrics.json is a DVC output (dvc.lock)")
                && empty.stdoutText.contains("run `dvc pull eval/metrics.json`"), "\(empty.stdoutText)")
        #expect(empty.stdoutText.contains("✔ dvc.lock (DVC"), "\(empty.stdoutText)")
        // `diff metrics` names what it could not load, and a tolerance on such a metric says why it is not there.
        let diff = try gitopsML(
            ["diff", "metrics", "main", "exp:worse", "--fail-on", "avg_prec.test<-0.01"], in: directory)
        #expect(diff.status == 1, "\(diff.stdoutText)\(diff.stderrText)")
        #expect(
            diff.stderrText.contains("eval/metrics.json at main not loaded: eval/metrics.json is a DVC output"),
            "\(diff.stderrText)")
        #expect(diff.stderrText.contains("could not be loaded (not in the local DVC cache"), "\(diff.stderrText)")
    }

    /// A dataset under a data policy that is a DVC output nobody pulled (iterative/demo-bank-customer-churn's
    /// `data/Churn_Modelling.csv.dvc` on a fresh clone): its findings are errors naming the pull to run, and
    /// every other check is still judged; the check does not stop at exit 3.
    @Test func aDatasetNotPulledFailsItsOwnFindingsOnly() throws {
        let directory = try project()
        try write(
            "outs:\n- md5: 73fba4fd85b6dbaf95c9d5e3836d3926\n  size: 684858\n  path: Churn_Modelling.csv\n",
            to: "data/Churn_Modelling.csv.dvc", in: directory)
        let config = try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config + "datasets:\n  churn: data/Churn_Modelling.csv\n", to: "gitops-ml.yaml", in: directory)
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: DataPolicy
            metadata: {name: churn-data}
            spec:
              dataset: churn
              expectations:
                - {expect: expect_column_values_to_not_be_null, column: Exited}
              drift: {}

            """, to: "policies/data.yaml", in: directory)
        try git("add", "-A", in: directory)
        try git("commit", "-qm", "A dataset under a data policy", in: directory)
        let result = try gitopsML(["check", "--no-note", "--base", "HEAD~1", "--rules", "HEAD"], in: directory)
        #expect(result.status == 1, "\(result.stdoutText)\(result.stderrText)")
        #expect(
            result.stdoutText.contains(
                "✘ data/Churn_Modelling.csv is a DVC output (data/Churn_Modelling.csv.dvc) with md5 73fba4fd85b6…; not in the local cache: run `dvc pull data/Churn_Modelling.csv`"
            ), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("avg_prec.test: challenger 0.76 vs champion 0.76"), "\(result.stdoutText)")
        #expect(!result.stderrText.contains("error:"), "\(result.stderrText)")
        // Judged by the base's rules, the change is named for what it adds.
        let judged = try gitopsML(["check", "--no-note", "--base", "HEAD~1"], in: directory)
        #expect(
            judged.stdoutText.contains(
                "the change edits the rules (gitops-ml.yaml, policies/data.yaml): dataset churn added; 1 data expectations more; drift checks added."
            ), "\(judged.stdoutText)")
    }

    @Test func eachExperimentIsGatedAgainstTheChampion() throws {
        let directory = try project()
        try experiment("kinky-sera", avgPrec: 0.81, in: directory)
        try experiment("tawny-dace", avgPrec: 0.70, in: directory)
        let result = try gitopsML(["check", "--each", "exp:*", "--base", "main"], in: directory)
        #expect(result.status == 1)
        let lines = result.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("experiment") == true, "\(result.stdoutText)")
        #expect(
            lines.contains { $0.hasPrefix("kinky-sera") && $0.contains("avg_prec.test=0.81") && $0.hasSuffix("pass") },
            "\(result.stdoutText)")
        #expect(lines.contains { $0.hasPrefix("tawny-dace") && $0.contains("fail") }, "\(result.stdoutText)")
        #expect(result.stderrText.contains("1 of 2 experiments fail: tawny-dace"))
        // The same table for machines and for a pull request.
        let json = try gitopsML(["check", "--each", "exp:*", "--base", "main", "--format", "json"], in: directory)
        #expect(json.status == 1)
        let rows = try JSONSerialization.jsonObject(with: Data(json.stdoutText.utf8)) as? [[String: Any]] ?? []
        #expect(rows.map { $0["experiment"] as? String } == ["kinky-sera", "tawny-dace"], "\(json.stdoutText)")
        #expect(rows.map { $0["verdict"] as? String } == ["pass", "fail"])
        #expect((rows.first?["metrics"] as? [String: Any])?["avg_prec.test"] as? Double == 0.81)
        let markdown = try gitopsML(
            ["check", "--each", "exp:*", "--base", "main", "--format", "markdown"], in: directory)
        #expect(markdown.stdoutText.hasPrefix("| experiment | commit | metrics | verdict |"), "\(markdown.stdoutText)")
        #expect(markdown.stdoutText.contains("| kinky-sera |"))

        // An experiment name is a revision everywhere; one held by two baselines is ambiguous.
        let shown = try gitopsML(["show", "exp:kinky-sera:params.yaml"], in: directory)
        #expect(shown.stdoutText.contains("n_est: 81"), "\(shown.stderrText)")
        let commit = try git("rev-parse", "main", in: directory)
        try git("update-ref", "refs/exps/ff/\(String(repeating: "f", count: 38))/kinky-sera", commit, in: directory)
        let ambiguous = try gitopsML(["diff", "params", "main", "exp:kinky-sera"], in: directory)
        #expect(ambiguous.status == 2)
        #expect(ambiguous.stderrText.contains("exp:kinky-sera is ambiguous"), "\(ambiguous.stderrText)")

        // Refs under refs/exps/ of another shape, or not descending from the baseline they name, are not
        // experiments.
        let experimentCommit = try git(
            "rev-parse", "refs/exps/\(commit.prefix(2))/\(commit.dropFirst(2))/kinky-sera", in: directory)
        try git("update-ref", "refs/exps/zz/notasha/evil", commit, in: directory)
        try git(
            "update-ref", "refs/exps/\(experimentCommit.prefix(2))/\(experimentCommit.dropFirst(2))/evil-too", commit,
            in: directory)
        for name in ["evil", "evil-too"] {
            let refused = try gitopsML(["diff", "params", "main", "exp:\(name)"], in: directory)
            #expect(refused.status == 3, "\(name): \(refused.stdoutText)")
            #expect(refused.stderrText.contains("exp:\(name): no DVC experiment of that name"), "\(refused.stderrText)")
        }
    }

    /// `data origin` takes the revisions every other command takes: an experiment and a registered version.
    @Test func dataOriginAtAnExperimentAndARegistryVersion() throws {
        let directory = try project()
        try experiment("kinky-sera", avgPrec: 0.81, in: directory)
        let experimentCommit = try git("for-each-ref", "--format=%(objectname)", "refs/exps/", in: directory)
        #expect(experimentCommit.count == 40)
        let atExperiment = try gitopsML(["data", "origin", "params.yaml@exp:kinky-sera", "--json"], in: directory)
        #expect(atExperiment.status == 0, "\(atExperiment.stderrText)")
        #expect(atExperiment.stdoutText.contains("\"revision\": \"exp:kinky-sera\""), "\(atExperiment.stdoutText)")
        #expect(atExperiment.stdoutText.contains(experimentCommit), "the experiment introduced its params")
        let registered = try gitopsML(
            ["data", "origin", "data/data.xml@registry:text-classification@v1.0.0"], in: directory)
        #expect(registered.status == 0, "\(registered.stderrText)")
        #expect(
            registered.stdoutText.hasPrefix("data/data.xml at registry:text-classification@v1.0.0 ("),
            "\(registered.stdoutText)")
        #expect(registered.stdoutText.contains("md5:a304afb96060aad90176268345e10355"))
    }

    @Test func anEmptyRunIsNotAPass() throws {
        let directory = try project()
        // No gates and no artifact: what was a pass with everything skipped is now "nothing checked", with what to configure.
        try FileManager.default.removeItem(atPath: directory + "/policies")
        let config = try String(contentsOfFile: directory + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config.replacingOccurrences(of: "checks:\n  policies: policies\n", with: "").replacingOccurrences(
                of: "artifact: model.pkl, ", with: ""), to: "gitops-ml.yaml", in: directory)
        try git("commit", "-qam", "No policies", in: directory)
        let result = try gitopsML(["check", "--no-note", "--rules", "HEAD"], in: directory)
        #expect(result.status == 1)
        #expect(result.stdoutText.contains("NOTHING CHECKED"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("nothing checked: every data, model and gate check was skipped"))
        #expect(result.stdoutText.contains("add a GatePolicy"))
    }

    /// The same shape made by the real dvc, not typed: `dvc repro` writes dvc.lock and caches the metrics,
    /// `dvc exp run --set-param` writes experiments under refs/exps; each is gated against the champion.
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func experimentsMadeByDVCAreGatedAgainstTheChampion() throws {
        let dvc = try requireTool("dvc")
        let environment = dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
        let directory = try makeRepository(
            in: temp.sub("real-dvc"),
            files: ProjectFixtures.dvcPipeline(
                config: """
                    version: 1
                    models:
                      m: {metrics: metrics.json}
                    checks:
                      policies: policies

                    """))
        func dvcRun(_ arguments: [String]) throws {
            try run([dvc] + arguments, in: directory, environment: environment, timeout: 300)
        }
        try dvcRun(["init", "-q"])
        try dvcRun(["repro", "-q"])
        try git("add", "-A", in: directory)
        try git("commit", "-qm", "Champion", in: directory)
        #expect(try String(contentsOfFile: directory + "/dvc.lock", encoding: .utf8).contains("metrics.json"))
        try dvcRun(["exp", "run", "-q", "--name", "better", "--set-param", "train.quality=0.81"])
        try dvcRun(["exp", "run", "-q", "--name", "worse", "--set-param", "train.quality=0.70"])
        let refs = try git("for-each-ref", "--format=%(refname)", "refs/exps", in: directory)
        #expect(refs.contains("/better") && refs.contains("/worse"), "\(refs)")

        let result = try gitopsML(["check", "--each", "exp:*", "--base", "main"], in: directory)
        #expect(result.status == 1, "\(result.stdoutText)\(result.stderrText)")
        let lines = result.stdoutText.split(separator: "\n").map(String.init)
        #expect(
            lines.contains { $0.hasPrefix("better") && $0.contains("avg_prec.test=0.81") && $0.hasSuffix("pass") },
            "\(result.stdoutText)")
        #expect(
            lines.contains {
                $0.hasPrefix("worse") && $0.contains("avg_prec.test=0.7") && $0.hasSuffix("fail: avg_prec.test")
            }, "\(result.stdoutText)")
        #expect(result.stderrText.contains("1 of 2 experiments fail: worse"), "\(result.stderrText)")
    }
}
