import Dispatch
import Foundation
import GitOpsMLCore
import Testing

@testable import Processes

@Suite("Subprocesses")
struct SubprocessTests {
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

    /// A child gets its standard streams and nothing else of the parent's, even a descriptor opened without
    /// close-on-exec (the agent's sockets were, and its model servers held them); and the fallback for C
    /// libraries that cannot close them in the child marks every descriptor close-on-exec.
    @Test func aChildGetsOnlyItsStandardStreams() throws {
        let open = Foundation.open("/dev/null", O_RDONLY)
        #expect(open > 2)
        defer { close(open) }
        let child = try Subprocess.run(["sh", "-c", "test -e /proc/$$/fd/\(open) && echo held || echo closed"])
        #expect(child.stdoutText == "closed\n", "the child holds descriptor \(open)")
        let started = try Subprocess.start(["sleep", "30"])
        defer { started.terminate(grace: 0.1) }
        let held = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(started.pid)/fd")) ?? []
        #expect(held.sorted() == ["0", "1", "2"], "the started child holds \(held.sorted())")

        #expect(fcntl(open, F_GETFD) & FD_CLOEXEC == 0)
        Subprocess.closeOnExecAbove(2)
        #expect(fcntl(open, F_GETFD) & FD_CLOEXEC != 0)
    }
}

@Suite("Children spawned at once")
struct ConcurrentChildrenTests {
    /// A short child's output ends when it exits, even while long children spawned from other threads at
    /// the same moment are still running: they must not have inherited its pipe.
    @Test func pipesDoNotLeakIntoOtherChildren() {
        let quick = Locked<[Double]>([])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let started = Date()
            do {
                if index % 2 == 0 {
                    let slow = try Subprocess.run(["sleep", "20"])
                    if slow.status != 0 { failures.withLock { $0.append("sleep exited \(slow.status)") } }
                } else {
                    let output = try Subprocess.run(["sh", "-c", "echo quick"])
                    guard output.status == 0, output.stdoutText == "quick\n" else {
                        failures.withLock { $0.append("echo: \(output.status) \(output.stdoutText.debugDescription)") }
                        return
                    }
                    let seconds = Date().timeIntervalSince(started)
                    quick.withLock { $0.append(seconds) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // The four quick children all finished, each long before the 20 s sleepers they ran beside (an
        // inherited pipe would hold a quick child's output open until a sleeper ends: 20 s at least).
        #expect(quick.withLock { $0.count } == 4)
        #expect((quick.withLock { $0.max() } ?? .infinity) < 15, "a quick child's output waited for a slow one")
    }
}
