import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The generated workflows run, job by job, on the churn example's real history (WorkflowHarness): a pull
/// request from the worse challenger is red at the check and the better one green, each with its reports
/// and its comment; a push to main goes through the gates job and the promote job, and the promotion
/// commit lands on the local bare remote; a later push of the worse model stops at the gates.
@Suite("The generated workflows, run", .serialized)
struct WorkflowRunTests {
    let temp = TemporaryDirectory("workflow-run")

    /// The example, a bare remote holding it, and the workflows as `generate workflows` renders them.
    func project() throws -> (work: String, origin: String, workflows: String) {
        let work = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", work], timeout: 300)
        try git("checkout", "-q", "main", in: work)
        let origin = temp.path + "/origin.git"
        try run(["git", "clone", "-q", "--bare", work, origin])
        let generated = try gitopsML(["generate", "workflows"], in: work)
        #expect(generated.status == 0, "\(generated.stderrText)")
        return (work, "file://" + origin, work + "/.github/workflows")
    }

    var environment: [String: String] {
        var environment = gitTestEnvironment
        environment["PATH"] = ProcessInfo.processInfo.environment["PATH"]
        environment["NO_COLOR"] = "1"
        return environment
    }

    @Test func aPullRequestIsRedForTheWorseChallengerAndGreenForTheBetter() throws {
        let (work, origin, workflows) = try project()
        let pullRequest = [
            "github.base_ref": "main", "github.event.pull_request.number": "7", "github.token": "not-a-token",
            "github.repository": "acme/churn",
            "github.event.pull_request.head.repo.full_name == github.repository": "true",
        ]
        for (branch, green) in [("challenger/worse", false), ("challenger/better", true)] {
            let root = temp.sub("ci-" + branch.replacingOccurrences(of: "/", with: "-"))
            let harness = try WorkflowHarness(
                origin: origin, commit: try git("rev-parse", branch, in: work), expressions: pullRequest, root: root)
            let outcome = try harness.run(job: "check", of: workflows + "/ml-ci.yml", environment: environment)
            #expect(outcome.succeeded == green, "\(branch): \(outcome.steps) \(outcome.log)")
            let failedAt = outcome.steps.first { $0.passed == false }?.name
            #expect(failedAt == (green ? nil : "gitops-ml check"), "\(branch): \(outcome.steps)")
            #expect(
                outcome.log.contains(green ? "title=gate/churn/accuracy" : "check failed: "),
                "the check ran: \(outcome.log)")
            // The reports are uploaded and the comment posted either way.
            let report = try String(contentsOfFile: harness.artifacts + "/gitops-ml-check/check.json", encoding: .utf8)
            #expect(report.contains("\"verdict\": \"\(green ? "pass" : "fail")\""), "\(branch)")
            let calls = try String(contentsOfFile: root + "/gh-calls", encoding: .utf8)
            #expect(calls.contains("repos/acme/churn/issues/7/comments"), "\(calls)")
        }
    }

    @Test func aPushIsGatedThenPromotedAndAWorseOneStopsAtTheGates() throws {
        let (work, origin, workflows) = try project()
        func push(_ commit: String) -> [String: String] {
            [
                "github.event_name": "push",
                "github.event_name == 'push' && 'staging' || inputs.environment": "staging",
                "github.sha": commit, "github.token": "not-a-token", "inputs.model": "", "inputs.environment": "",
                "inputs.version": "",
            ]
        }
        // The champion merged on main: gates, then the promotion to staging, pushed to the remote.
        let champion = try git("rev-parse", "main", in: work)
        let first = try WorkflowHarness(
            origin: origin, commit: champion, expressions: push(champion), root: temp.sub("push-1"))
        let gates = try first.run(job: "gates", of: workflows + "/ml-promote.yml", environment: environment)
        #expect(gates.succeeded, "\(gates.steps) \(gates.log)")
        let promoted = try first.run(job: "promote", of: workflows + "/ml-promote.yml", environment: environment)
        #expect(promoted.succeeded, "\(promoted.steps) \(promoted.log)")
        #expect(promoted.log.contains("promoted churn v"), "\(promoted.log)")
        let bare = String(origin.dropFirst("file://".count))
        let record = try git("show", "gitops:environments/staging/churn.yaml", in: bare)
        #expect(record.contains(champion), "\(record)")
        #expect(try git("notes", "--ref=gitops-ml", "show", champion, in: bare).contains("\"verdict\": \"pass\""))

        // The worse challenger pushed to main: red at the gates (against what staging runs), nothing promoted.
        let worse = try git("rev-parse", "challenger/worse", in: work)
        try run(["git", "push", "-q", "--force", origin, "challenger/worse:main"], in: work)
        let second = try WorkflowHarness(
            origin: origin, commit: worse, expressions: push(worse), root: temp.sub("push-2"))
        let refused = try second.run(job: "gates", of: workflows + "/ml-promote.yml", environment: environment)
        #expect(!refused.succeeded, "\(refused.log)")
        #expect(
            refused.steps.first { $0.passed == false }?.name == "Check the commit against what the environment runs",
            "\(refused.steps)")
        #expect(try git("show", "gitops:environments/staging/churn.yaml", in: bare) == record, "nothing promoted")
    }

    /// A DVC project whose metrics are cached DVC outputs (a `dvc repro` stage), pushed to a local directory
    /// remote: main the champion, `better` and `worse` challengers; with its bare git remote and the
    /// environment (dvc on the PATH) the jobs run in.
    func dvcProject() throws -> (work: String, origin: String, environment: [String: String]) {
        let dvc = try requireTool("dvc")
        var environment = self.environment
        environment.merge(dvcTestEnvironment(siteCache: temp.sub("dvc-site"))) { _, dvcs in dvcs }
        environment["PATH"] = (dvc as NSString).deletingLastPathComponent + ":" + (environment["PATH"] ?? "")
        let work = try makeRepository(
            in: temp.sub("dvc-project"),
            files: ProjectFixtures.dvcPipeline(
                config: """
                    version: 1
                    models:
                      m: {metrics: metrics.json, serving: {image: "ghcr.io/acme/m:1.0"}}
                    environments:
                      staging: {branch: gitops, namespace: m-staging}
                    checks:
                      policies: policies

                    """))
        func dvcRun(_ arguments: [String]) throws {
            try run([dvc] + arguments, in: work, environment: environment, timeout: 300)
        }
        try dvcRun(["init", "-q"])
        try dvcRun(["remote", "add", "-d", "local", temp.sub("dvc-remote")])
        try dvcRun(["repro", "-q"])
        try git("add", "-A", in: work)
        try git("commit", "-qm", "Champion", in: work)
        try dvcRun(["push", "-q"])
        for (branch, quality) in [("better", "0.81"), ("worse", "0.70")] {
            try git("checkout", "-q", "-b", branch, "main", in: work)
            try "train:\n  quality: \(quality)\n".write(
                toFile: work + "/params.yaml", atomically: false, encoding: .utf8)
            try dvcRun(["repro", "-q"])
            try git("commit", "-qam", "Challenger \(branch)", in: work)
            try dvcRun(["push", "-q"])
        }
        try git("checkout", "-q", "main", in: work)
        #expect(try gitopsML(["generate", "workflows"], in: work).status == 0)
        let origin = temp.path + "/dvc-origin.git"
        try run(["git", "clone", "-q", "--bare", work, origin])
        return (work, "file://" + origin, environment)
    }

    /// A DVC project whose metrics are cached DVC outputs, kept in a local directory remote: ml-ci's job
    /// fetches the head's and the base's metrics (and nothing else) before the check, which is then green for
    /// the better challenger and red for the worse.
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func aDVCProjectsPullRequestIsJudgedOnMetricsFetchedFromItsRemote() throws {
        let (work, origin, environment) = try dvcProject()
        let pullRequest = [
            "github.base_ref": "main", "github.event.pull_request.number": "3", "github.token": "not-a-token",
            "github.repository": "acme/dvc",
            "github.event.pull_request.head.repo.full_name == github.repository": "true",
        ]
        for (branch, green) in [("worse", false), ("better", true)] {
            let harness = try WorkflowHarness(
                origin: origin, commit: try git("rev-parse", branch, in: work), expressions: pullRequest,
                root: temp.sub("dvc-ci-" + branch))
            let outcome = try harness.run(
                job: "check", of: work + "/.github/workflows/ml-ci.yml", environment: environment)
            #expect(outcome.succeeded == green, "\(branch): \(outcome.steps) \(outcome.log)")
            #expect(outcome.log.contains("fetched from DVC:\nmetrics.json\nmetrics.json"), "\(outcome.log)")
            let report = try String(contentsOfFile: harness.artifacts + "/gitops-ml-check/check.json", encoding: .utf8)
            #expect(report.contains("\"verdict\": \"\(green ? "pass" : "fail")\""), "\(branch): \(report)")
        }
    }

    /// ml-drift on a schedule: after a promotion to staging, the refreshed training data (a shifted
    /// population) drifts and the job opens an issue; the data staging was trained on does not.
    @Test func theDriftJobOpensAnIssueOnlyWhenTheDataDrifted() throws {
        let (work, origin, workflows) = try project()
        let promoted = try gitopsML(
            ["promote", "churn", "--to", "staging", "--run-checks", "--push", origin], in: work)
        #expect(promoted.status == 0, "\(promoted.stdoutText)\(promoted.stderrText)")
        // The drift of the training data against what staging runs (the rendered workflow; not committed).
        let config = work + "/gitops-ml.yaml"
        try
            (try String(contentsOfFile: config, encoding: .utf8)
            + "workflows:\n  drift: {dataset: train, environment: staging}\n")
            .write(toFile: config, atomically: false, encoding: .utf8)
        #expect(try gitopsML(["generate", "workflows"], in: work).status == 0)
        for (branch, drifted) in [("data/refresh", true), ("main", false)] {
            let root = temp.sub("drift-" + branch.replacingOccurrences(of: "/", with: "-"))
            let harness = try WorkflowHarness(
                origin: origin, commit: try git("rev-parse", branch, in: work),
                expressions: ["github.token": "not-a-token"], root: root)
            let outcome = try harness.run(job: "drift", of: workflows + "/ml-drift.yml", environment: environment)
            #expect(outcome.succeeded, "\(branch): \(outcome.steps) \(outcome.log)")
            let issue = outcome.steps.first { $0.name == "Open or update the drift issue" }
            #expect(issue?.passed == (drifted ? true : nil), "\(branch): \(outcome.steps) \(outcome.log)")
            let calls = (try? String(contentsOfFile: root + "/gh-calls", encoding: .utf8)) ?? ""
            #expect(calls.contains("issue create --title Data drift: train against staging") == drifted, "\(calls)")
        }
    }

    /// The files of a project whose training data drifts on `data/refresh`: a model, a gate, the dataset.
    static let driftProjectFiles: [String: String] = [
        "gitops-ml.yaml": """
        version: 1
        models:
          m: {metrics: metrics.json, serving: {image: "ghcr.io/acme/m:1.0"}}
        datasets:
          train: {path: data/train.csv}
        environments:
          staging: {branch: gitops, namespace: m-staging}
        checks:
          policies: policies
        workflows:
          drift: {dataset: train, environment: staging}

        """,
        "metrics.json": "{\"accuracy\": 0.8}\n",
        "policies/gates.yaml": ProjectFixtures.gatePolicy(metric: "accuracy"),
    ]

    /// Writes 400 rows of a column spread over [shift, shift + 10) to `data/train.csv`.
    func writeDriftData(_ work: String, shift: Double) throws {
        try FileManager.default.createDirectory(atPath: work + "/data", withIntermediateDirectories: true)
        let rows = (0..<400).map { "\($0),\(shift + Double(($0 * 37) % 400) / 40)" }
        try ("id,x\n" + rows.joined(separator: "\n") + "\n").write(
            toFile: work + "/data/train.csv", atomically: false, encoding: .utf8)
    }

    /// Promotes main to staging, renders the workflows, and runs ml-drift on `data/refresh` (shifted data:
    /// the job opens an issue) and on main (the data staging runs: no issue); each run's outcome and root.
    func promoteAndRunDrift(_ work: String, origin: String, environment: [String: String]) throws
        -> [(branch: String, drifted: Bool, outcome: WorkflowHarness.Outcome, root: String)]
    {
        let promoted = try gitopsML(["promote", "m", "--to", "staging", "--run-checks", "--push", origin], in: work)
        #expect(promoted.status == 0, "\(promoted.stdoutText)\(promoted.stderrText)")
        #expect(try gitopsML(["generate", "workflows"], in: work).status == 0)
        return try [("data/refresh", true), ("main", false)].map { branch, drifted in
            let name = (work as NSString).lastPathComponent + "-" + branch.replacingOccurrences(of: "/", with: "-")
            let root = temp.sub(name)
            let harness = try WorkflowHarness(
                origin: origin, commit: try git("rev-parse", branch, in: work),
                expressions: ["github.token": "not-a-token"], root: root)
            let outcome = try harness.run(
                job: "drift", of: work + "/.github/workflows/ml-drift.yml", environment: environment)
            #expect(outcome.succeeded, "\(branch): \(outcome.steps) \(outcome.log)")
            let calls = (try? String(contentsOfFile: root + "/gh-calls", encoding: .utf8)) ?? ""
            #expect(calls.contains("issue create --title Data drift: train against staging") == drifted, "\(calls)")
            return (branch, drifted, outcome, root)
        }
    }

    /// ml-drift on a DVC project whose training data is a DVC output in a local directory remote: the job's
    /// composite action fetches the dataset of the head and of what staging runs (nothing else), and the
    /// drift of shifted data opens an issue while the data staging was trained on does not.
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func aDVCProjectsDriftJobReadsBothVersionsOfItsDataFromTheRemote() throws {
        let dvc = try requireTool("dvc")
        var environment = self.environment
        environment.merge(dvcTestEnvironment(siteCache: temp.sub("dvc-drift-site"))) { _, dvcs in dvcs }
        environment["PATH"] = (dvc as NSString).deletingLastPathComponent + ":" + (environment["PATH"] ?? "")
        let work = try makeRepository(in: temp.sub("dvc-drift"), files: Self.driftProjectFiles)
        func dvcRun(_ arguments: [String]) throws {
            try run([dvc] + arguments, in: work, environment: environment, timeout: 300)
        }
        try dvcRun(["init", "-q"])
        try dvcRun(["remote", "add", "-d", "local", temp.sub("dvc-drift-remote")])
        for (branch, shift) in [("main", 0.0), ("data/refresh", 6.0)] {
            if branch != "main" { try git("checkout", "-q", "-b", branch, in: work) }
            try writeDriftData(work, shift: shift)
            try dvcRun(["add", "-q", "data/train.csv"])
            try git("add", "-A", in: work)
            try git("commit", "-qm", "Data of \(branch), tracked by DVC", in: work)
            try dvcRun(["push", "-q"])
        }
        try git("checkout", "-q", "main", in: work)
        let origin = "file://" + temp.path + "/dvc-drift-origin.git"
        try run(["git", "clone", "-q", "--bare", work, String(origin.dropFirst(7))])
        for (branch, _, outcome, _) in try promoteAndRunDrift(work, origin: origin, environment: environment) {
            #expect(
                outcome.log.contains("fetched from DVC:\ndata/train.csv\ndata/train.csv"), "\(branch): \(outcome.log)")
        }
    }

    /// ml-drift on a project whose training data is a git-lfs object: the job fetches the dataset's objects of
    /// the head and of what staging runs by include list, and only shifted data opens an issue.
    @Test(.enabled(if: toolsAvailable("git-lfs"), "needs git-lfs"))
    func anLFSProjectsDriftJobReadsBothVersionsOfItsData() throws {
        var files = Self.driftProjectFiles
        files[".gitattributes"] = "*.csv filter=lfs diff=lfs merge=lfs -text\n"
        let work = try makeRepository(in: temp.sub("lfs-drift"), files: files)
        try git("lfs", "install", "--local", in: work)
        for (branch, shift) in [("main", 0.0), ("data/refresh", 6.0)] {
            if branch != "main" { try git("checkout", "-q", "-b", branch, in: work) }
            try writeDriftData(work, shift: shift)
            try git("add", "-A", in: work)
            try git("commit", "-qm", "Data of \(branch), in git-lfs", in: work)
        }
        try git("checkout", "-q", "main", in: work)
        let origin = "file://" + temp.path + "/lfs-drift-origin.git"
        try run(["git", "clone", "-q", "--bare", work, String(origin.dropFirst(7))])
        try run(["git", "lfs", "push", "--all", origin], in: work)
        for (branch, drifted, _, root) in try promoteAndRunDrift(work, origin: origin, environment: environment) {
            let objects = try FileManager.default.subpathsOfDirectory(
                atPath: root + "/workspace-drift/.git/lfs/objects"
            )
            .filter { $0.split(separator: "/").last?.count == 64 }
            #expect(objects.count == (drifted ? 2 : 1), "\(branch): the head's and staging's data only: \(objects)")
        }
    }

    /// A project whose metrics and model are git-lfs objects, pushed with their objects to a bare remote
    /// (file://, a local LFS store): main the champion, `better` and `worse` challengers, and an undeclared
    /// LFS-tracked JSON file beside them.
    func lfsProject() throws -> (work: String, origin: String) {
        let work = try makeRepository(
            in: temp.sub("lfs-project"),
            files: [
                ".gitattributes":
                    "*.json filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n",
                "gitops-ml.yaml": """
                version: 1
                models:
                  m: {artifact: models/m.bin, metrics: metrics.json, serving: {image: "ghcr.io/acme/m:1.0"}}
                environments:
                  staging: {branch: gitops, namespace: m-staging}
                checks:
                  policies: policies

                """,
                "policies/gates.yaml": ProjectFixtures.gatePolicy(metric: "accuracy"),
            ])
        try git("lfs", "install", "--local", in: work)
        func commit(_ accuracy: String, _ message: String) throws {
            try FileManager.default.createDirectory(atPath: work + "/models", withIntermediateDirectories: true)
            try "{\"accuracy\": \(accuracy)}\n".write(
                toFile: work + "/metrics.json", atomically: false, encoding: .utf8)
            try Data(String(repeating: "weights \(accuracy)\n", count: 300).utf8).write(
                to: URL(fileURLWithPath: work + "/models/m.bin"))
            try FileManager.default.createDirectory(atPath: work + "/other", withIntermediateDirectories: true)
            try "{\"undeclared\": \(accuracy)}\n".write(
                toFile: work + "/other/big.json", atomically: false, encoding: .utf8)
            try git("add", "-A", in: work)
            try git("commit", "-qm", message, in: work)
        }
        try commit("0.80", "Champion")
        for (branch, accuracy) in [("better", "0.85"), ("worse", "0.70")] {
            try git("checkout", "-q", "-b", branch, "main", in: work)
            try commit(accuracy, "Challenger \(branch)")
        }
        try git("checkout", "-q", "main", in: work)
        #expect(try gitopsML(["generate", "workflows"], in: work).status == 0)
        let origin = temp.path + "/lfs-origin.git"
        try run(["git", "clone", "-q", "--bare", work, origin])
        // The objects go with the push, as they would to GitHub's LFS store.
        try run(["git", "lfs", "push", "--all", "file://" + origin], in: work)
        return (work, "file://" + origin)
    }

    /// A project whose metrics and model are git-lfs objects (a local LFS store behind a file:// remote):
    /// ml-ci's job fetches the declared objects of the head and the base only, and the check reads them — green
    /// for the better challenger, red for the worse.
    @Test(.enabled(if: toolsAvailable("git-lfs"), "needs git-lfs"))
    func anLFSProjectsPullRequestIsJudgedOnObjectsFetchedByIncludeList() throws {
        let (work, origin) = try lfsProject()
        let pullRequest = [
            "github.base_ref": "main", "github.event.pull_request.number": "5", "github.token": "not-a-token",
            "github.repository": "acme/lfs",
            "github.event.pull_request.head.repo.full_name == github.repository": "true",
        ]
        for (branch, green) in [("worse", false), ("better", true)] {
            let harness = try WorkflowHarness(
                origin: origin, commit: try git("rev-parse", branch, in: work), expressions: pullRequest,
                root: temp.sub("lfs-ci-" + branch))
            let outcome = try harness.run(
                job: "check", of: work + "/.github/workflows/ml-ci.yml", environment: environment)
            #expect(outcome.succeeded == green, "\(branch): \(outcome.steps) \(outcome.log)")
            let failedAt = outcome.steps.first { $0.passed == false }?.name
            #expect(failedAt == (green ? nil : "gitops-ml check"), "\(branch): \(outcome.steps) \(outcome.log)")
            let report = try String(contentsOfFile: harness.artifacts + "/gitops-ml-check/check.json", encoding: .utf8)
            #expect(report.contains("\"verdict\": \"\(green ? "pass" : "fail")\""), "\(branch): \(report)")
            // Fetched: the head's and the base's metrics and model; not the undeclared JSON file.
            let objects = try FileManager.default.subpathsOfDirectory(
                atPath: harness.root + "/workspace-check/.git/lfs/objects"
            ).filter { $0.split(separator: "/").last?.count == 64 }
            #expect(objects.count == 4, "\(branch): \(objects)")
        }
    }

    /// ml-promote on the DVC project: both jobs fetch the commit's metrics and those of what staging runs
    /// (`rev-parse env:staging` for the worktree), the first push is promoted, and the worse one, pushed
    /// after it, stops at the gates.
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func aDVCProjectIsGatedAndPromotedOnMetricsFetchedFromItsRemote() throws {
        let (work, origin, environment) = try dvcProject()
        let workflow = work + "/.github/workflows/ml-promote.yml"
        func push(_ commit: String) -> [String: String] {
            [
                "github.event_name": "push",
                "github.event_name == 'push' && 'staging' || inputs.environment": "staging",
                "github.sha": commit, "github.token": "not-a-token", "inputs.model": "", "inputs.environment": "",
                "inputs.version": "",
            ]
        }
        let better = try git("rev-parse", "better", in: work)
        let bare = String(origin.dropFirst("file://".count))
        try run(["git", "push", "-q", "--force", origin, "better:main"], in: work)
        let first = try WorkflowHarness(
            origin: origin, commit: better, expressions: push(better), root: temp.sub("dvc-push-1"))
        for job in ["gates", "promote"] {
            let outcome = try first.run(job: job, of: workflow, environment: environment)
            #expect(outcome.succeeded, "\(job): \(outcome.steps) \(outcome.log)")
            #expect(outcome.log.contains("fetched from DVC:\nmetrics.json"), "\(job): \(outcome.log)")
        }
        #expect(try git("show", "gitops:environments/staging/m.yaml", in: bare).contains(better))

        // The worse model pushed next is judged against what staging now runs, whose metrics the job fetches.
        let worse = try git("rev-parse", "worse", in: work)
        try run(["git", "push", "-q", "--force", origin, "worse:main"], in: work)
        let second = try WorkflowHarness(
            origin: origin, commit: worse, expressions: push(worse), root: temp.sub("dvc-push-2"))
        let gates = try second.run(job: "gates", of: workflow, environment: environment)
        #expect(!gates.succeeded, "\(gates.log)")
        #expect(gates.log.contains("fetched from DVC:\nmetrics.json\nmetrics.json"), "head and staging's: \(gates.log)")
        #expect(
            gates.steps.first { $0.passed == false }?.name == "Check the commit against what the environment runs",
            "\(gates.steps)")
    }

    /// ml-promote on the LFS project: each push's gates read what staging runs as well as the commit, so both
    /// commits' declared objects are fetched — the champion is promoted, the better challenger pushed next is
    /// green against it and promoted, and the worse one stops at the gates on its metrics (not on a missing
    /// object).
    @Test(.enabled(if: toolsAvailable("git-lfs"), "needs git-lfs"))
    func anLFSProjectIsGatedAgainstWhatStagingRuns() throws {
        let (work, origin) = try lfsProject()
        let workflow = work + "/.github/workflows/ml-promote.yml"
        let bare = String(origin.dropFirst("file://".count))
        for (step, (branch, promoted)) in [("main", true), ("better", true), ("worse", false)].enumerated() {
            let commit = try git("rev-parse", branch, in: work)
            try run(["git", "push", "-q", "--force", origin, "\(branch):main"], in: work)
            let harness = try WorkflowHarness(
                origin: origin, commit: commit,
                expressions: [
                    "github.event_name": "push",
                    "github.event_name == 'push' && 'staging' || inputs.environment": "staging", "github.sha": commit,
                    "github.token": "not-a-token", "inputs.model": "", "inputs.environment": "", "inputs.version": "",
                ], root: temp.sub("lfs-push-\(step)"))
            let gates = try harness.run(job: "gates", of: workflow, environment: environment)
            #expect(gates.succeeded == promoted, "\(branch): \(gates.steps) \(gates.log)")
            #expect(!gates.log.contains("not in the local LFS store"), "\(branch): \(gates.log)")
            guard promoted else {
                #expect(gates.log.contains("check failed: "), "\(branch) fails on its metrics: \(gates.log)")
                continue
            }
            let promote = try harness.run(job: "promote", of: workflow, environment: environment)
            #expect(promote.succeeded, "\(branch): \(promote.steps) \(promote.log)")
            #expect(try git("show", "gitops:environments/staging/m.yaml", in: bare).contains(commit), "\(branch)")
        }
    }
}
