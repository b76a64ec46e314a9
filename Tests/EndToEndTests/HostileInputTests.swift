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

    // MARK: Standard streams and report targets

    /// `gitops-ml ARGS` under /bin/sh with `redirections` (`2>&-`, `>/dev/full`…): exit status, and
    /// what reached standard error when it still could.
    func shell(_ arguments: String, _ redirections: String, in dir: String) throws -> (status: Int32, stderr: String) {
        let output = try Subprocess.run(
            ["/bin/sh", "-c", "'\(gitopsMLBinary)' \(arguments) \(redirections)"], directory: dir,
            environment: gitTestEnvironment.merging(["NO_COLOR": "1"]) { _, new in new }, timeout: 60)
        return (output.status, output.stderrText)
    }

    @Test func closedOrFullStreamsExitThreeNeverBySignal() throws {
        let dir = try repository(["gitops-ml.yaml": "version: 1\n"])
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
        let dir = try repository(["gitops-ml.yaml": "version: 1\n"])
        let real = temp.path + "/real-report.json"
        try "old".write(toFile: real, atomically: true, encoding: .utf8)
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
    }
}
