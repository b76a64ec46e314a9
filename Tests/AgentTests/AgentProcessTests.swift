import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Promotion
import TestSupport
import Testing

@testable import Agent

/// `gitops-ml agent run` as a real process: its endpoints, the webhook, SIGTERM, and SIGKILL at the worst
/// moments followed by a restart.
@Suite("The agent process", .serialized)
struct AgentProcessTests {
    static let secret = "s3cret-for-tests"

    /// The agent on a free port, its output in a log file.
    static let feedbackToken = "labels-from-the-billing-system"

    final class Running {
        let process: ChildProcess
        let base: String
        let log: String

        /// `extra` is added to the agent's environment; with `started: false` the agent may die before it
        /// listens (a kill test's agent), and nothing is expected of it.
        init(
            _ fixture: AgentFixture, name: String = "agent", extra: [String: String] = [:], started: Bool = true
        ) throws {
            let configPath = fixture.temp.path + "/agent.yaml"
            try fixture.config.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
            log = fixture.temp.path + "/\(name).log"
            var environment = gitTestEnvironment
            environment["WEBHOOK_SECRET"] = AgentProcessTests.secret
            environment["GITOPS_ML_FEEDBACK_TOKEN"] = AgentProcessTests.feedbackToken
            environment["SWIFT_BACKTRACE"] = "enable=yes,interactive=no"
            environment.merge(extra) { $1 }
            // Port 0: the agent binds a free port itself and logs it, so no other process can take it first.
            process = try Subprocess.start(
                [gitopsMLBinary, "agent", "run", "--config", configPath, "--listen", "127.0.0.1:0"],
                environment: environment, stdoutPath: log, stderrPath: log)
            var port: Int?
            let log = log
            let process = process
            waitUntil(60) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                port = text.components(separatedBy: "listening on 127.0.0.1:").dropFirst().first.flatMap {
                    Int($0.prefix { $0.isNumber })
                }
                return port != nil || !process.isRunning
            }
            base = "http://127.0.0.1:\(port ?? 0)"
            guard started else { return }
            #expect(port != nil, "the agent did not say where it listens: \(output())")
            #expect(waitUntil(30) { get("/healthz")?.status == 200 }, "the agent did not start: \(output())")
        }

        func get(_ path: String) -> HTTPResponse? {
            try? HTTPClient.perform(HTTPRequest("GET", base + path, timeout: 5))
        }

        func status() throws -> AgentStatus {
            let body = try #require(get("/status")).body
            return try JSONDecoder().decode(AgentStatus.self, from: Data(body))
        }

        func webhook(_ body: String, signature: String?) throws -> HTTPResponse {
            var headers = [("X-GitHub-Event", "push"), ("Content-Type", "application/json")]
            if let signature { headers.append(("X-Hub-Signature-256", signature)) }
            return try HTTPClient.perform(
                HTTPRequest("POST", base + "/webhook", headers: headers, body: Array(body.utf8), timeout: 5))
        }

        func output() -> String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        /// SIGTERM, and its exit status once it has exited.
        @discardableResult
        func stop() -> Int32 {
            kill(process.pid, SIGTERM)
            return process.waitForExit()
        }

        /// The passes the agent has counted for the environment `local` (its sync_total metric).
        func passes() -> Int? {
            let prefix = #"gitops_ml_agent_sync_total{environment="local"} "#
            let line = (get("/metrics")?.text ?? "").split(separator: "\n").first { $0.hasPrefix(prefix) }
            return line.flatMap { Int($0.dropFirst(prefix.count)) }
        }

        /// Waits until `condition` holds, checking every 20 ms, up to `seconds`.
        func wait(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                if try condition() { return true }
                usleep(20_000)
            }
            return try condition()
        }
    }

    static func push(_ branch: String) -> String { #"{"ref": "refs/heads/\#(branch)", "after": "0"}"# }

    static func signature(_ body: String) throws -> String {
        try GitHubWebhook(secret: secret, branches: []).signature(of: Array(body.utf8))
    }

    @Test func webhooksTriggerPassesAndSIGTERMStopsEverything() throws {
        let fixture = try AgentFixture("agent-process", deadline: 15)
        fixture.config.interval = 3600  // after the first pass, only the webhook triggers one
        fixture.config.webhookSecretVariable = "WEBHOOK_SECRET"
        try fixture.promote("main", version: "v1.0.0")
        let agent = try Running(fixture)
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" }, "\(agent.output())")
        #expect(agent.wait(5) { agent.get("/readyz")?.status == 200 })
        let first = try agent.status()
        #expect(first.environments["local"]?.health == "Healthy")

        // The model server holds none of the agent's files: not its listening socket (a server outliving a
        // killed agent would keep the port from the next one), not its state lock, not its mirror's packs.
        func openFiles(_ pid: Int32) -> Set<String> {
            let folder = "/proc/\(pid)/fd"
            return Set(
                ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap {
                    try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/" + $0)
                })
        }
        let state = try StateStore(path: fixture.config.stateDirectory + "/state.json").peek()
        let server = try #require(state.environments["local"]?.serverProcessGroup)
        let shared = openFiles(server).intersection(openFiles(agent.process.pid)).filter {
            !$0.hasPrefix("/dev/") && !$0.hasSuffix(".log") && !$0.hasPrefix("pipe:")
        }
        #expect(shared.isEmpty, "the model server inherited \(shared.sorted())")

        // Refused webhooks trigger no pass: with an hour's interval, the one accepted below is the only
        // second pass, so the pass counter ends at 2 (a refused one that triggered would make a third).
        let body = Self.push("gitops")
        #expect(try agent.webhook(body, signature: nil).status == 401)
        #expect(try agent.webhook(body, signature: "sha256=" + String(repeating: "0", count: 64)).status == 401)
        #expect(try agent.webhook(body, signature: Self.signature(body + " ")).status == 401)
        #expect(agent.output().components(separatedBy: "status=401").count - 1 == 3, "\(agent.output())")
        let second = try fixture.promote("challenger/better", version: "v2.0.0")

        let sent = Date()
        #expect(try agent.webhook(body, signature: Self.signature(body)).status == 202)
        #expect(agent.wait(30) { fixture.serving() == "v2.0.0" })
        print("webhook to healthy: \(String(format: "%.2f", Date().timeIntervalSince(sent))) s")
        #expect(agent.wait(5) { (try? agent.status().environments["local"]?.lastApplied) == second })

        // `/status` follows the state during a pass; the metrics are recorded when the pass ends.
        var metrics = ""
        #expect(
            agent.wait(5) {
                metrics = agent.get("/metrics")?.text ?? ""
                return metrics.contains(#"gitops_ml_agent_sync_total{environment="local"} 2"#)
            }, "\(metrics)")
        #expect(
            metrics.contains(#"gitops_ml_agent_applied_revision_info{environment="local",revision="\#(second)"} 1"#))

        // The webhook secret never reaches the log.
        kill(agent.process.pid, SIGTERM)
        #expect(agent.process.waitForExit() == 0, "\(agent.output())")
        #expect(fixture.serving() == nil, "the model server outlived the agent")
        #expect(!agent.output().contains(Self.secret))
    }

    @Test func aSIGKILLDuringApplyOrRollbackIsFinishedByTheNextAgentAndNothingIsAppliedTwice() throws {
        let fixture = try AgentFixture("agent-kill", deadline: 15)
        fixture.config.interval = 0.5
        try fixture.promote("main", version: "v1.0.0")
        var agent = try Running(fixture, name: "agent-1")
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" }, "\(agent.output())")
        let statePath = fixture.config.stateDirectory + "/state.json"
        func inFlight() -> AgentState.InFlight? {
            guard let bytes = FileManager.default.contents(atPath: statePath) else { return nil }
            return (try? JSONDecoder().decode(AgentState.self, from: bytes))?.environments["local"]?.inFlight
        }

        // Killed while the new release starts: the next agent stops the leftover server and tries it again.
        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        #expect(agent.wait(30) { inFlight()?.phase == .applying })
        kill(agent.process.pid, SIGKILL)
        _ = agent.process.waitForExit()
        agent = try Running(fixture, name: "agent-2")
        #expect(
            agent.wait(30) {
                fixture.serving() == "v2.0.0" && (try? agent.status().environments["local"]?.lastApplied) == second
            })

        // Killed while the last healthy release is being put back: the next agent finishes the rollback.
        let third = try fixture.promote("broken", version: "v3.0.0")
        #expect(agent.wait(30) { inFlight()?.phase == .restoring }, "\(agent.output())")
        kill(agent.process.pid, SIGKILL)
        _ = agent.process.waitForExit()
        agent = try Running(fixture, name: "agent-3")
        #expect(
            agent.wait(30) { (try? fixture.originTip()) != third && fixture.serving() == "v2.0.0" }, "\(agent.output())"
        )
        // Three more passes: none may apply v3 again or write a second revert.
        let passes = agent.passes() ?? 0
        #expect(agent.wait(30) { (agent.passes() ?? 0) >= passes + 3 }, "\(agent.output())")

        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: second), in: remote).map(\.outcome) == [.healthy])
        #expect(try DeploymentNotes.records(for: ObjectID(hex: third), in: remote).map(\.outcome) == [.failed])
        let reverts = try git(
            "log", "--format=%H", "--grep=Gitops-Ml-Rollback-Of: \(third)", "gitops", in: fixture.origin)
        #expect(reverts.split(separator: "\n").count == 1)
        #expect(try git("rev-parse", "gitops^", in: fixture.origin) == third)
        kill(agent.process.pid, SIGTERM)
        #expect(agent.process.waitForExit() == 0)
    }

    /// A webhook without a signature header is answered before its body is read (a client that declares
    /// 1 MB and sends nothing gets its 401 at once), and the connection is closed after it.
    @Test func anUnsignedWebhookIsRefusedBeforeItsBodyIsRead() throws {
        let fixture = try AgentFixture("agent-webhook-unread")
        fixture.config.interval = 3600
        fixture.config.webhookSecretVariable = "WEBHOOK_SECRET"
        let agent = try Running(fixture)
        defer { agent.stop() }
        let port = try #require(agent.base.split(separator: ":").last.map(String.init))
        let script = """
            import socket
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=20)
            s.sendall(b"POST /webhook HTTP/1.1\\r\\nHost: x\\r\\nX-GitHub-Event: push\\r\\nContent-Length: 1048576\\r\\n\\r\\n")
            answer = s.recv(4096).decode()
            print(answer.split("\\r\\n")[0]); print("close" if "connection: close" in answer.lower() else "keep")
            """
        let output = try run(["python3", "-c", script], timeout: 60)
        #expect(output == "HTTP/1.1 401 Unauthorized\nclose\n", "\(output)")
    }

    /// An agent whose endpoint port is taken stops at once, exit 3, naming the address: it does not go on
    /// deploying with no endpoint (and deaf to SIGTERM), as it did.
    @Test func aTakenListenPortIsAnEnvironmentErrorNamingTheAddress() throws {
        let fixture = try AgentFixture("agent-port-taken")
        let configPath = fixture.temp.path + "/agent.yaml"
        try fixture.config.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let taken = try LoopbackServer.echo()
        let result = try Subprocess.run(
            [gitopsMLBinary, "agent", "run", "--config", configPath, "--listen", "127.0.0.1:\(taken.port)"],
            environment: gitTestEnvironment, timeout: 60)
        #expect(!result.timedOut, "the agent kept running without its endpoint")
        #expect(result.status == 3, "\(result.stderrText)")
        let last = result.stderrText.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("gitops-ml: error: the agent's endpoints on 127.0.0.1:\(taken.port) failed"), "\(last)")
        #expect(last.contains("Address already in use"), "\(last)")
        #expect(fixture.serving() == nil, "no model server outlived it")
    }

    @Test func anUnreachableRemoteIsRetriedAndRecoveredFrom() throws {
        let fixture = try AgentFixture("agent-unreachable")
        fixture.config.interval = 0.5
        try fixture.promote("main", version: "v1.0.0")
        let agent = try Running(fixture)
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" })
        let moved = fixture.origin + ".away"
        try FileManager.default.moveItem(atPath: fixture.origin, toPath: moved)
        #expect(
            agent.wait(10) {
                (try? agent.status().environments["local"]?.conditions.first?.reason.hasPrefix("fetch:")) == true
            })
        #expect(fixture.serving() == "v1.0.0", "what runs keeps running while the remote is away")
        try FileManager.default.moveItem(atPath: moved, toPath: fixture.origin)
        let second = try fixture.promote("challenger/better", version: "v2.0.0")
        #expect(agent.wait(30) { fixture.serving() == "v2.0.0" }, "\(agent.output())")
        #expect(agent.wait(5) { (try? agent.status().environments["local"]?.lastApplied) == second })
        kill(agent.process.pid, SIGTERM)
        #expect(agent.process.waitForExit() == 0)
        // One log format: what the libraries log (each fetch) comes out through the agent's swift-log logger.
        let lines = agent.output().split(separator: "\n")
        #expect(lines.contains { $0.contains("info gitops-ml.agent") && $0.contains("fetch") }, "\(agent.output())")
        #expect(!lines.contains { $0.hasPrefix("level=") }, "\(agent.output())")
    }

    @Test func onceAppliesAndExitsAndStatusReadsTheStateWithoutAnAgent() throws {
        let fixture = try AgentFixture("agent-once", deadline: 10)
        let configPath = fixture.temp.path + "/agent.yaml"
        try fixture.config.yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        let first = try fixture.promote("main", version: "v1.0.0")
        let once = try gitopsML(["agent", "once", "--config", configPath], in: fixture.temp.path)
        #expect(once.status == 0, "\(once.stderrText)")
        let status = try JSONDecoder().decode(AgentStatus.self, from: Data(once.stdout))
        #expect(status.environments["local"]?.lastApplied == first)
        #expect(fixture.serving() == nil, "agent once leaves no server behind")

        let broken = try fixture.promote("broken", version: "v2.0.0")
        let failed = try gitopsML(["agent", "once", "--config", configPath], in: fixture.temp.path)
        #expect(failed.status == 1)
        #expect(failed.stderrText.contains("local: rolled back \(broken.prefix(12))"), "\(failed.stderrText)")

        let read = try gitopsML(["agent", "status", "--config", configPath], in: fixture.temp.path)
        #expect(read.status == 0)
        let after = try JSONDecoder().decode(AgentStatus.self, from: Data(read.stdout))
        #expect(after.environments["local"]?.lastFailed == broken)
        #expect(after.environments["local"]?.conditions.first?.reason.hasPrefix("RolledBack") == true)

        try "{not json".write(toFile: fixture.config.stateDirectory + "/state.json", atomically: true, encoding: .utf8)
        let corrupt = try gitopsML(["agent", "status", "--config", configPath], in: fixture.temp.path)
        #expect(corrupt.status == 3)
        #expect(corrupt.stderrText.contains("is corrupt"))
        let missing = try gitopsML(
            ["agent", "once", "--config", fixture.temp.path + "/absent.yaml"], in: fixture.temp.path)
        #expect(missing.status == 2)
    }
}
