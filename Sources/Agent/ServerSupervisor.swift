import Foundation
import GitOpsMLCore
import Processes

/// How the local target starts a model server: the release's serving command, with the model's path,
/// port and version in its environment. The agent's own environment is not passed on (it may hold tokens):
/// only what a program needs to start (PATH, HOME, locale, time zone).
public struct ServerLaunch: Sendable, Equatable {
    public var arguments: [String]
    public var directory: String?
    public var environment: [String: String]
    /// Standard output and error, appended.
    public var logPath: String

    public init(
        arguments: [String], directory: String? = nil, modelPath: String, port: Int, version: String,
        logPath: String, inherited: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.arguments = arguments
        self.directory = directory
        self.logPath = logPath
        environment = inherited.filter { ["PATH", "HOME", "LANG", "LC_ALL", "TZ"].contains($0.key) }
        environment["GITOPS_ML_MODEL_PATH"] = modelPath
        environment["GITOPS_ML_MODEL_VERSION"] = version
        environment["GITOPS_ML_PORT"] = String(port)
        environment["PORT"] = String(port)
    }

    /// The port the server is told to listen on.
    public var port: Int? { environment["PORT"].flatMap(Int.init) }
}

/// Keeps one model server running: restarts it after a crash with backoff, stops it with SIGTERM and then
/// SIGKILL after a grace period. Driven by `poll()` from the agent's loop (no thread of its own), on an
/// injectable clock; owned by one thread at a time.
public final class ServerSupervisor {
    public enum Event: Sendable, Equatable {
        case crashed(status: Int32, restartIn: Double)
        case restarted(pid: Int32, crashesInARow: Int)
        case restartFailed(reason: String, retryIn: Double)
    }

    public let launch: ServerLaunch
    let clock: any HealthClock
    let backoff: Backoff
    /// Seconds a server must stay up for its crash count to clear.
    let stableAfter: Double
    private var child: ChildProcess?
    private var startedAt = 0.0
    private var restartAt: Double?
    public private(set) var crashesInARow = 0

    public init(
        _ launch: ServerLaunch, clock: any HealthClock = SystemClock(), backoff: Backoff = Backoff(),
        stableAfter: Double = 60
    ) {
        self.launch = launch
        self.clock = clock
        self.backoff = backoff
        self.stableAfter = stableAfter
    }

    /// The running child's pid, nil when none runs.
    public var pid: Int32? { child.flatMap { $0.isRunning ? $0.pid : nil } }

    public func start() throws {
        precondition(child == nil, "start once; stop before starting again")
        try spawn()
    }

    /// Notices a crash and schedules the restart; restarts once it is due. Nil when nothing happened.
    public func poll() -> Event? {
        let now = clock.now()
        if let running = child {
            if running.isRunning {
                if crashesInARow > 0 && now - startedAt >= stableAfter { crashesInARow = 0 }
                return nil
            }
            child = nil
            crashesInARow += 1
            let delay = backoff.delay(afterFailures: crashesInARow)
            restartAt = now + delay
            return .crashed(status: running.waitForExit(), restartIn: delay)
        }
        guard let due = restartAt, now >= due else { return nil }
        do {
            try spawn()
            return .restarted(pid: child?.pid ?? -1, crashesInARow: crashesInARow)
        } catch {
            crashesInARow += 1
            let delay = backoff.delay(afterFailures: crashesInARow)
            restartAt = now + delay
            return .restartFailed(reason: "\(error)", retryIn: delay)
        }
    }

    /// SIGTERM to the server's process group, SIGKILL after `grace` seconds; no restart afterwards.
    /// Returns the exit status, nil when nothing was running.
    @discardableResult
    public func stop(grace: Double = 10) -> Int32? {
        restartAt = nil
        defer { child = nil }
        return child?.terminate(grace: grace)
    }

    private func spawn() throws {
        child = try Subprocess.start(
            launch.arguments, directory: launch.directory, environment: launch.environment,
            stdoutPath: launch.logPath, stderrPath: launch.logPath)
        startedAt = clock.now()
        restartAt = nil
    }

    deinit { stop(grace: 1) }
}
