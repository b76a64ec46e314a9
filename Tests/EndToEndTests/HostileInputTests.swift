import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// Input written by someone who wants the check to pass, or the tool to crash, hang or leak: each case
/// asserts the exit code and the one-line message.
@Suite("Hostile input")
struct HostileInputTests {
    let temp = TemporaryDirectory("hostile")

    func repository(_ files: [String: String]) throws -> String {
        try makeRepository(in: temp.sub("repo-\(UUID().uuidString.prefix(8))"), files: files)
    }

    // MARK: Secrets

    @Test func codeChecksDoNotSeeTokensUnlessNamed() throws {
        let config = """
            version: 1
            checks:
              code:
                - name: leak
                  run: "env > seen.txt; test -z \\"$GITHUB_TOKEN$GITOPS_ML_GIT_TOKEN$ACTIONS_ID_TOKEN_REQUEST_TOKEN\\""
                - name: allowed
                  run: "test \\"$GITHUB_TOKEN\\" = secret-1"
                  pass_env: [GITHUB_TOKEN]

            """
        let dir = try repository(["gitops-ml.yaml": config])
        let result = try gitopsML(
            ["check", "--base", "none", "--suite", "code", "--no-note"], in: dir,
            environment: [
                "GITHUB_TOKEN": "secret-1", "GITOPS_ML_GIT_TOKEN": "secret-2",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "secret-3", "HARMLESS": "visible",
            ])
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        let seen = try String(contentsOfFile: dir + "/seen.txt", encoding: .utf8)
        #expect(!seen.contains("secret-"), "the command printed a token")
        #expect(seen.contains("HARMLESS=visible"))
    }

    /// A code check (as the same user) reads gitops-ml's own environment from /proc: the tokens were taken
    /// out of it and scrubbed at start, so it sees the harmless variables only. (Run as root, these tests
    /// could read a dumpable process's memory anyway: the scrub, not the dumpable flag, is what they show.)
    @Test func childrenCannotReadTokensFromTheParentsProcEnviron() throws {
        let config = """
            version: 1
            checks:
              code:
                - name: peek
                  run: "tr '\\\\0' '\\\\n' < /proc/$PPID/environ > parent.txt"

            """
        let dir = try repository(["gitops-ml.yaml": config])
        let result = try gitopsML(
            ["check", "--base", "none", "--suite", "code", "--no-note"], in: dir,
            environment: [
                "GITHUB_TOKEN": "secret-1", "GITOPS_ML_GIT_TOKEN": "secret-2", "GITOPS_ML_WEBHOOK_SECRET": "secret-3",
                "HARMLESS": "visible",
            ])
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        let parent = try String(contentsOfFile: dir + "/parent.txt", encoding: .utf8)
        #expect(parent.contains("HARMLESS=visible"), "the check read the parent's environment: \(parent.prefix(300))")
        #expect(!parent.contains("secret-"), "a token is readable in /proc/PPID/environ")
    }

    /// A configuration with dataset `d` (d.csv) and the policies folder, and a DataPolicy on `d` with one
    /// expectation (a YAML flow mapping).
    static let datasetConfig = "version: 1\ndatasets:\n  d: d.csv\nchecks:\n  policies: policies\n"
    static func dataPolicy(_ expectation: String) -> String {
        """
        apiVersion: gitops-ml/v1
        kind: DataPolicy
        metadata: {name: d}
        spec:
          dataset: d
          expectations:
            - \(expectation)

        """
    }

    /// A bound of NaN or infinity would pass every row: `validate` (and so `check`) refuses it at its line.
    @Test(arguments: [".nan", ".inf", "-.inf", "1e999"])
    func aNonFiniteExpectationBoundIsRefused(bound: String) throws {
        let policy = Self.dataPolicy("{expect: expect_column_values_to_be_between, column: a, max_value: \(bound)}")
        let dir = try repository([
            "gitops-ml.yaml": Self.datasetConfig,
            "d.csv": "a\n1\n", "policies/d.yaml": policy,
        ])
        let result = try gitopsML(["validate"], in: dir)
        #expect(result.status == 2)
        #expect(
            result.stderrText
                == "gitops-ml: error: policies/d.yaml:7: expect_column_values_to_be_between: max_value must be a finite number\n",
            "\(result.stderrText)")
    }

    /// Model names become paths, tags and labels: `validate` refuses those that could leave a folder or
    /// read as an option, as promote and the registry do.
    @Test(arguments: ["../../x", ".git", "-rf", "a//b", "x/"])
    func aModelNameThatIsAPathOrAnOptionIsRefused(name: String) throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\nmodels:\n  \"\(name)\": {metrics: m.json}\n"])
        let result = try gitopsML(["validate"], in: dir)
        #expect(result.status == 2)
        #expect(
            result.stderrText.hasPrefix("gitops-ml: error: gitops-ml.yaml:3: ")
                && result.stderrText.hasSuffix(
                    "\"\(name)\" is not a model name (letters, digits, '-', '_' and '/', "
                        + "starting and ending with a letter or digit)\n"),
            "\(result.stderrText)")
    }

    /// A code check's timeout is a bounded positive number of seconds and its command is not empty.
    @Test(arguments: [
        ("timeout: 0", "timeout must be above 0 and at most 86400 seconds (a day)"),
        ("timeout: -5", "timeout must be above 0 and at most 86400 seconds (a day)"),
        ("timeout: 1e99", "timeout must be above 0 and at most 86400 seconds (a day)"),
        ("timeout: .nan", "timeout: expected a finite number, not .nan"),
        ("run: \"\"", "run must be a command, not empty"),
    ])
    func aCodeCheckThatCouldNeverRunOrNeverEndIsRefused(setting: String, message: String) throws {
        let check = setting.hasPrefix("run") ? "{name: unit, \(setting)}" : "{name: unit, run: \"true\", \(setting)}"
        let dir = try repository(["gitops-ml.yaml": "version: 1\nchecks:\n  code:\n    - \(check)\n"])
        let result = try gitopsML(["validate"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderrText.hasPrefix("gitops-ml: error: gitops-ml.yaml:4"), "\(result.stderrText)")
        #expect(result.stderrText.hasSuffix("\(message)\n"), "\(result.stderrText)")
    }

    /// A line (record) over 16 MiB is refused at its line, exit 2, unquoted (streamed) or quoted, without
    /// reading it whole; a long field below the bound is read, and the table shows 40 characters of it.
    @Test func aLineOverSixteenMebibytesIsRefusedAtItsLine() throws {
        let huge = String(repeating: "x", count: (16 << 20) + 1)
        for (name, field) in [("plain", huge), ("quoted", "\"" + huge + "\"")] {
            let dir = try repository([
                "gitops-ml.yaml": "version: 1\ndatasets:\n  d: d.csv\n", "d.csv": "a,b\n1,y\n2,\(field)\n3,z\n",
            ])
            let result = try gitopsML(["data", "profile", "d"], in: dir)
            #expect(result.status == 2, "\(name)")
            #expect(
                result.stderrText
                    == "gitops-ml: error: d.csv:3: a line of over 16 MiB: gitops-ml reads lines (records) of at most 16 MiB\n",
                "\(name): \(result.stderrText)")
            // The same line last, without its newline.
            let last = try repository([
                "gitops-ml.yaml": "version: 1\ndatasets:\n  d: d.csv\n", "d.csv": "a,b\n1,y\n2,\(field)",
            ])
            let atTheEnd = try gitopsML(["data", "profile", "d"], in: last)
            #expect(atTheEnd.status == 2, "\(name), last")
            #expect(atTheEnd.stderrText == result.stderrText, "\(name), last: \(atTheEnd.stderrText)")
        }
        let long = try repository([
            "gitops-ml.yaml": "version: 1\ndatasets:\n  d: d.csv\n",
            "d.csv": "a,b\n1,\(String(repeating: "y", count: 1 << 20))\n",
        ])
        let shown = try gitopsML(["data", "profile", "d"], in: long)
        #expect(shown.status == 0, "\(shown.stderrText)")
        #expect(shown.stdoutText.contains(String(repeating: "y", count: 39) + "… (1)"))
        #expect(shown.stdoutText.utf8.count < 2000)
    }

    /// A dataset object the repository or the DVC cache cannot give (missing, or not what its id says)
    /// stops `check` and `data validate` with exit 3 naming the object: nothing is judged without it.
    @Test func aMissingOrCorruptDatasetObjectIsAnEnvironmentError() throws {
        let policy = Self.dataPolicy("{expect: expect_column_values_to_not_be_null, column: a}")
        let config = Self.datasetConfig
        let dir = try repository(["gitops-ml.yaml": config, "d.csv": "a\n1\n2\n", "policies/d.yaml": policy])
        let blob = try git("rev-parse", "HEAD:d.csv", in: dir)
        try FileManager.default.removeItem(
            atPath: dir + "/.git/objects/\(blob.prefix(2))/\(blob.dropFirst(2))")
        for arguments in [["data", "validate", "--rev", "HEAD"], ["check", "--no-note", "--base", "none"]] {
            let result = try gitopsML(arguments, in: dir)
            #expect(result.status == 3, "\(arguments): \(result.stdoutText)")
            #expect(
                result.stderrText.hasPrefix("gitops-ml: error: read blob ") && result.stderrText.contains(blob)
                    && result.stderrText.split(separator: "\n").count == 1, "\(result.stderrText)")
        }

        let md5 = "0123456789abcdef0123456789abcdef"
        let dvc = try repository([
            "gitops-ml.yaml": config, "policies/d.yaml": policy, ".dvc/config": "[core]\n",
            "d.csv.dvc": "outs:\n- md5: \(md5)\n  size: 4\n  path: d.csv\n",
        ])
        try write("a\n9\n", to: ".dvc/cache/files/md5/01/\(md5.dropFirst(2))", in: dvc)
        let corrupt = try gitopsML(["data", "validate", "--rev", "HEAD"], in: dvc)
        #expect(corrupt.status == 3)
        #expect(corrupt.stderrText.contains("is corrupt (its md5 differs)"), "\(corrupt.stderrText)")
    }

    /// A name no dataset has and no file ever had is an error, not an empty answer with exit 0; a version
    /// that is not one is a usage error (2), not "not registered" (1).
    @Test func unknownNamesAreErrorsWithTheirExitCodes() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\ndatasets:\n  d: d.csv\n", "d.csv": "a\n1\n"])
        let origin = try gitopsML(["data", "origin", "nosuchdataset"], in: dir)
        #expect(origin.status == 3)
        #expect(
            origin.stderrText
                == "gitops-ml: error: \"nosuchdataset\" is not a dataset of gitops-ml.yaml, and no file nosuchdataset is in the history of HEAD\n",
            "\(origin.stderrText)")
        #expect(try gitopsML(["data", "origin", "d"], in: dir).status == 0)
        let assign = try gitopsML(["registry", "assign", "m", "--version", "vX", "--stage", "prod"], in: dir)
        #expect(assign.status == 2)
        #expect(
            assign.stderrText == "gitops-ml: error: 'vX' is not a semantic version like v1.2.3\n",
            "\(assign.stderrText)")
    }

    // MARK: Standard streams and report targets

    /// `gitops-ml ARGS` under /bin/sh with `redirections` (`2>&-`, `>/dev/full`…): exit status, and
    /// what reached standard error when it still could.
    func shell(_ arguments: String, _ redirections: String, in dir: String) throws -> (status: Int32, stderr: String) {
        let output = try Subprocess.run(
            ["/bin/sh", "-c", "'\(gitopsMLBinary)' \(arguments) \(redirections)"], directory: dir,
            environment: gitTestEnvironment.merging(["NO_COLOR": "1"]) { _, new in new }, timeout: 60)
        return (output.status, output.stderrText)
    }

    /// A configuration whose check judges something (one code check), so that it passes rather than
    /// finding nothing checked.
    static let checksSomething = "version: 1\nchecks:\n  code:\n    - {name: smoke, run: \"true\"}\n"

    @Test func closedOrFullStreamsExitThreeNeverBySignal() throws {
        let dir = try repository(["gitops-ml.yaml": Self.checksSomething])
        let closedError = try shell("check --base none --no-note", ">/dev/null 2>&-", in: dir)
        #expect(closedError.status == 3, "a passing check with stderr closed: \(closedError.status)")
        let closedOutput = try shell("check --base none --no-note", ">&-", in: dir)
        #expect(closedOutput.status == 3)
        #expect(closedOutput.stderr.contains("gitops-ml: error: cannot write to standard output"))
        let full = try shell("check --base none --no-note", ">/dev/full", in: dir)
        #expect(full.status == 3)
        #expect(full.stderr.contains("cannot write to standard output: No space left on device"), "\(full.stderr)")
        let version = try shell("version", ">/dev/full", in: dir)
        #expect(version.status == 3)
        let fine = try shell("check --base none --no-note", ">/dev/null", in: dir)
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    @Test func reportTargetsThatAreNotRegularFilesAreWrittenThrough() throws {
        let dir = try repository(["gitops-ml.yaml": Self.checksSomething])
        let real = dir + "/reports/real-report.json"
        try write("old", to: "reports/real-report.json", in: dir)
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.json", withDestinationPath: real)
        let linked = try gitopsML(["check", "--base", "none", "--no-note", "--format", "json:link.json"], in: dir)
        #expect(linked.status == 0, "\(linked.stderrText)")
        let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/link.json")
        #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink, "the link was replaced")
        #expect(try String(contentsOfFile: real, encoding: .utf8).contains("\"schema_version\": 1"))
        // /dev/stdout is a device reached through a link: written through, the report on standard output.
        let stdout = try gitopsML(["check", "--base", "none", "--no-note", "--format", "json:/dev/stdout"], in: dir)
        #expect(stdout.status == 0)
        #expect(stdout.stdoutText.contains("\"schema_version\": 1"))
        // A target that is a folder stops the run before any report is written.
        try FileManager.default.createDirectory(atPath: dir + "/folder", withIntermediateDirectories: true)
        let folder = try gitopsML(
            ["check", "--base", "none", "--no-note", "--format", "json:first.json", "--format", "junit:folder"], in: dir
        )
        #expect(folder.status == 3)
        #expect(folder.stderrText.contains("cannot write folder: it is a folder"), "\(folder.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/first.json"), "nothing was written")
        // A second target that fails only when written (a full device): the first is not written either.
        let second = try gitopsML(
            ["check", "--base", "none", "--no-note", "--format", "json:first.json", "--format", "junit:/dev/full"],
            in: dir)
        #expect(second.status == 3)
        #expect(
            second.stderrText == "gitops-ml: error: cannot write /dev/full: No space left on device\n",
            "\(second.stderrText)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/first.json"), "nothing was written")
    }

    /// A report target inside the repository that a change committed as a link out of it (to a file, to
    /// `.git/config`, or through a linked folder) is refused before anything is written; the file it points
    /// at is untouched.
    @Test(arguments: ["file", "git-config", "folder"])
    func aReportLinkLeadingOutOfTheRepositoryIsRefused(kind: String) throws {
        let outside = temp.sub("outside-\(kind)")
        try "precious\n".write(toFile: outside + "/check.md", atomically: true, encoding: .utf8)
        let dir = try repository(["gitops-ml.yaml": Self.checksSomething])
        try FileManager.default.createDirectory(atPath: dir + "/reports", withIntermediateDirectories: true)
        let target: String
        switch kind {
        case "file":
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/reports/check.md", withDestinationPath: outside + "/check.md")
            target = "reports/check.md"
        case "git-config":
            try FileManager.default.createSymbolicLink(
                atPath: dir + "/reports/check.md", withDestinationPath: "../.git/config")
            target = "reports/check.md"
        default:
            try FileManager.default.createSymbolicLink(atPath: dir + "/out", withDestinationPath: outside)
            target = "out/check.md"
        }
        let config = try String(contentsOfFile: dir + "/.git/config", encoding: .utf8)
        let result = try gitopsML(
            ["check", "--base", "none", "--no-note", "--format", "json:first.json", "--format", "markdown:" + target],
            in: dir)
        #expect(result.status == 3, "\(result.stderrText)")
        #expect(result.stderrText.hasPrefix("gitops-ml: error: refusing to write \(target): it leads through a link"))
        #expect(try String(contentsOfFile: outside + "/check.md", encoding: .utf8) == "precious\n")
        #expect(try String(contentsOfFile: dir + "/.git/config", encoding: .utf8) == config)
        #expect(!FileManager.default.fileExists(atPath: dir + "/first.json"), "nothing was written")
    }

    // MARK: Nothing outside the repository

    @Test func pathsThatClimbOutAreRefused() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n", "data/x.csv": "a\n1\n"])
        for spec in ["workspace:../outside", "HEAD:../../etc/passwd", "workspace:/etc/passwd"] {
            let shown = try gitopsML(["show", spec], in: dir)
            #expect(shown.status == 2, "\(spec): \(shown.stdoutText)")
            #expect(shown.stderrText.contains("leads outside the repository"), "\(spec): \(shown.stderrText)")
            #expect(!shown.stdoutText.contains("root:"))
        }
    }

    /// dvc.yaml comes with the revision: a metrics or params file it names outside the repository (by `..`,
    /// an absolute path or a stage's `wdir`) is not read, neither there nor as the in-repository file of the
    /// same name that dropping the `..` would make of it; `init` does not take it either.
    @Test func dvcYamlPathsThatLeaveTheRepositoryAreNotRewrittenInside() throws {
        let dvc = """
            metrics:
              - ../stolen.json
              - /etc/stolen.json
            params:
              - ../../stolen.yaml
            stages:
              train:
                cmd: "true"
                wdir: ../..
                metrics:
                  - stolen.json

            """
        let dir = try repository([
            "dvc.yaml": dvc, "stolen.json": "{\"inside\": 1}\n", "stolen.yaml": "inside: 1\n",
            "metrics.json": "{\"kept\": 1}\n",
        ])
        let metrics = try gitopsML(["diff", "metrics", "--all", "HEAD", "--json"], in: dir)
        #expect(metrics.status == 0, "\(metrics.stderrText)")
        #expect(
            !metrics.stdoutText.contains("stolen") && !metrics.stdoutText.contains("inside"), "\(metrics.stdoutText)")
        let params = try gitopsML(["diff", "params", "--all", "HEAD", "--json"], in: dir)
        #expect(!params.stdoutText.contains("stolen") && !params.stdoutText.contains("inside"), "\(params.stdoutText)")
        let initialized = try gitopsML(["init", "--force"], in: dir)
        #expect(initialized.status == 0, "\(initialized.stderrText)")
        let config = try String(contentsOfFile: dir + "/gitops-ml.yaml", encoding: .utf8)
        #expect(!config.contains("stolen"), "\(config)")
    }

    @Test func symlinksAreReportedNotFollowed() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n"])
        try FileManager.default.createSymbolicLink(atPath: dir + "/passwd.csv", withDestinationPath: "/etc/passwd")
        try FileManager.default.createSymbolicLink(atPath: dir + "/inside.csv", withDestinationPath: "gitops-ml.yaml")
        try git("add", "-A", in: dir)
        try run(["git", "commit", "-q", "-m", "links"], in: dir, environment: gitTestEnvironment)
        let committed = try gitopsML(["show", "HEAD:passwd.csv"], in: dir)
        #expect(committed.status == 2)
        #expect(committed.stderrText.contains("passwd.csv is a symlink at"), "\(committed.stderrText)")
        #expect(committed.stderrText.contains("\"/etc/passwd\"), not a file: links are not followed"))
        let workspace = try gitopsML(["show", "workspace:passwd.csv"], in: dir)
        #expect(workspace.status == 2)
        #expect(workspace.stderrText.contains("outside the work tree"), "\(workspace.stderrText)")
        #expect(!workspace.stdoutText.contains("root:"))
        let inside = try gitopsML(["show", "workspace:inside.csv"], in: dir)
        #expect(inside.status == 0 && inside.stdoutText == "version: 1\n", "a link inside the work tree is fine")
    }

    @Test func anArtifactPathOutsideTheRepositoryIsAConfigurationError() throws {
        let config = """
            version: 1
            models:
              m: {artifact: ../../../etc/passwd}
            checks: {first_deployment: pass}

            """
        let gates =
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      threshold: 0.5\n"
        let dir = try repository(["gitops-ml.yaml": config, "policies/g.yaml": gates])
        let result = try gitopsML(["check", "--base", "none", "--no-note", "--suite", "model"], in: dir)
        #expect(result.status == 2, "\(result.stdoutText)\(result.stderrText)")
        #expect(
            result.stderrText.contains("\"../../../etc/passwd\" leads outside the repository"), "\(result.stderrText)")
    }

    @Test func dvcPointersNameCacheFilesByDigestOnly() throws {
        let config = "version: 1\ndatasets:\n  train: data/train.csv\n"
        let pointer = "outs:\n- md5: ../../../../etc/passwd\n  size: 10\n  hash: md5\n  path: train.csv\n"
        let dir = try repository(["gitops-ml.yaml": config, "data/train.csv.dvc": pointer])
        let shown = try gitopsML(["data", "profile", "train"], in: dir)
        #expect(shown.status == 2, "\(shown.stdoutText)\(shown.stderrText)")
        #expect(shown.stderrText.contains("not 32 hex digits"), "\(shown.stderrText)")
        try write(
            pointer.replacingOccurrences(of: "../../../../etc/passwd", with: String(repeating: "a", count: 32))
                .replacingOccurrences(of: "size: 10", with: "size: 1e300"), to: "data/train.csv.dvc", in: dir)
        let huge = try gitopsML(["data", "profile", "train"], in: dir)
        #expect(huge.status == 2)
        #expect(huge.stderrText.contains("not a whole number of bytes"), "\(huge.stderrText)")
    }

    // MARK: Numbers

    @Test func nanIsRefusedInOptionsAndPolicies() throws {
        let config = "version: 1\nmodels:\n  m: {metrics: metrics.json}\n"
        let gates =
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      threshold: .nan\n"
        let dir = try repository([
            "gitops-ml.yaml": config, "policies/g.yaml": gates, "metrics.json": "{\"accuracy\": NaN}",
        ])
        let policy = try gitopsML(["validate"], in: dir)
        #expect(policy.status == 2)
        #expect(
            policy.stderrText.contains(
                "policies/g.yaml:7: spec.gates[0].threshold: expected a finite number, not .nan"),
            "\(policy.stderrText)")
        for option in [["--threshold", "nan"], ["--drift-share", "inf"]] {
            let drift = try gitopsML(["data", "drift", "x"] + option, in: dir)
            #expect(drift.status == 2, "\(option): \(drift.stderrText)")
        }
        let tolerance = try gitopsML(["diff", "metrics", "--fail-on", "accuracy<nan"], in: dir)
        #expect(tolerance.status == 2, "\(tolerance.stderrText)")
        // A NaN metric fails its threshold (it was a pass before).
        try write(gates.replacingOccurrences(of: ".nan", with: "0.5"), to: "policies/g.yaml", in: dir)
        let metric = try gitopsML(["check", "--base", "none", "--rules", "workspace", "--no-note"], in: dir)
        #expect(metric.status == 1, "\(metric.stdoutText)\(metric.stderrText)")
    }

    // MARK: Integers in tags

    @Test func aHugeTagCounterIsAnErrorNotACrash() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n"])
        try git("tag", "-a", "-m", "x", "churn@v1.0.0", in: dir)
        try git("tag", "-a", "-m", "x", "churn#prod#9223372036854775807", in: dir)
        let shown = try gitopsML(["registry", "show"], in: dir)
        #expect(shown.status == 0, "\(shown.stderrText)")
        let assigned = try gitopsML(
            ["registry", "assign", "churn", "--version", "v1.0.0", "--stage", "staging"], in: dir)
        #expect(assigned.status == 3, "\(assigned.stdoutText)\(assigned.stderrText)")
        #expect(assigned.stderrText.contains("has the counter #9223372036854775807"), "\(assigned.stderrText)")
    }

    @Test func anEditedRegistryIndexCannotRedirectARevision() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n", "model.txt": "good\n"])
        let good = try git("rev-parse", "HEAD", in: dir)
        let bad = try commitFiles(["model.txt": "bad\n"], message: "bad", in: dir)
        #expect(
            try gitopsML(["registry", "register", "churn", "--version", "v1.0.0", "--rev", good], in: dir).status == 0)
        #expect(try gitopsML(["registry", "assign", "churn", "--stage", "prod", "--rev", good], in: dir).status == 0)
        #expect(try gitopsML(["show", "registry:churn#prod:model.txt"], in: dir).stdoutText == "good\n")
        let index = dir + "/.git/gitops-ml/registry-index"
        let text = try String(contentsOfFile: index, encoding: .utf8)
        #expect(text.contains(good))
        try text.replacingOccurrences(of: good, with: bad).write(toFile: index, atomically: true, encoding: .utf8)
        let redirected = try gitopsML(["show", "registry:churn#prod:model.txt"], in: dir)
        #expect(redirected.status == 3, "\(redirected.stdoutText)")
        #expect(redirected.stderrText.contains("the registry index disagrees with tag"), "\(redirected.stderrText)")
        #expect(!redirected.stdoutText.contains("bad"))
        #expect(try gitopsML(["show", "registry:churn#prod:model.txt"], in: dir).stdoutText == "good\n")
    }

    // MARK: Messages

    @Test func gitsWordingBecomesOneLineThatSaysWhatToDo() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n", "f": "a\n"])
        let cases: [([String], String)] = [
            (["show", "HEAD~1:f"], "unknown revision 'HEAD~1': it reaches past the first commit of the history"),
            (["show", "HEAD^2:f"], "that commit has no such parent (^2 names the second parent of a merge)"),
            (
                ["show", "nosuch:f"],
                "unknown revision 'nosuch': no branch, tag or commit of that name (fetch it first?)"
            ),
            (
                ["registry", "register", "m", "--version", "v0.0.1", "--push", "origin"],
                "push origin: no remote of that name, and no repository at that path or URL"
            ),
        ]
        for (arguments, message) in cases {
            let result = try gitopsML(arguments, in: dir)
            #expect(result.status == 3 || result.status == 2, "\(arguments)")
            #expect(result.stderrText.contains(message), "\(arguments): \(result.stderrText)")
            #expect(result.stderrText.split(separator: "\n").count == 1, "one line: \(result.stderrText)")
        }
        // The failed push took its tag back.
        #expect(try git("tag", "-l", in: dir).isEmpty)
        let shallow = temp.path + "/shallow-\(UUID().uuidString.prefix(6))"
        try commitFiles(["f": "b\n"], message: "two", in: dir)
        _ = try run(["git", "clone", "-q", "--depth", "1", "file://" + dir, shallow])
        let beyond = try gitopsML(["show", "HEAD~1:f"], in: shallow)
        #expect(beyond.status == 3)
        #expect(beyond.stderrText.contains("beyond this shallow clone's history: fetch more"), "\(beyond.stderrText)")
    }

    @Test func aTagDatedAtTheEndOfTimeIsReadNotATrap() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n"])
        let commit = try git("rev-parse", "HEAD", in: dir)
        let object =
            "object \(commit)\ntype commit\ntag m@v9.9.9\ntagger x <x@x> 9223372036854775807 +9959\n\nforged\n"
        let tag = try run(["git", "hash-object", "-t", "tag", "-w", "--stdin"], in: dir, input: object)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try git("update-ref", "refs/tags/m@v9.9.9", tag, in: dir)
        for command in [["registry", "show", "--json"], ["registry", "history", "--json"]] {
            let result = try gitopsML(command, in: dir)
            #expect(result.status == 0, "\(command): \(result.stderrText)")
            #expect(result.stdoutText.contains("v9.9.9"))
        }
    }

    @Test func anAlphaThatLeavesNoIntervalIsRefused() throws {
        let gates =
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      significance: {test: mcnemar, alpha: 1e-300}\n"
        let dir = try repository([
            "gitops-ml.yaml": "version: 1\nmodels:\n  m: {metrics: metrics.json}\n", "policies/g.yaml": gates,
        ])
        let result = try gitopsML(["validate"], in: dir)
        #expect(result.status == 2)
        #expect(result.stderrText.contains("alpha must be from 1e-10 to 0.5"), "\(result.stderrText)")
    }

    // MARK: Children

    @Test func aCodeCheckDoesNotOutliveACancelledRun() throws {
        let config = "version: 1\nchecks:\n  code:\n    - {name: slow, run: \"echo $$ > child.pid; exec sleep 60\"}\n"
        let dir = try repository(["gitops-ml.yaml": config])
        let run = try Subprocess.start(
            [gitopsMLBinary, "check", "--base", "none", "--suite", "code", "--no-note"], directory: dir,
            environment: gitTestEnvironment)
        var child: pid_t = 0
        waitUntil(30) {
            child =
                pid_t(
                    (try? String(contentsOfFile: dir + "/child.pid", encoding: .utf8))?
                        .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            return child > 0
        }
        guard child > 0 else {
            kill(run.pid, SIGKILL)
            _ = run.waitForExit()
            Issue.record("the code check never started")
            return  // never signal pid 0: that is the test runner's own process group
        }
        kill(run.pid, SIGTERM)  // as a cancelled CI job does
        let status = run.waitForExit()
        #expect(status == 128 + SIGTERM, "gitops-ml ends by the signal it was sent: \(status)")
        // Exited means gone or a zombie: an orphan waits for init to reap it, which takes seconds under load.
        let exited = waitUntil(30) { processHasExited(child) }
        #expect(exited, "the code check's process \(child) outlived gitops-ml (state \(processState(child) ?? "-"))")
        if !exited { kill(child, SIGKILL) }
    }
}
