import Foundation
import TestSupport
import Testing

@testable import GitOpsMLCore

@Suite("Core: digests, redaction, exit codes, subprocesses")
struct CoreTests {
    @Test func redactsCredentials() {
        #expect(Redaction.url("https://user:tok@github.com/o/r.git") == "https://***@github.com/o/r.git")
        #expect(Redaction.url("https://h/x?access_token=abc&page=2") == "https://h/x?access_token=***&page=2")
        #expect(Redaction.url("ssh://git@host:22/r") == "ssh://***@host:22/r")
        #expect(Redaction.secrets("token s3cr3t leaked", ["s3cr3t"]) == "token *** leaked")
    }

    @Test func exitCodesComeFromCategories() {
        #expect(ExitStatus.of(GitOpsMLError.usage("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.configuration("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.environment("x")) == .environment)
        #expect(ExitStatus.of(GitOpsMLError(.checkFailed, "x")) == .failed)
        #expect(ExitStatus.of(CocoaError(.fileNoSuchFile)) == .environment)
    }

    @Test func subprocessesTimeOutAndReceiveSignals() throws {
        let output = try Subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(output.status == 3 && output.stdoutText == "out\n" && output.stderrText == "err\n")
        let started = Date()
        let slow = try Subprocess.run(["sh", "-c", "sleep 60"], timeout: 0.5)
        #expect(slow.timedOut)
        #expect(Date().timeIntervalSince(started) < 30)  // a hang guard: without the timeout, 60 s
        let echoed = try Subprocess.run(["cat"], input: Array(repeating: 65, count: 300_000))
        #expect(echoed.stdout.count == 300_000)
        let child = try Subprocess.start(["sleep", "30"])
        #expect(child.isRunning)
        #expect(child.terminate() == 128 + 15)  // SIGTERM reached it: the signal mask was cleared
        #expect(throws: GitOpsMLError.self) { try Subprocess.run(["/no/such/program"]) }
    }
}
