import Foundation
import TestSupport
import Testing

@testable import GitOpsMLCore

@Suite("Core: digests, redaction, exit codes, subprocesses")
struct CoreTests {
    @Test(arguments: [0, 1, 55, 56, 63, 64, 65, 1000, 100_000])
    func sha256MatchesSha256sum(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let temp = TemporaryDirectory("sha")
        try Data(bytes).write(to: URL(fileURLWithPath: temp.path + "/f"))
        let expected = try run(["sha256sum", temp.path + "/f"]).split(separator: " ").first.map(String.init)
        #expect(SHA256.hex(bytes) == expected)
        // Fed in uneven pieces, the digest is the same.
        var hasher = SHA256()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + 1 + offset % 97)
            hasher.update(Array(bytes[offset..<end]))
            offset = end
        }
        #expect(hasher.finalize().map { String(format: "%02x", $0) }.joined() == expected)
    }

    @Test(arguments: [0, 3, 55, 56, 64, 65, 100_000])
    func md5MatchesMd5sum(length: Int) throws {
        let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 3) }
        let temp = TemporaryDirectory("md5")
        try Data(bytes).write(to: URL(fileURLWithPath: temp.path + "/f"))
        let expected = try run(["md5sum", temp.path + "/f"]).split(separator: " ").first.map(String.init)
        #expect(MD5.hex(bytes) == expected)
    }

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
