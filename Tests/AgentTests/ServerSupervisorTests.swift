import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Agent

/// Real child processes; only the restart schedule runs on a manual clock.
@Suite("Supervising the model server on this host")
struct ServerSupervisorTests {
    let temp = TemporaryDirectory("supervisor")

    func launch(_ script: String, inherited: [String: String] = ProcessInfo.processInfo.environment) throws
        -> ServerLaunch
    {
        let path = temp.path + "/server-\(UUID().uuidString.prefix(6)).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return ServerLaunch(
            arguments: ["python3", path], directory: temp.path, modelPath: temp.path + "/model.json", port: 18_080,
            version: "v1.2.0", logPath: temp.path + "/server.log", inherited: inherited)
    }

    /// Polls until the crash is noticed (the kill takes a moment to land), without moving the clock.
    func crash(of supervisor: ServerSupervisor) throws -> ServerSupervisor.Event? {
        let pid = try #require(supervisor.pid)
        kill(pid, SIGKILL)
        for _ in 0..<300 {
            if let event = supervisor.poll() { return event }
            usleep(10_000)
        }
        return nil
    }

    func waitForFile(_ path: String) -> Bool {
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        return FileManager.default.fileExists(atPath: path)
    }

    @Test func theServerGetsTheModelPortAndVersionButNotTheAgentsSecrets() throws {
        let out = temp.path + "/env.json"
        let script =
            "import json,os,time\njson.dump(dict(os.environ),open('\(out).tmp','w'))\nos.rename('\(out).tmp','\(out)')\ntime.sleep(30)\n"
        var inherited = ProcessInfo.processInfo.environment
        inherited["GITHUB_TOKEN"] = "ghp_secret"
        inherited["GITOPS_ML_WEBHOOK_SECRET"] = "hush"
        let supervisor = ServerSupervisor(try launch(script, inherited: inherited))
        try supervisor.start()
        #expect(waitForFile(out))
        let environment = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: String])
        #expect(environment["GITOPS_ML_MODEL_PATH"] == temp.path + "/model.json")
        #expect(environment["GITOPS_ML_MODEL_VERSION"] == "v1.2.0")
        #expect(environment["GITOPS_ML_PORT"] == "18080" && environment["PORT"] == "18080")
        #expect(environment["GITHUB_TOKEN"] == nil && environment["GITOPS_ML_WEBHOOK_SECRET"] == nil)
        #expect(supervisor.stop(grace: 2) == 128 + SIGTERM)
        #expect(supervisor.pid == nil)
    }

    @Test func aCrashedServerIsRestartedWithBackoffThatResetsOnceItIsStable() throws {
        let clock = ManualClock()
        let supervisor = ServerSupervisor(
            try launch("import time\ntime.sleep(60)\n"), clock: clock,
            backoff: Backoff(initial: 1, maximum: 3), stableAfter: 60)
        try supervisor.start()
        let first = try #require(supervisor.pid)
        #expect(supervisor.poll() == nil, "running: nothing to do")

        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 1))
        #expect(supervisor.poll() == nil, "not due yet")
        clock.sleep(1)
        guard case .restarted(let second, 1) = supervisor.poll() else {
            Issue.record("no restart once due")
            return
        }
        #expect(second != first && supervisor.pid == second)

        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 2))
        clock.sleep(2)
        guard case .restarted(_, 2) = supervisor.poll() else {
            Issue.record("no second restart")
            return
        }
        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 3), "capped at the maximum")
        clock.sleep(3)
        _ = supervisor.poll()
        clock.sleep(60)
        #expect(supervisor.poll() == nil)
        #expect(supervisor.crashesInARow == 0, "stable for a minute: the next crash starts from 1 s again")
        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 1))
        supervisor.stop()
        clock.sleep(10)
        #expect(supervisor.poll() == nil && supervisor.pid == nil, "a stopped server is not restarted")
    }

    @Test func aServerThatIgnoresSIGTERMIsKilledAfterTheGracePeriod() throws {
        let ready = temp.path + "/ready"
        let script =
            "import signal,time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nopen('\(ready)','w').close()\ntime.sleep(60)\n"
        let supervisor = ServerSupervisor(try launch(script))
        try supervisor.start()
        #expect(waitForFile(ready))
        let started = Date()
        #expect(supervisor.stop(grace: 0.5) == 128 + SIGKILL)
        let seconds = Date().timeIntervalSince(started)
        // It waited out the grace period, then killed: a hang guard (the script sleeps 60 s), not a benchmark.
        #expect(seconds >= 0.5 && seconds < 30, "\(seconds) s")
    }

    @Test func aRestartThatCannotStartIsRetriedLater() throws {
        let clock = ManualClock()
        let program = temp.path + "/vanishing-server"
        try "#!/bin/sh\nexec sleep 60\n".write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        let launch = ServerLaunch(
            arguments: [program], modelPath: "m", port: 1, version: "v", logPath: temp.path + "/log")
        let supervisor = ServerSupervisor(launch, clock: clock)
        try supervisor.start()
        try FileManager.default.removeItem(atPath: program)
        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 1))
        clock.sleep(1)
        guard case .restartFailed(let reason, 2) = supervisor.poll() else {
            Issue.record("the failed restart was not reported")
            return
        }
        #expect(reason.contains("vanishing-server"), "\(reason)")
        try "#!/bin/sh\nexec sleep 60\n".write(toFile: program, atomically: true, encoding: .utf8)
        chmod(program, 0o755)
        clock.sleep(2)
        guard case .restarted = supervisor.poll() else {
            Issue.record("no restart once the program is back")
            return
        }
        #expect(supervisor.pid != nil)
    }

    /// The example's real model server: healthy, killed, restarted by the supervisor, healthy again.
    @Test func theExamplesModelServerComesBackAfterACrash() throws {
        let project = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        let clock = ManualClock()
        let port = TestPorts.reserve()
        let launch = ServerLaunch(
            arguments: ["python3", "serve.py", "--host", "127.0.0.1", "--port", String(port), "--version", "v1"],
            directory: project, modelPath: project + "/model/model.json", port: port, version: "v1",
            logPath: temp.path + "/serve.log")
        let supervisor = ServerSupervisor(launch, clock: clock)
        try supervisor.start()
        defer { supervisor.stop(grace: 2) }
        var probe = HTTPProbe(name: "readyz", url: "http://127.0.0.1:\(port)/readyz")
        probe.failureThreshold = 100
        probe.period = 0.1
        let assessment = HealthAssessment(probes: [probe], smoke: nil, deadline: 20)
        #expect(assessment.run().status == .healthy)
        #expect(try crash(of: supervisor) == .crashed(status: 128 + SIGKILL, restartIn: 1))
        clock.sleep(1)
        guard case .restarted = supervisor.poll() else {
            Issue.record("not restarted")
            return
        }
        #expect(assessment.run().status == .healthy, "serving again after the restart")
    }
}
