import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `gitops-ml check` run as a process on the example project's real history.
@Suite("gitops-ml check end to end")
struct CheckEndToEndTests {
    let temp = TemporaryDirectory("check")

    func example() throws -> String {
        let dest = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dest], timeout: 300)
        return dest
    }

    @Test func passingChallengerStoresItsReportAsANote() throws {
        let dir = try example()
        try git("checkout", "-q", "challenger/better", in: dir)
        let result = try gitopsML(["check"], in: dir)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains("roc_auc: challenger 0.8429 vs champion 0.8222"))
        #expect(result.stdoutText.contains("not a significant improvement"))  // accuracy: a warning by policy
        #expect(result.stdoutText.contains("PASS: 1 warn"))
        // The note holds the JSON report whose digest was printed.
        let head = try git("rev-parse", "HEAD", in: dir)
        let note = try run(["git", "notes", "--ref=gitops-ml", "show", head], in: dir)
        let digest = try #require(result.stderrText.split(separator: "sha256:").last?.prefix(64))
        #expect(Digests.sha256(Array(note.utf8)) == String(digest))
        #expect(note.contains("\"verdict\": \"pass\""))
    }

    @Test func failingGateExitsOneWithAnnotationsUnderGitHubActions() throws {
        let dir = try example()
        try git("checkout", "-q", "challenger/worse", in: dir)
        let outputs = temp.path + "/github_output"
        let summary = temp.path + "/step_summary"
        let result = try gitopsML(
            ["check", "--no-note"], in: dir,
            environment: [
                "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": outputs, "GITHUB_STEP_SUMMARY": summary,
                "RUNNER_TEMP": temp.path,
            ])
        #expect(result.status == 1)
        #expect(result.stderrText.contains("check failed: 4 failed"))
        #expect(
            result.stdoutText.contains(
                "::error file=policies/gates.yaml,line=10,title=gate/churn/accuracy::accuracy: challenger 0.709"))
        let written = try String(contentsOfFile: outputs, encoding: .utf8)
        #expect(written.contains("verdict=fail\n"))
        #expect(written.contains("report=\(temp.path)/gitops-ml-report.json"))
        #expect(FileManager.default.fileExists(atPath: temp.path + "/gitops-ml-report.json"))
        let markdown = try String(contentsOfFile: summary, encoding: .utf8)
        #expect(markdown.contains("## gitops-ml check: ❌ **fail**"))
        #expect(markdown.contains("| roc_auc | 0.8222 | 0.5863 | −0.2359 |"))
        // No note was written with --no-note.
        #expect(try git("notes", "--ref=gitops-ml", "list", in: dir).isEmpty)
    }

    @Test(.enabled(if: venvTool("python") != nil || runningInCI))
    func jsonMatchesItsSchemaAndJUnitIsReadByJunitparser() throws {
        let dir = try example()
        try git("checkout", "-q", "challenger/worse", in: dir)
        let result = try gitopsML(
            [
                "check", "--no-note", "--format", "json:\(temp.path)/report.json", "--format",
                "junit:\(temp.path)/junit.xml",
                "--format", "text",
            ], in: dir)
        #expect(result.status == 1)
        #expect(result.stdoutText.contains("FAIL: 4 fail"))
        let python = try #require(venvTool("python"), "make test installs .venv")
        let validated = try Subprocess.run([
            python, packageRoot + "/Tests/Fixtures/validate_report.py",
            packageRoot + "/schemas/check-report.schema.json",
            temp.path + "/report.json", temp.path + "/junit.xml",
        ])
        #expect(validated.status == 0, "\(validated.stdoutText)\(validated.stderrText)")
        #expect(validated.stdoutText.contains("schema ok"))
        // JUnit (read by junitparser) holds one case per finding of the JSON report (read by Python's
        // json), and its failures are the four the text summary names.
        let lines = validated.stdoutText.split(separator: "\n").map(String.init)
        let report = try #require(lines.first { $0.hasPrefix("report: ") })
        let counts = report.dropFirst("report: ".count).split(separator: " ").compactMap { Int($0) }
        #expect(counts.count == 3 && counts[0] > 4 && counts[1] == 4 && counts[2] == 0, "\(report)")
        #expect(lines.contains("junit: \(counts.first ?? -1) tests, 4 failures, 0 errors"), "\(validated.stdoutText)")
    }

    @Test func configurationErrorsExitTwoAndMissingObjectsExitThree() throws {
        let dir = try example()
        try write(
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: accuracy\n      min_absolut_change: 0\n",
            to: "policies/gates.yaml", in: dir)
        // Trusted explicitly (--rules workspace), a malformed policy is a configuration error at its line…
        let config = try gitopsML(["check", "--head", "workspace", "--rules", "workspace", "--no-note"], in: dir)
        #expect(config.status == 2)
        #expect(
            config.stderrText.contains("policies/gates.yaml:7: unknown key 'min_absolut_change'"),
            "\(config.stderrText)")
        // …and as the change under review, judged by HEAD's rules, it fails the check with the same words.
        let proposed = try gitopsML(["check", "--head", "workspace", "--no-note"], in: dir)
        #expect(proposed.status == 1)
        #expect(proposed.stdoutText.contains("the rules at workspace do not load"), "\(proposed.stdoutText)")
        #expect(proposed.stdoutText.contains("policies/gates.yaml:7: unknown key 'min_absolut_change'"))
        try git("checkout", "-q", "--", "policies/gates.yaml", in: dir)

        let unknown = try gitopsML(["check", "--base", "no-such-branch", "--no-note"], in: dir)
        #expect(unknown.status == 3)
        #expect(unknown.stderrText.contains("unknown revision 'no-such-branch'"))

        // A blob that history points to but the object store lost.
        let blob = try git("rev-parse", "challenger/better:eval/predictions.csv", in: dir)
        try git("repack", "-a", "-d", "-q", in: dir)
        try git("checkout", "-q", "challenger/better", in: dir)
        let packs = try FileManager.default.contentsOfDirectory(atPath: dir + "/.git/objects/pack").filter {
            $0.hasSuffix(".pack")
        }
        #expect(!packs.isEmpty)
        // Rewrite the pack without that blob.
        let keep =
            try run(["git", "rev-list", "--objects", "--all"], in: dir).split(separator: "\n")
            .map { String($0.prefix(40)) }.filter { $0 != blob }.joined(separator: "\n") + "\n"
        try run(["git", "pack-objects", "-q", dir + "/.git/objects/pack/kept"], in: dir, input: keep)
        for pack in packs {
            try FileManager.default.removeItem(atPath: dir + "/.git/objects/pack/" + pack)
            try FileManager.default.removeItem(
                atPath: dir + "/.git/objects/pack/" + pack.replacingOccurrences(of: ".pack", with: ".idx"))
        }
        let missing = try gitopsML(["check", "--no-note"], in: dir)
        #expect(missing.status == 3, "\(missing.stderrText)")
        #expect(
            missing.stderrText.contains(String(blob.prefix(7))) || missing.stderrText.contains("eval/predictions.csv"),
            "\(missing.stderrText)")
        #expect(missing.stderrText.split(separator: "\n").count == 1)
    }

    @Test func suitesAndFormatsAreValidated() throws {
        let dir = try example()
        #expect(try gitopsML(["check", "--suite", "dat"], in: dir).status == 2)
        #expect(try gitopsML(["check", "--format", "xml"], in: dir).status == 2)
        let onlyConfig = try gitopsML(["check", "--suite", "config", "--no-note", "--format", "json"], in: dir)
        #expect(onlyConfig.status == 0)
        #expect(!onlyConfig.stdoutText.contains("\"suite\": \"gate\""))
        #expect(onlyConfig.stdoutText.contains("\"suite\": \"config\""))
    }

    /// Two tags from before adoption are judged by the rules of the base, else the default branch, as
    /// docs/check.md says; neither side having rules is no change to the rules (no policy finding). With no
    /// rules anywhere the error names where it looked and the flag that helps.
    @Test func tagsFromBeforeAdoptionAreJudgedByTheDefaultBranch() throws {
        let dir = try makeRepository(in: temp.sub("pre-adoption"), files: ["metrics.json": "{\"auc\": 0.8}"])
        try git("tag", "v1", in: dir)
        let none = try gitopsML(["check", "--base", "v1", "--head", "v1", "--no-note"], in: dir)
        #expect(none.status == 2)
        #expect(none.stderrText.contains("no gitops-ml.yaml at v1"), "\(none.stderrText)")
        #expect(none.stderrText.contains("--rules REV"), "\(none.stderrText)")
        try commitFiles(["metrics.json": "{\"auc\": 0.85}"], message: "Better", in: dir)
        try git("tag", "v2", in: dir)
        try commitFiles(
            [
                "gitops-ml.yaml": "version: 1\nmodels:\n  m: {metrics: metrics.json}\nchecks: {policies: policies}\n",
                "policies/gates.yaml":
                    "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  model: m\n  gates:\n    - {metric: auc, min_relative_change: -0.01}\n",
            ], message: "Adopt gitops-ml", in: dir)
        let result = try gitopsML(["check", "--base", "v1", "--head", "v2", "--no-note"], in: dir)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains("auc: challenger 0.85 vs champion 0.8"), "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("gitops-ml.yaml removed"), "\(result.stdoutText)")
    }

    /// One rule for verdicts on nothing: a deploy or code suite with nothing configured is NOTHING CHECKED
    /// with what to configure, as the data suite is, never an empty pass.
    @Test func aSuiteWithNothingConfiguredChecksNothing() throws {
        let dir = try makeRepository(in: temp.sub("bare-config"), files: ["gitops-ml.yaml": "version: 1\n"])
        for (suite, advice) in [("deploy", "add a DeployPolicy"), ("code", "add test commands under checks.code")] {
            let result = try gitopsML(["check", "--suite", suite, "--no-note"], in: dir)
            #expect(result.status == 1, "\(suite): \(result.stdoutText)\(result.stderrText)")
            #expect(result.stdoutText.contains("NOTHING CHECKED"), "\(suite): \(result.stdoutText)")
            #expect(
                result.stdoutText.contains("nothing checked: every \(suite) check was skipped"), "\(result.stdoutText)")
            #expect(result.stdoutText.contains(advice), "\(suite): \(result.stdoutText)")
        }
    }
}

@Suite("check: code suite")
struct CodeSuiteTests {
    let temp = TemporaryDirectory("code")

    @Test func commandsTimeoutsAndJUnitResults() throws {
        let junit = """
            <?xml version="1.0" encoding="utf-8"?>
            <testsuites><testsuite name="pytest" tests="3" failures="1" skipped="1">
              <testcase classname="tests.test_model" name="test_shapes" file="tests/test_model.py" line="12" time="0.01"/>
              <testcase classname="tests.test_model" name="test_auc" file="tests/test_model.py" line="30">
                <failure message="assert 0.61 &gt;= 0.7">AssertionError</failure>
              </testcase>
              <testcase classname="tests.test_io" name="test_s3"><skipped message="no network"/></testcase>
            </testsuite></testsuites>
            """
        let dir = try makeRepository(
            in: temp.sub("repo"),
            files: [
                "gitops-ml.yaml": """
                version: 1
                checks:
                  code:
                    - {name: unit, run: "cp fixtures/junit.xml reports/unit.xml; exit 1", junit: reports/unit.xml}
                    - {name: lint, run: "echo ok"}
                    - {name: slow, run: "sleep 20", timeout: 0.5}
                    - {name: missing, run: "no-such-tool --check"}
                """,
                "fixtures/junit.xml": junit, "reports/.keep": "",
            ])
        let result = try gitopsML(["check", "--suite", "code", "--no-note", "--format", "json"], in: dir)
        #expect(result.status == 1)
        let text = result.stdoutText
        #expect(text.contains("\"unit exited with status 1\""))
        #expect(text.contains("\"unit: 3 tests, 1 failed, 1 skipped\""))
        #expect(text.contains("\"tests.test_model.test_auc: assert 0.61 >= 0.7\""))
        #expect(text.contains("\"file\": \"tests/test_model.py\""))
        #expect(text.contains("\"line\": 30"))
        #expect(text.contains("lint passed in"))
        #expect(text.contains("\"slow timed out after 0.5 s\""))
        #expect(text.contains("missing: command not found"))
        #expect(text.contains("\"status\": \"error\""))
    }
}

@Suite("check: artifacts behind DVC pointers", .enabled(if: venvTool("dvc") != nil || runningInCI))
struct ArtifactPointerTests {
    let temp = TemporaryDirectory("artifact")

    @Test func digestOfTheCachedObjectMatchesThePointer() throws {
        let dvc = try #require(venvTool("dvc"), "make test installs dvc into .venv")
        let env = dvcTestEnvironment(siteCache: temp.sub("site"))
        let dir = try makeRepository(
            in: temp.sub("repo"),
            files: [
                "gitops-ml.yaml": "version: 1\nmodels:\n  m:\n    artifact: model.pkl\n"
            ])
        try run([dvc, "init", "-q"], in: dir, environment: env)
        // A pickle (protocol 4) of the int 1.
        try Data([0x80, 0x04, 0x4B, 0x01, 0x2E]).write(to: URL(fileURLWithPath: dir + "/model.pkl"))
        try run([dvc, "add", "-q", "model.pkl"], in: dir, environment: env)
        try commitFiles([:], message: "model", in: dir)
        let ok = try gitopsML(["check", "--suite", "model", "--no-note"], in: dir)
        #expect(ok.status == 0, "\(ok.stdoutText)\(ok.stderrText)")
        #expect(ok.stdoutText.contains("artifact model.pkl: 5 bytes, pickle, md5:"))
        #expect(ok.stdoutText.contains("via model.pkl.dvc, digest verified"))

        try FileManager.default.removeItem(atPath: dir + "/.dvc/cache")
        let missing = try gitopsML(["check", "--suite", "model", "--no-note"], in: dir)
        #expect(missing.status == 1)
        #expect(
            missing.stdoutText.contains("not in the local cache: run `dvc pull model.pkl`"), "\(missing.stdoutText)")
    }
}

@Suite("gitops-ml data")
struct DataCommandTests {
    let temp = TemporaryDirectory("data-cli")

    @Test func profileDriftAndValidateOnTheExample() throws {
        let dir = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", dir], timeout: 300)
        let profile = try gitopsML(["data", "profile", "train@main", "--json"], in: dir)
        #expect(profile.status == 0)
        #expect(profile.stdoutText.contains("\"rows\": 2000"))
        #expect(profile.stdoutText.contains("\"name\": \"monthly_charges\""))
        let drift = try gitopsML(["data", "drift", "train", "--base", "main", "--head", "data/refresh"], in: dir)
        #expect(drift.status == 1)
        #expect(drift.stdoutText.contains("age: drift (wasserstein"))
        #expect(drift.stdoutText.contains("region: no drift (jensenshannon"))
        let same = try gitopsML(["data", "drift", "train", "--base", "main", "--head", "challenger/better"], in: dir)
        #expect(same.status == 0)
        let validate = try gitopsML(["data", "validate"], in: dir)
        #expect(validate.status == 0, "\(validate.stdoutText)\(validate.stderrText)")

        // A ragged row in the workspace: a finding with the file and line, exit 1, no crash.
        var text = try String(contentsOfFile: dir + "/data/train.csv", encoding: .utf8)
        text += "C999999,1,2\n"
        try text.write(toFile: dir + "/data/train.csv", atomically: true, encoding: .utf8)
        let ragged = try gitopsML(["data", "validate"], in: dir)
        #expect(ragged.status == 1)
        #expect(ragged.stdoutText.contains("expected 9 fields, found 3 [data/train.csv:2002]"), "\(ragged.stdoutText)")
        let profileRagged = try gitopsML(["data", "profile", "train"], in: dir)
        #expect(profileRagged.status == 2)
        #expect(profileRagged.stderrText == "gitops-ml: error: data/train.csv:2002: expected 9 fields, found 3\n")
        let missing = try gitopsML(["data", "profile", "data/none.csv@main"], in: dir)
        #expect(missing.status == 3)
    }
}
