import Foundation
import GitOpsMLCore
import HTTPClient
import TestSupport
import Testing

@testable import Agent

/// The example's real serve.py on one stable port: upgrades, a model that fails its smoke prediction, a
/// server that cannot start, each rolled back to the release that ran before.
@Suite("The local target's rollouts")
struct LocalTargetTests {
    let temp = TemporaryDirectory("local-target")

    @Test func upgradesAreCheckedAndFailedOnesRolledBack() throws {
        let project = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        // A model expecting a feature no request has: it starts, and answers every prediction with 400.
        var broken = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: project + "/model/model.json")))
                as? [String: Any])
        broken["numeric"] = (broken["numeric"] as? [String] ?? []) + ["mystery"]
        try JSONSerialization.data(withJSONObject: broken).write(to: URL(fileURLWithPath: project + "/broken.json"))

        let port = TestPorts.reserve()
        func release(_ version: String, model: String = "model/model.json") -> LocalTarget.Release {
            LocalTarget.Release(
                commit: String(repeating: version.last.map(String.init) ?? "0", count: 40),
                launch: ServerLaunch(
                    arguments: [
                        "python3", "serve.py", "--host", "127.0.0.1", "--port", String(port), "--model", model,
                        "--version", version,
                    ], directory: project, modelPath: project + "/" + model, port: port, version: version,
                    logPath: temp.path + "/serve-\(version).log"))
        }
        var probe = HTTPProbe(name: "readyz", url: "http://127.0.0.1:\(port)/readyz")
        probe.period = 0.1
        probe.failureThreshold = 30
        let health = HealthAssessment(
            probes: [probe],
            smoke: SmokePrediction(
                url: "http://127.0.0.1:\(port)/predict", body: Array(exampleCustomer.utf8),
                requiredFields: ["predictions.0.churn_probability", "model_version"], latencyBudget: 30),
            deadline: 15)
        func serving() throws -> String? {
            let answer = try HTTPClient.perform(HTTPRequest("GET", "http://127.0.0.1:\(port)/readyz", timeout: 2))
            let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
            return object?["version"] as? String
        }

        let target = LocalTarget(grace: 2)
        defer { target.stop() }
        guard case .healthy = target.roll(to: release("v1"), health: health) else {
            Issue.record("v1 did not deploy")
            return
        }
        #expect(try serving() == "v1")
        guard case .healthy = target.roll(to: release("v2"), health: health) else {
            Issue.record("v2 did not deploy")
            return
        }
        #expect(try serving() == "v2")

        let started = Date()
        let outcome = target.roll(to: release("v3", model: "broken.json"), health: health)
        let seconds = Date().timeIntervalSince(started)
        guard case .rolledBack(let failed, let restored) = outcome else {
            Issue.record("not rolled back: \(outcome)")
            return
        }
        #expect(failed.failures.map(\.name) == ["smoke prediction"])
        #expect(failed.failures.first?.reason.hasPrefix("HTTP 400") == true, "\(failed)")
        #expect(restored.status == .healthy && target.running == release("v2"))
        #expect(try serving() == "v2", "the release that ran before serves again")
        #expect(seconds < 60, "rolled back at the deadline, not stuck (a hang guard): \(seconds) s")

        guard case .rolledBack(let crashed, _) = target.roll(to: release("v4", model: "absent.json"), health: health)
        else {
            Issue.record("a server that cannot start was not rolled back")
            return
        }
        #expect(crashed.checks.last?.reason.hasPrefix("exited during the checks") == true, "\(crashed)")
        #expect(try serving() == "v2")

        target.stop()
        #expect(throws: HTTPError.self) { try serving() }
    }

    @Test func aFailedFirstReleaseIsStoppedNotLeftServing() throws {
        let port = TestPorts.reserve()
        let launch = ServerLaunch(
            arguments: ["python3", "-c", "import time; time.sleep(60)"], modelPath: "m", port: port, version: "v1",
            logPath: temp.path + "/log")
        var probe = HTTPProbe(name: "readyz", url: "http://127.0.0.1:\(port)/readyz")
        probe.period = 0.1
        probe.failureThreshold = 5
        let target = LocalTarget(grace: 1)
        let outcome = target.roll(
            to: .init(commit: String(repeating: "1", count: 40), launch: launch),
            health: HealthAssessment(probes: [probe], smoke: nil, deadline: 5))
        guard case .failed(let report, nil) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(report.status == .degraded && target.running == nil)
    }
}
