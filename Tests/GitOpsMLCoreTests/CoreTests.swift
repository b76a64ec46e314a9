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

    @Test func radixSortMatchesTheStandardSort() {
        var state: UInt64 = 5
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int64(bitPattern: state) >> 11) / 1e9
        }
        var values: [Double] = []
        for index in 0..<50_000 {
            if index % 7 == 0 {
                values.append(Double(index % 5))
            } else if index % 11 == 0 {
                values.append(-0.0)
            } else {
                values.append(next())
            }
        }
        values += [-Double.infinity, Double.infinity, 0, -1e-300, 1e300]
        let standard: [Double] = values.sorted()
        #expect(RadixSort.sorted(values) == standard)
        let order = RadixSort.sortedIndices(values)
        let expected: [Int] = values.indices.sorted { (a: Int, b: Int) -> Bool in
            values[a] != values[b] ? values[a] < values[b] : a < b
        }
        #expect(order == expected)

        // Decimal data sorts as scaled integers: six places with negatives and zeros, whole numbers, and a
        // value with more places far from the start (found by the full check, not the sample: bit sort).
        let decimals = (0..<50_000).map { _ in Double(Int(next() * 1e6) % 9_000_000) / 1e6 } + [-0.0, 0, -4.5]
        var longer = decimals
        longer[40_000] = 0.1234567891234
        for case let sample in [decimals, decimals.map { ($0 * 1e3).rounded() }, longer] {
            var sorted = sample
            RadixSort.sortInPlace(&sorted)
            #expect(sorted == sample.sorted())
        }
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
