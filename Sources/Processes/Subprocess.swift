import Foundation
import GitOpsMLCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The outcome of a finished child process.
public struct ProcessOutput: Sendable {
    public var status: Int32
    public var stdout: [UInt8]
    public var stderr: [UInt8]
    /// True when the child was killed because it ran past its timeout.
    public var timedOut: Bool

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A pipe whose ends close in every child but the one they are handed to (posix_spawn's dup2 clears the
/// flag on the child's own descriptors): two children spawned from two threads cannot keep each other's
/// pipes open, which would leave a reader waiting for an end of file that never comes. (`pipe2` would
/// close the short window between the two calls, but Swift's Glibc module does not export it.)
func closeOnExecPipe(_ ends: inout [Int32]) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    return true
}

/// Spawns child processes with a cleared signal mask and default signal dispositions.
///
/// Threads of Swift's cooperative pool and Dispatch block SIGTERM; a child inheriting that mask ignores
/// `terminate()` (ENGINEERING-NOTES.md). Every child here starts in its own process group so that a
/// timeout ends the whole tree. These calls block: run them on a dedicated thread, not the cooperative pool.
public enum Subprocess {
    /// Runs `arguments` to completion, collecting its output. `arguments[0]` is looked up in PATH.
    public static func run(
        _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        input: [UInt8] = [], timeout: Double? = nil
    ) throws -> ProcessOutput {
        var stdinPipe: [Int32] = [0, 0]
        var stdoutPipe: [Int32] = [0, 0]
        var stderrPipe: [Int32] = [0, 0]
        guard closeOnExecPipe(&stdinPipe), closeOnExecPipe(&stdoutPipe), closeOnExecPipe(&stderrPipe) else {
            throw GitOpsMLError.environment("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        let pid: pid_t
        do {
            pid = try spawn(
                arguments, directory: directory, environment: environment,
                stdin: stdinPipe[0], stdout: stdoutPipe[1], stderr: stderrPipe[1],
                closeInChild: [stdinPipe[1], stdoutPipe[0], stderrPipe[0]])
        } catch {
            for fd in stdinPipe + stdoutPipe + stderrPipe { close(fd) }
            throw error
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])

        var out: [UInt8] = []
        var err: [UInt8] = []
        var pending = input[...]
        var writeFD: Int32 = stdinPipe[1]
        if pending.isEmpty {
            close(writeFD)
            writeFD = -1
        } else {
            _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        }
        var readFDs = [stdoutPipe[0], stderrPipe[0]]
        let deadline = timeout.map { monotonicSeconds() + $0 }
        var timedOut = false
        var buffer = [UInt8](repeating: 0, count: 65536)

        while !readFDs.isEmpty || writeFD >= 0 {
            var fds = readFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if writeFD >= 0 { fds.append(pollfd(fd: writeFD, events: Int16(POLLOUT), revents: 0)) }
            var wait: Int32 = -1
            if let deadline {
                let left = deadline - monotonicSeconds()
                if left <= 0 {
                    timedOut = true
                    break
                }
                wait = Int32(min(left * 1000, 1000)) + 1
            }
            let ready = poll(&fds, nfds_t(fds.count), wait)
            if ready < 0 && errno == EINTR { continue }
            for entry in fds where entry.revents != 0 {
                if entry.fd == writeFD {
                    let written = pending.withUnsafeBytes { write(writeFD, $0.baseAddress, $0.count) }
                    if written > 0 { pending = pending.dropFirst(written) }
                    if written < 0 && errno != EAGAIN || pending.isEmpty {
                        close(writeFD)
                        writeFD = -1
                    }
                    continue
                }
                let count = read(entry.fd, &buffer, buffer.count)
                if count > 0 {
                    if entry.fd == stdoutPipe[0] {
                        out.append(contentsOf: buffer[0..<count])
                    } else {
                        err.append(contentsOf: buffer[0..<count])
                    }
                } else if count == 0 || errno != EINTR && errno != EAGAIN {
                    close(entry.fd)
                    readFDs.removeAll { $0 == entry.fd }
                }
            }
        }
        if timedOut {
            terminateGroup(pid, grace: 2)
            for fd in readFDs { close(fd) }
            if writeFD >= 0 { close(writeFD) }
        }
        let status = reap(pid)
        return ProcessOutput(status: status, stdout: out, stderr: err, timedOut: timedOut)
    }

    /// Starts a long-running child (a test server, a supervised model server) with its output sent to files.
    public static func start(
        _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        stdoutPath: String = "/dev/null", stderrPath: String = "/dev/null"
    ) throws -> ChildProcess {
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        let outFD = open(stdoutPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        let errFD = open(stderrPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        defer {
            close(devNull)
            close(outFD)
            close(errFD)
        }
        guard devNull >= 0, outFD >= 0, errFD >= 0 else {
            throw GitOpsMLError.environment("cannot open output files for \(arguments.first ?? "")")
        }
        let pid = try spawn(
            arguments, directory: directory, environment: environment, stdin: devNull, stdout: outFD,
            stderr: errFD, closeInChild: [])
        return ChildProcess(pid: pid)
    }

    static func spawn(
        _ arguments: [String], directory: String?, environment: [String: String]?,
        stdin: Int32, stdout: Int32, stderr: Int32, closeInChild: [Int32]
    ) throws -> pid_t {
        guard let program = arguments.first else { throw GitOpsMLError.usage("empty command") }
        ChildGroups.prepare()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in closeInChild { posix_spawn_file_actions_addclose(&actions, fd) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // A child gets standard input, output and error, nothing else of ours: not the agent's listening
        // socket (a model server outliving a killed agent would keep its port; its code could accept the
        // webhook's connections), not the state lock, not the mirror's packs.
        if let addCloseFrom {
            _ = addCloseFrom(&actions, 3)
        } else {
            closeOnExecAbove(2)
        }
        if let directory {
            guard let addChdir else {
                throw GitOpsMLError.environment("this C library cannot set a child's working directory")
            }
            _ = addChdir(&actions, directory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        // From before the spawn until the child is in the table, a stop signal waits for it (ChildGroups).
        ChildGroups.spawning.add(1, ordering: .sequentiallyConsistent)
        let code = withCStrings(arguments) { argv in
            withCStrings(env) { envp in posix_spawnp(&pid, program, &actions, &attributes, argv, envp) }
        }
        if code == 0 { ChildGroups.add(pid) }
        ChildGroups.spawned()
        guard code == 0 else {
            throw GitOpsMLError.environment("cannot start \(program): \(String(cString: strerror(code)))")
        }
        return pid
    }

    /// Sends SIGTERM to the child's process group, then SIGKILL after `grace` seconds.
    static func terminateGroup(_ pid: pid_t, grace: Double) {
        kill(-pid, SIGTERM)
        let until = monotonicSeconds() + grace
        while monotonicSeconds() < until {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                ChildGroups.holdIfStopping()
                kill(-pid, SIGKILL)  // the leader is gone; make sure its group is too
                ChildGroups.remove(pid)
                exitedEarly.withLock { $0[pid] = decode(status) }
                return
            }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
    }

    /// Waits for `pid` and returns its exit status (128 + signal when killed by a signal).
    static func reap(_ pid: pid_t) -> Int32 {
        if let status = exitedEarly.withLock({ $0.removeValue(forKey: pid) }) { return status }
        var status: Int32 = 0
        defer { ChildGroups.remove(pid) }
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        ChildGroups.holdIfStopping()
        return decode(status)
    }

    static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// glibc ≥ 2.29 has `posix_spawn_file_actions_addchdir_np`, but its header hides it from Swift.
    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// glibc ≥ 2.34 closes every descriptor from one number up in the child
    /// (`posix_spawn_file_actions_addclosefrom_np`), also hidden from Swift.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard
            let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// Where the C library cannot close them in the child: every open descriptor above `lowest` is marked
    /// close-on-exec first (one opened by another thread in between could still pass).
    static func closeOnExecAbove(_ lowest: Int32) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > lowest { _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC) }
        }
    }

    private static let exitedEarly = Mutex<[pid_t: Int32]>([:])
}

/// A child started by `Subprocess.start`. Terminate it, or wait for it; it is reaped either way.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let state = Mutex<Int32?>(nil)

    init(pid: pid_t) { self.pid = pid }

    /// True while the child has not exited.
    public var isRunning: Bool {
        state.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                ChildGroups.holdIfStopping()
                status = Subprocess.decode(raw)
                ChildGroups.remove(pid)
                return false
            }
            return true  // 0: running; -1: `waitForExit` is reaping it at this moment
        }
    }

    /// SIGTERM to the child's group, SIGKILL after `grace` seconds; returns the exit status.
    @discardableResult
    public func terminate(grace: Double = 3) -> Int32 {
        if !isRunning { return state.withLock { $0 ?? -1 } }
        Subprocess.terminateGroup(pid, grace: grace)
        return waitForExit()
    }

    /// Blocks until the child exits. The lock is not held while waiting, so `isRunning` answers meanwhile;
    /// when it reaps the child first, this wait's own `waitpid` fails and its status is the one recorded.
    @discardableResult
    public func waitForExit() -> Int32 {
        if let status = state.withLock({ $0 }) { return status }
        let code = Subprocess.reap(pid)
        return state.withLock { status in
            if let status { return status }
            status = code
            return code
        }
    }

    deinit {
        if state.withLock({ $0 == nil }) { terminate(grace: 1) }
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R)
    -> R
{
    let array = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
    for (index, string) in strings.enumerated() { array[index] = strdup(string) }
    array[strings.count] = nil
    defer {
        for index in 0..<strings.count { free(array[index]) }
        array.deallocate()
    }
    return body(array)
}

/// The process groups of live children, in a fixed table that a signal handler may read: when gitops-ml
/// is told to stop (SIGTERM, SIGINT, SIGHUP — a cancelled CI job) or exits, its children's groups get
/// SIGTERM first, so that no code check or model server outlives it. The handlers are installed only where
/// the signal still has its default action (a service that handles signals itself keeps its own).
enum ChildGroups {
    static let capacity = 256
    nonisolated(unsafe) static let table: UnsafeMutablePointer<pid_t> = {
        let table = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        table.initialize(repeating: 0, count: capacity)
        return table
    }()
    static let slots = Mutex<Bool>(false)  // guards writes; true once the handlers are installed
    /// Spawns under way, and the stop signal that arrived during one: a child started but not yet in the
    /// table would outlive gitops-ml, so the handler leaves the stopping to the last spawn to finish.
    static let spawning = Atomic<Int>(0)
    static let pendingSignal = Atomic<Int32>(0)

    /// Installs the handlers (once) before the first child can exist.
    static func prepare() {
        slots.withLock { installed in
            if !installed {
                installed = true
                install()
            }
        }
    }

    /// A spawn is over (its child, if any, is in the table): a stop signal that came meanwhile is acted on.
    static func spawned() {
        if spawning.subtract(1, ordering: .sequentiallyConsistent).newValue == 0 {
            let received = pendingSignal.load(ordering: .sequentiallyConsistent)
            if received != 0 { stop(received) }
        }
    }

    /// Async-signal-safe: the children's groups get SIGTERM, then this process exits with 128 + the
    /// signal's number, as a shell reports a process the signal ended. (`_exit`, not `raise`: a signal
    /// raised again from here was seen to leave the process running on — 1 run in 20 under load, from a
    /// thread of Swift's pool, which blocks SIGTERM — so the check went on and exited 1.)
    static func stop(_ received: Int32) {
        stopping.store(true, ordering: .sequentiallyConsistent)
        terminateAll()
        _exit(128 + received)
    }

    /// Set by `stop` before the children are told to stop: their deaths are its doing, and no thread may
    /// act on one (a code check failed by the signal, then `exit(1)`) before `stop` reaches `_exit` —
    /// seen once under a loaded CI run, where the thread in the handler was descheduled between the two.
    static let stopping = Atomic<Bool>(false)

    /// Called where a child's exit was observed: while `stop` is under way, this thread waits for it.
    static func holdIfStopping() {
        while stopping.load(ordering: .sequentiallyConsistent) { pause() }
    }

    static func add(_ pid: pid_t) {
        slots.withLock { _ in
            for index in 0..<capacity where table[index] == 0 {
                table[index] = pid
                return
            }
        }
    }

    static func remove(_ pid: pid_t) {
        slots.withLock { _ in
            for index in 0..<capacity where table[index] == pid { table[index] = 0 }
        }
    }

    /// Async-signal-safe: reads the table and calls kill(2) only.
    static func terminateAll() {
        for index in 0..<capacity {
            let pid = table[index]
            if pid > 0 { kill(-pid, SIGTERM) }
        }
    }

    static func install() {
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            var current = sigaction()
            guard sigaction(signalNumber, nil, &current) == 0 else { continue }
            #if canImport(Glibc)
                let isDefault = current.__sigaction_handler.sa_handler == nil
            #else
                let isDefault = current.__sigaction_u.__sa_handler == nil
            #endif
            guard isDefault else { continue }
            signal(signalNumber) { received in
                ChildGroups.pendingSignal.store(received, ordering: .sequentiallyConsistent)
                if ChildGroups.spawning.load(ordering: .sequentiallyConsistent) == 0 { ChildGroups.stop(received) }
            }
        }
        atexit { ChildGroups.terminateAll() }
    }
}
