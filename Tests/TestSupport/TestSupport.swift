import Foundation
import GitOpsMLCore
/// Every test target runs children through the sources' one spawner.
@_exported import Processes

/// A temporary folder removed when the value goes away.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "gitops-ml") {
        let base = FileManager.default.temporaryDirectory.path + "/\(label)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        // Resolve symlinks (/tmp on some systems) so that paths compare equal to what libgit2 reports.
        path = URL(fileURLWithPath: base).resolvingSymlinksInPath().path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func sub(_ name: String) -> String {
        let full = path + "/" + name
        try? FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        return full
    }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A fixed identity and clock for git commands run by tests, so histories are reproducible.
public let gitTestEnvironment: [String: String] = {
    var env = ProcessInfo.processInfo.environment
    env["GIT_AUTHOR_NAME"] = "Test Author"
    env["GIT_AUTHOR_EMAIL"] = "author@example.com"
    env["GIT_COMMITTER_NAME"] = "Test Committer"
    env["GIT_COMMITTER_EMAIL"] = "committer@example.com"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    env["HOME"] = FileManager.default.temporaryDirectory.path
    return env
}()

/// Runs a command and returns its standard output; throws with its stderr when it fails.
@discardableResult
public func run(
    _ arguments: [String], in directory: String? = nil, environment: [String: String]? = nil,
    input: String = "", timeout: Double = 120
) throws -> String {
    let output = try Subprocess.run(
        arguments, directory: directory, environment: environment ?? gitTestEnvironment,
        input: Array(input.utf8), timeout: timeout)
    guard output.status == 0 else {
        throw CommandFailed(
            description: "\(arguments.joined(separator: " ")) exited \(output.status): \(output.stderrText)")
    }
    return output.stdoutText
}

/// Runs `git ARGS` in `directory` with the test identity.
@discardableResult
public func git(_ arguments: String..., in directory: String) throws -> String {
    try git(arguments, in: directory)
}

/// Runs `git ARGS` in `directory` with the test identity (arguments as an array).
@discardableResult
public func git(_ arguments: [String], in directory: String) throws -> String {
    try run(["git"] + arguments, in: directory).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Writes `contents` to `path` below `directory`, creating folders.
public func write(_ contents: String, to path: String, in directory: String) throws {
    let full = directory + "/" + path
    try FileManager.default.createDirectory(
        atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try contents.write(toFile: full, atomically: true, encoding: .utf8)
}

/// A work-tree repository with a first commit, made with the real `git`.
public func makeRepository(
    in directory: String, files: [String: String] = ["README.md": "hello\n"],
    branch: String = "main"
) throws -> String {
    try git("init", "-q", "-b", branch, in: directory)
    try commitFiles(files, message: "initial", in: directory)
    return directory
}

/// Writes files and commits them; returns the new commit id.
@discardableResult
public func commitFiles(_ files: [String: String], message: String, in directory: String, date: Int? = nil) throws
    -> String
{
    for (path, contents) in files { try write(contents, to: path, in: directory) }
    try git("add", "-A", in: directory)
    var env = gitTestEnvironment
    if let date {
        env["GIT_AUTHOR_DATE"] = "@\(date) +0000"
        env["GIT_COMMITTER_DATE"] = "@\(date) +0000"
    }
    try run(["git", "commit", "-q", "--allow-empty", "-m", message], in: directory, environment: env)
    return try git("rev-parse", "HEAD", in: directory)
}

/// The folder holding the package (for the built binary and the bundled files).
public let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    while url.path != "/" {
        url.deleteLastPathComponent()
        if FileManager.default.fileExists(atPath: url.path + "/Package.swift") { return url.path }
    }
    return FileManager.default.currentDirectoryPath
}()

/// A server process on 127.0.0.1 that printed its port on its first line of output; killed on deinit.
public final class LoopbackServer: @unchecked Sendable {
    public let process: ChildProcess
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(_ arguments: [String], directory: String? = nil, environment: [String: String]? = nil) throws {
        let temp = TemporaryDirectory("server")
        let output = temp.path + "/stdout"
        process = try Subprocess.start(
            arguments, directory: directory, environment: environment, stdoutPath: output,
            stderrPath: temp.path + "/stderr")
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: output, encoding: .utf8),
                let line = text.split(separator: "\n").first, let port = Int(line.trimmingCharacters(in: .whitespaces))
            {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            usleep(20_000)
        }
        let stderr = (try? String(contentsOfFile: temp.path + "/stderr", encoding: .utf8)) ?? ""
        process.terminate()
        throw CommandFailed(description: "\(arguments.joined(separator: " ")) did not report a port: \(stderr)")
    }

    /// The bundled echo server (Tests/Fixtures/http_test_server.py).
    public static func echo() throws -> LoopbackServer {
        try LoopbackServer(["python3", packageRoot + "/Tests/Fixtures/http_test_server.py"])
    }

    deinit { process.terminate() }
}

/// The built `gitops-ml` binary: `$GITOPS_ML_BIN`, else next to the test bundle.
public let gitopsMLBinary: String = {
    if let explicit = ProcessInfo.processInfo.environment["GITOPS_ML_BIN"] { return explicit }
    let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var folder = testBinary.deletingLastPathComponent()
    // On Linux the test binary is <build>/gitops-mlPackageTests.xctest; on macOS it is inside a bundle.
    while folder.path != "/" {
        if FileManager.default.isExecutableFile(atPath: folder.path + "/gitops-ml") {
            return folder.path + "/gitops-ml"
        }
        folder.deleteLastPathComponent()
    }
    return packageRoot + "/.build/debug/gitops-ml"
}()

/// Runs the built binary and returns its output, whatever its exit status.
public func gitopsML(_ arguments: [String], in directory: String, environment: [String: String] = [:]) throws
    -> ProcessOutput
{
    var env = gitTestEnvironment
    env["NO_COLOR"] = "1"
    env.merge(environment) { _, new in new }
    return try Subprocess.run([gitopsMLBinary] + arguments, directory: directory, environment: env, timeout: 120)
}

/// A Python virtual environment's tool (installed by `make test` into `.venv`), or nil when absent.
public func venvTool(_ name: String) -> String? {
    let path = packageRoot + "/.venv/bin/" + name
    return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// True under CI, where every tool the tests need must be installed: a missing tool fails instead of skipping.
public let runningInCI = ProcessInfo.processInfo.environment["CI"] != nil

// MARK: Processes, refs and waits that cannot be fooled

/// The state letter of process `pid` in `/proc/PID/stat` (R, S, D, Z, …), or nil when there is no such
/// process. A zombie (Z) has exited: only its parent's reaping is left, which can take init seconds.
public func processState(_ pid: pid_t) -> Character? {
    guard pid > 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(after: close)...].first { $0 != " " }
}

/// True when `pid` has exited (gone, or a zombie waiting to be reaped). Never signals anything.
public func processHasExited(_ pid: pid_t) -> Bool {
    guard let state = processState(pid) else { return true }
    return state == "Z" || state == "X"
}

/// Waits until `condition` holds, checking every 20 ms, for at most `seconds`; returns whether it held.
/// The limit is a generous bound for a loaded machine, never the evidence itself.
@discardableResult
public func waitUntil(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// Whether `ref` (a full name such as `refs/heads/gitops`) exists in the repository at `directory`:
/// git's own answer, where any failure other than "no such ref" throws instead of reading as absent.
public func refExists(_ ref: String, in directory: String) throws -> Bool {
    let result = try Subprocess.run(
        ["git", "show-ref", "--verify", "--quiet", ref], directory: directory, environment: gitTestEnvironment)
    switch result.status {
    case 0: return true
    case 1: return false
    default: throw CommandFailed(description: "git show-ref \(ref) in \(directory) exited \(result.status)")
    }
}

/// Ports for servers whose port must be chosen before they start (the agent's local target serves a
/// model on a stable, configured port, so it cannot bind port 0 and report back). Each comes from below
/// the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range), so no port-0 bind or outgoing
/// connection on the machine can take it, and is reserved by an exclusive lock on a file for the life of
/// the test process, so no other test, in this process or another run beside it, is handed it too.
public enum TestPorts {
    nonisolated(unsafe) private static var held: [Int32] = []
    private static let lock = NSLock()
    nonisolated(unsafe) private static var next = 20_000 + Int(getpid() % 500) * 16

    public static func reserve() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let folder = FileManager.default.temporaryDirectory.path + "/gitops-ml-test-ports"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for _ in 0..<12_000 {
            let port = next
            next = next >= 31_999 ? 20_000 : next + 1
            let descriptor = open(folder + "/\(port)", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { continue }
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0, isFree(port) else {
                close(descriptor)
                continue
            }
            held.append(descriptor)
            return port
        }
        fatalError("no free test port from 20000 to 31999")
    }

    /// Nothing listens on or is bound to 127.0.0.1:port right now.
    private static func isFree(_ port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

// MARK: External tools

/// A tool the tests compare against or validate with: `.venv/bin`, else `/usr/bin`, else `/usr/local/bin`.
public func toolPath(_ name: String) -> String? {
    if let path = venvTool(name) { return path }
    return ["/usr/bin", "/usr/local/bin", "/usr/sbin"].map { "\($0)/\(name)" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// For `.enabled(if: toolsAvailable(…))`: true when every tool is installed, and always under CI, where
/// `make test` installs them and a missing one must fail the test (through `requireTool`), not skip it.
/// Elsewhere a test gated on a missing tool is reported as skipped, with the trait's comment as reason.
public func toolsAvailable(_ names: String...) -> Bool {
    runningInCI || names.allSatisfy { toolPath($0) != nil }
}

/// The tool's path, or an error that fails the test (reached only under CI or when the tool exists).
public func requireTool(_ name: String) throws -> String {
    guard let path = toolPath(name) else {
        throw CommandFailed(description: "\(name) is not installed (make test installs it)")
    }
    return path
}

/// The environment a test runs the real dvc in: git's test identity, no analytics, and a site cache of
/// the test's own (`siteCache`), so that runs never share DVC's machine-wide state.
public func dvcTestEnvironment(siteCache: String) -> [String: String] {
    var environment = gitTestEnvironment
    environment["DVC_NO_ANALYTICS"] = "1"
    environment["DVC_SITE_CACHE_DIR"] = siteCache
    return environment
}
