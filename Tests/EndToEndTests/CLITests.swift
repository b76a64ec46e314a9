import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The built binary on real temporary repositories: outputs, exit codes and one-line errors.
@Suite("gitops-ml command line")
struct CLITests {
    let temp = TemporaryDirectory("cli")

    func project() throws -> String {
        let dir = try makeRepository(
            in: temp.sub("repo"),
            files: [
                "metrics.json": #"{"accuracy": 0.80, "loss": 0.5}"#, "params.yaml": "lr: 0.1\nlayers: [8, 16]\n",
            ])
        try commitFiles(
            ["metrics.json": #"{"accuracy": 0.78, "loss": 0.4}"#, "params.yaml": "lr: 0.2\nlayers: [8, 16]\n"],
            message: "two", in: dir)
        return dir
    }

    @Test func helpAndVersion() throws {
        let help = try gitopsML(["--help"], in: temp.path)
        #expect(help.status == 0)
        #expect(help.stdoutText.contains("diff"))
        #expect(help.stdoutText.contains("Exit codes"))
        let version = try gitopsML(["version", "--verbose"], in: temp.path)
        #expect(version.status == 0)
        #expect(version.stdoutText.contains("libgit2 1."))
        #expect(version.stdoutText.contains("libcurl"))
    }

    @Test func textTableMarkdownAndJSON() throws {
        let dir = try project()
        let table = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD"], in: dir)
        #expect(table.status == 0)
        #expect(
            table.stdoutText == """
                Path          Metric    HEAD~1  HEAD  Change
                metrics.json  accuracy  0.8     0.78  -0.02
                metrics.json  loss      0.5     0.4   -0.1

                """)
        let md = try gitopsML(["diff", "params", "HEAD~1", "HEAD", "--md", "--all"], in: dir)
        #expect(md.stdoutText.contains("| params.yaml | lr | 0.1 | 0.2 |"))
        #expect(md.stdoutText.contains("| params.yaml | layers | [8, 16] | [8, 16] |"))
        let json = try gitopsML(["diff", "metrics", "HEAD~1", "--json"], in: dir)
        #expect(json.stdoutText.contains("\"diff\": -0.020000000000000018"))
        let precise = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--precision", "1"], in: dir)
        #expect(precise.stdoutText.contains("accuracy  0.8     0.8   -0.0"))
    }

    /// One output convention: `--format NAME` everywhere, `--json` and `--md` as its shorthands, two
    /// different choices a usage error, Markdown only where a command prints it.
    @Test func everyCommandSpellsItsOutputFormatTheSameWay() throws {
        let dir = try project()
        let shorthand = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--json"], in: dir)
        let spelled = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--format", "json"], in: dir)
        #expect(shorthand.status == 0 && spelled.stdoutText == shorthand.stdoutText)
        let markdown = try gitopsML(["diff", "params", "HEAD~1", "HEAD", "--format", "markdown"], in: dir)
        #expect(
            markdown.stdoutText == (try gitopsML(["diff", "params", "HEAD~1", "HEAD", "--md"], in: dir)).stdoutText)
        let both = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--json", "--format", "text"], in: dir)
        #expect(both.status == 2 && both.stderrText.contains("choose one output format"), "\(both.stderrText)")
        let noMarkdown = try gitopsML(["registry", "show", "--md"], in: dir)
        #expect(noMarkdown.status == 2 && noMarkdown.stderrText.contains("prints no Markdown"))
        let registry = try gitopsML(["registry", "show", "--format", "json"], in: dir)
        #expect(registry.status == 0 && registry.stdoutText.hasPrefix("{"), "\(registry.stderrText)")
        // A closed choice is checked by the parser, its values named on the one line of the error.
        let suite = try gitopsML(["check", "--suite", "purple"], in: dir)
        #expect(suite.status == 2, "\(suite.stderrText)")
        #expect(suite.stderrText.contains("config, data, model, gate, code, deploy"), "\(suite.stderrText)")
        #expect(suite.stderrText.split(separator: "\n").count == 1, "\(suite.stderrText)")
    }

    /// `validate --config X` validates and summarises X, not the repository's gitops-ml.yaml.
    @Test func validateSummarisesTheConfigItIsGiven() throws {
        let dir = try makeRepository(
            in: temp.sub("validate-config"), files: ["gitops-ml.yaml": "version: 1\nmodels:\n  a: {}\n"])
        try write("version: 1\nmodels:\n  a: {}\n  b: {}\n", to: "other.yaml", in: dir)
        let result = try gitopsML(["validate", "--config", dir + "/other.yaml"], in: dir)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.hasPrefix("\(dir)/other.yaml: 2 models"), "\(result.stdoutText)")
        try write("version: 1\nmodels: [\n", to: "broken.yaml", in: dir)
        let broken = try gitopsML(["validate", "--config", dir + "/broken.yaml"], in: dir)
        #expect(broken.status == 2 && broken.stderrText.contains("broken.yaml"), "\(broken.stderrText)")
    }

    /// Each revision is read by its own declarations: after the metrics file was renamed (and gitops-ml.yaml
    /// names the new one), two old tags still compare on the file their dvc.yaml declared, as dvc does.
    @Test func oldRevisionsAreReadByTheirOwnDeclarations() throws {
        let dir = try makeRepository(
            in: temp.sub("renamed"),
            files: [
                "dvc.yaml":
                    "stages:\n  evaluate:\n    cmd: python eval.py\n    metrics:\n    - scores.json:\n        cache: false\n",
                "scores.json": "{\"auc\": 0.8}",
            ])
        try git("tag", "v1.0.0", in: dir)
        try commitFiles(["scores.json": "{\"auc\": 0.85}"], message: "Better", in: dir)
        try git("tag", "v1.0.3", in: dir)
        try git("mv", "scores.json", "eval-metrics.json", in: dir)
        try commitFiles(
            [
                "dvc.yaml":
                    "stages:\n  evaluate:\n    cmd: python eval.py\n    metrics:\n    - eval-metrics.json:\n        cache: false\n",
                "gitops-ml.yaml": "version: 1\nmetrics: [eval-metrics.json]\n",
            ], message: "Rename the metrics file", in: dir)
        let diff = try gitopsML(["diff", "metrics", "v1.0.0", "v1.0.3"], in: dir)
        #expect(diff.status == 0, "\(diff.stderrText)")
        #expect(diff.stdoutText.contains("scores.json  auc     0.8     0.85    0.05"), "\(diff.stdoutText)")
        let failing = try gitopsML(["diff", "metrics", "v1.0.3", "v1.0.0", "--fail-on", "auc<-0.01"], in: dir)
        #expect(failing.status == 1, "\(failing.stdoutText)\(failing.stderrText)")
    }

    @Test func failOnGivesExitOne() throws {
        let dir = try project()
        let failing = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--fail-on", "accuracy<-0.01"], in: dir)
        #expect(failing.status == 1)
        #expect(failing.stderrText.contains("metrics.json:accuracy changed by -0.02"))
        let passing = try gitopsML(
            ["diff", "metrics", "HEAD~1", "HEAD", "--fail-on", "accuracy<-0.05", "--fail-on", "loss>10%"], in: dir)
        #expect(passing.status == 0, "\(passing.stderrText)")
        let unknown = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--fail-on", "acurracy<0"], in: dir)
        #expect(unknown.status == 1)
        #expect(unknown.stderrText.contains("no such metric"))
        let malformed = try gitopsML(["diff", "metrics", "--fail-on", "accuracy"], in: dir)
        #expect(malformed.status == 2)

        // A NaN metric compares as nothing: it violates the rule instead of passing it.
        try commitFiles(["metrics.json": #"{"accuracy": NaN, "loss": 0.4}"#], message: "NaN", in: dir)
        let nan = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--fail-on", "accuracy<-0.01"], in: dir)
        #expect(nan.status == 1, "\(nan.stdoutText)\(nan.stderrText)")
        #expect(nan.stderrText.contains("metrics.json:accuracy is NaN in the new revision"), "\(nan.stderrText)")
    }

    @Test func logLevelControlsStructuredLogsOnStderr() throws {
        let dir = try project()
        let quiet = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD"], in: dir)
        #expect(!quiet.stderrText.contains("level="))
        let debug = try gitopsML(["diff", "metrics", "HEAD~1", "HEAD", "--log-level", "debug"], in: dir)
        #expect(debug.status == 0)
        #expect(debug.stderrText.contains("level=debug msg=\"opened repository\""), "\(debug.stderrText)")
        #expect(debug.stderrText.contains("root=\(dir)"))
        #expect(try gitopsML(["diff", "metrics", "--log-level", "loud"], in: dir).status == 2)
    }

    @Test func bareRepositoriesNeedTheNewRevision() throws {
        let dir = try project()
        try git("clone", "-q", "--bare", dir, temp.path + "/bare.git", in: temp.path)
        let missing = try gitopsML(["diff", "metrics", "--repo", temp.path + "/bare.git"], in: temp.path)
        #expect(missing.status == 2)
        #expect(missing.stderrText.contains("bare repository"))
        let ok = try gitopsML(
            ["diff", "metrics", "HEAD~1", "HEAD", "--repo", temp.path + "/bare.git", "--json"], in: temp.path)
        #expect(ok.status == 0)
        #expect(ok.stdoutText.contains("\"accuracy\""))
    }

    @Test func badInputIsOneLineWithTheDocumentedExitCode() throws {
        let dir = try project()
        func expectError(_ arguments: [String], status: Int32, _ fragment: String, in directory: String? = nil) throws {
            let result = try gitopsML(arguments, in: directory ?? dir)
            #expect(result.status == status, "\(arguments): \(result.stderrText)")
            let lines = result.stderrText.split(separator: "\n")
            #expect(lines.count == 1, "\(arguments): \(result.stderrText)")
            #expect(result.stderrText.contains(fragment), "\(arguments): \(result.stderrText)")
        }
        try expectError(["diff", "metrics", "no-such-rev"], status: 3, "unknown revision 'no-such-rev'")
        try expectError(["diff", "metrics", "HEAD~9"], status: 3, "unknown revision 'HEAD~9'")
        try expectError(["diff", "metrics", "--targets", "nothere.json"], status: 3, "nothere.json: no such file")
        try expectError(["diff", "metrics", "--repo", temp.sub("not-a-repo")], status: 3, "not a git repository")
        try expectError(["diff", "metrics", "--repo", temp.path + "/absent"], status: 3, "not a git repository")

        try write("{\n  \"accuracy\": 0.8,\n  \"loss\": \n}", to: "metrics.json", in: dir)
        try expectError(["diff", "metrics"], status: 2, "metrics.json:4: invalid JSON")
        try commitFiles([:], message: "broken metrics", in: dir)
        try expectError(
            ["diff", "metrics", "HEAD", "HEAD~1"], status: 2,
            "metrics.json:4: invalid JSON: unexpected character '}' (at revision HEAD)")

        try write("lr: [0.1,\nlayers: 2\n", to: "params.yaml", in: dir)
        try expectError(["diff", "params"], status: 2, "params.yaml:")
        try write("[train]\nlr = \n", to: "params.toml", in: dir)
        try expectError(["diff", "params", "--targets", "params.toml"], status: 2, "params.toml:2: invalid TOML")

        try write("version: 1\nmodels:\n  churn:\n    artefact: m.json\n", to: "gitops-ml.yaml", in: dir)
        try expectError(["validate"], status: 2, "gitops-ml.yaml:4: unknown key 'artefact' in models.churn")
        try expectError(["diff", "metrics", "--bogus"], status: 2, "Unknown option '--bogus'")
    }

    @Test func validateReportsPolicies() throws {
        let dir = try makeRepository(
            in: temp.sub("validate"),
            files: [
                "gitops-ml.yaml": "version: 1\nmodels:\n  churn:\n    metrics: metrics.json\n",
                "policies/gates.yaml":
                    "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      threshold: 0.8\n",
            ])
        let ok = try gitopsML(["validate"], in: dir)
        #expect(ok.status == 0, "\(ok.stderrText)")
        #expect(ok.stdoutText.contains("policies/gates.yaml: GatePolicy g, 1 gates"))
        try write(
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      threshold: high\n",
            to: "policies/gates.yaml", in: dir)
        let bad = try gitopsML(["validate"], in: dir)
        #expect(bad.status == 2)
        #expect(
            bad.stderrText.contains("policies/gates.yaml:7: spec.gates[0].threshold: expected a number"),
            "\(bad.stderrText)")
    }

    @Test func exampleProjectMaterialisesAndDiffs() throws {
        let dest = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dest], timeout: 300)
        let better = try gitopsML(["diff", "metrics", "main", "challenger/better", "--json"], in: dest)
        #expect(better.status == 0, "\(better.stderrText)")
        #expect(better.stdoutText.contains("eval.roc_auc"))
        let worse = try gitopsML(
            ["diff", "metrics", "main", "challenger/worse", "--fail-on", "eval.accuracy<-0.01"], in: dest)
        #expect(worse.status == 1)
        let validate = try gitopsML(["validate"], in: dest)
        #expect(validate.status == 0, "\(validate.stderrText)")
    }
}

@Suite("gitops-ml show")
struct ShowTests {
    let temp = TemporaryDirectory("show")

    @Test func printsFilesAtRevisionsByteForByte() throws {
        let dir = try makeRepository(in: temp.sub("repo"), files: ["m.json": "{\"a\": 1}\n"])
        try commitFiles(["m.json": "{\"a\": 2}\n"], message: "two", in: dir)
        let old = try gitopsML(["show", "HEAD~1:m.json"], in: dir)
        #expect(old.status == 0)
        #expect(old.stdoutText == "{\"a\": 1}\n")
        var binary = [UInt8](repeating: 0, count: 1 << 20)
        for index in binary.indices { binary[index] = UInt8(truncatingIfNeeded: index &* 7919 >> 3) }
        try Data(binary).write(to: URL(fileURLWithPath: dir + "/blob.bin"))
        try commitFiles([:], message: "binary", in: dir)
        #expect(try gitopsML(["show", "HEAD:blob.bin"], in: dir).stdout == binary)
        try write("{\"a\": 3}\n", to: "m.json", in: dir)
        #expect(try gitopsML(["show", "workspace:m.json"], in: dir).stdoutText == "{\"a\": 3}\n")
        let missing = try gitopsML(["show", "HEAD:nope.json"], in: dir)
        #expect(missing.status == 3)
        #expect(missing.stderrText == "gitops-ml: error: nope.json: no such file at HEAD\n")
        #expect(try gitopsML(["show", "m.json"], in: dir).status == 2)
    }
}

@Suite("Help and usage")
struct HelpTests {
    let temp = TemporaryDirectory("help")

    static let commands = [
        [], ["check"], ["data"], ["data", "profile"], ["data", "drift"], ["data", "validate"], ["diff"],
        ["diff", "metrics"], ["diff", "params"], ["show"], ["validate"], ["init"], ["generate"], ["promote"],
        ["registry"], ["registry", "show"], ["registry", "history"], ["registry", "register"], ["registry", "assign"],
        ["registry", "unassign"], ["registry", "deprecate"], ["version"],
    ]

    @Test func everyCommandsHelpHasAnExample() throws {
        for command in Self.commands {
            let result = try gitopsML(command + ["--help"], in: temp.path)
            #expect(result.status == 0, "\(command)")
            #expect(
                result.stdoutText.contains("EXAMPLES:\n  $ gitops-ml \(command.joined(separator: " "))"), "\(command)")
            let viaHelp = try gitopsML(["help"] + command, in: temp.path)
            #expect(viaHelp.stdoutText == result.stdoutText, "help \(command)")
        }
    }

    @Test func bareAndUnknownCommandsAreUsageErrors() throws {
        let bare = try gitopsML([], in: temp.path)
        #expect(bare.status == 2)
        #expect(bare.stderrText.hasSuffix("gitops-ml: error: name a command (see above, or gitops-ml help COMMAND)\n"))
        let unknown = try gitopsML(["help", "nosuch"], in: temp.path)
        #expect(unknown.status == 2)
        #expect(unknown.stderrText == "gitops-ml: error: no command \"nosuch\" in gitops-ml (see gitops-ml --help)\n")
        let nested = try gitopsML(["help", "registry", "\u{1B}[31mx"], in: temp.path)
        #expect(nested.status == 2)
        #expect(
            nested.stderrText.contains("no command \"\\u001b[31mx\" in gitops-ml registry"),
            "escaped: \(nested.stderrText)")
    }
}
