import Config
import Foundation
import GitOpsMLCore
import HTTPClient
import TestSupport
import Testing

@testable import Agent

/// A clock that only moves when the code under test sleeps (or a transport says time passed).
final class ManualClock: HealthClock, @unchecked Sendable {
    private let time = Locked<Double>(0)
    func now() -> Double { time.withLock { $0 } }
    func sleep(_ seconds: Double) { time.withLock { $0 += max(0, seconds) } }
}

/// Answers from a script, one per request (the last repeats); `cost` seconds pass on the clock per request.
final class ScriptedTransport: @unchecked Sendable {
    let answers: [Result<(status: Int, body: String, duration: Double), HTTPError>]
    let clock: ManualClock
    let cost: Double
    private let index = Locked<Int>(0)
    private(set) var requests = Locked<[HTTPRequest]>([])

    init(
        _ answers: [Result<(status: Int, body: String, duration: Double), HTTPError>], clock: ManualClock,
        cost: Double = 0.1
    ) {
        self.answers = answers
        self.clock = clock
        self.cost = cost
    }

    func send(_ request: HTTPRequest) throws -> HTTPResponse {
        requests.withLock { $0.append(request) }
        clock.sleep(cost)
        let answer = index.withLock { position -> Result<(status: Int, body: String, duration: Double), HTTPError> in
            defer { position += 1 }
            return answers[min(position, answers.count - 1)]
        }
        switch answer {
        case .success(let value):
            return HTTPResponse(
                status: value.status, headers: [:], body: Array(value.body.utf8), duration: value.duration)
        case .failure(let error): throw error
        }
    }
}

/// A prediction request the example's serve.py answers.
let exampleCustomer =
    #"{"instances": [{"tenure_months": 3, "age": 40, "monthly_charges": 90.5, "support_calls": 4, "contract": "month-to-month", "region": "north", "paperless_billing": "true"}]}"#

private let refused = HTTPError(kind: .connection, url: "http://127.0.0.1:1/healthz", message: "Connection refused")

@Suite("Health of a rollout")
struct HealthTests {
    @Test func statusesAreOrderedAsGitopsEngineOrdersThem() {
        #expect(HealthStatus.allCases.sorted() == [.healthy, .suspended, .progressing, .missing, .degraded, .unknown])
        #expect(HealthReport(checks: []).status == .unknown)
        let mixed = HealthReport(checks: [
            .init(name: "a", status: .healthy, reason: ""), .init(name: "b", status: .progressing, reason: ""),
        ])
        #expect(mixed.status == .progressing)
    }

    @Test func aProbeWaitsForTheServerAndNeedsItsSuccessesInARow() {
        let clock = ManualClock()
        // Starting up: refused twice, then 503, then healthy three times.
        let transport = ScriptedTransport(
            [.failure(refused), .failure(refused), .success((503, "", 0.01)), .success((200, "ok", 0.01))],
            clock: clock)
        var probe = HTTPProbe(name: "healthz", url: "http://127.0.0.1:1/healthz")
        probe.successThreshold = 2
        probe.failureThreshold = 5
        let report = HealthAssessment(
            probes: [probe], smoke: nil, deadline: 30, clock: clock, transport: transport.send
        ).run()
        #expect(report.status == .healthy, "\(report)")
        #expect(transport.requests.withLock { $0.count } == 5)
        #expect(clock.now() < 5, "one period between tries, no more")
    }

    @Test func failuresInARowDegrade() {
        let clock = ManualClock()
        let transport = ScriptedTransport([.success((500, "", 0.01))], clock: clock)
        let report = HealthAssessment(
            probes: [HTTPProbe(name: "healthz", url: "http://x/healthz")], smoke: nil, deadline: 30, clock: clock,
            transport: transport.send
        ).run()
        #expect(report.status == .degraded)
        #expect(
            report.failures.first?.outcome
                == CheckOutcome(
                    name: "healthz", status: "Degraded",
                    reason: "3 failures in a row (last: HTTP 500, expected 200...299)"))
    }

    @Test func theDeadlineHoldsEvenWhenThresholdsWouldWaitLonger() {
        let clock = ManualClock()
        let transport = ScriptedTransport([.failure(refused)], clock: clock, cost: 2)
        var probe = HTTPProbe(name: "readyz", url: "http://x/readyz")
        probe.failureThreshold = 1000
        let report = HealthAssessment(
            probes: [probe], smoke: nil, deadline: 10, clock: clock, transport: transport.send
        )
        .run()
        #expect(report.status == .degraded)
        #expect(report.failures.first?.reason.hasPrefix("not healthy within the deadline of 10 s") == true)
        #expect(clock.now() <= 12.5, "stopped at the deadline: \(clock.now())")
        // Each request's timeout is cut to the time that remains.
        #expect(transport.requests.withLock { $0.allSatisfy { $0.timeout <= 2 } })
    }

    @Test(arguments: [
        ((500, "oops", 0.01), ["predictions"], "HTTP 500: oops"),
        ((200, "not json", 0.01), ["predictions"], "the answer is not JSON: not json"),
        (
            (200, #"{"predictions": [{"churn": true}]}"#, 0.01), ["predictions.0.churn_probability"],
            "the answer has no predictions.0.churn_probability"
        ),
        ((200, #"{"predictions": []}"#, 2.5), ["predictions"], "answered in 2.5 s, over the budget of 1 s"),
    ])
    func aSmokePredictionMustAnswerWellAndInTime(
        answer: (status: Int, body: String, duration: Double), fields: [String], reason: String
    ) {
        let clock = ManualClock()
        let transport = ScriptedTransport([.success((200, "ok", 0.01)), .success(answer)], clock: clock)
        let report = HealthAssessment(
            probes: [HTTPProbe(name: "healthz", url: "http://x/healthz")],
            smoke: SmokePrediction(url: "http://x/predict", body: Array("{}".utf8), requiredFields: fields),
            deadline: 30, clock: clock, transport: transport.send
        ).run()
        #expect(report.status == .degraded)
        #expect(report.failures.first?.reason == reason, "\(report)")
        #expect(transport.requests.withLock { $0.last?.method } == "POST")
    }

    @Test func agentYamlSettingsBecomeTheChecks() {
        let clock = ManualClock()
        let transport = ScriptedTransport([.success((200, #"{"predictions": [1]}"#, 0.01))], clock: clock)
        let base = "http://127.0.0.1:8080"
        // Nothing configured: the model's health path with the default thresholds, no smoke prediction.
        let plain = HealthAssessment(
            AgentConfig.Health(), base: base, healthPath: "/healthz", predictPath: "/predict", sample: nil)
        #expect(plain.probes == [HTTPProbe(name: "/healthz", url: base + "/healthz")])
        #expect(plain.smoke == nil && plain.deadline == 120)

        var probe = AgentConfig.Health.Probe(path: "/readyz")
        probe.failureThreshold = 7
        probe.period = 0.25
        let settings = AgentConfig.Health(
            deadline: 30, probes: [probe],
            smoke: .init(sample: "serving/smoke.json", requiredFields: ["predictions"], latencyBudget: 0.5))
        let full = HealthAssessment(
            settings, base: base, healthPath: "/healthz", predictPath: "/v1/predict", sample: Array("{}".utf8),
            clock: clock, transport: transport.send)
        #expect(full.probes.map(\.url) == [base + "/readyz"])
        #expect(full.probes.first?.failureThreshold == 7 && full.probes.first?.period == 0.25)
        #expect(
            full.smoke
                == SmokePrediction(
                    url: base + "/v1/predict", body: Array("{}".utf8), requiredFields: ["predictions"],
                    latencyBudget: 0.5))
        #expect(full.run().status == .healthy)
        #expect(transport.requests.withLock { $0.map(\.url) } == [base + "/readyz", base + "/v1/predict"])
    }

    @Test func noSmokePredictionAfterAFailedProbe() {
        let clock = ManualClock()
        let transport = ScriptedTransport([.failure(refused)], clock: clock)
        let report = HealthAssessment(
            probes: [HTTPProbe(name: "healthz", url: "http://x/healthz")],
            smoke: SmokePrediction(url: "http://x/predict", body: [], requiredFields: []), deadline: 30, clock: clock,
            transport: transport.send
        ).run()
        #expect(
            report.checks.last == .init(name: "smoke prediction", status: .unknown, reason: "not tried: a probe failed")
        )
        #expect(transport.requests.withLock { $0.allSatisfy { $0.method == "GET" } })
    }
}

/// The real model server of the example and a server that accepts and never answers, on 127.0.0.1.
@Suite("Health against real servers")
struct RealHealthTests {
    let temp = TemporaryDirectory("health")

    @Test func theExamplesModelServerIsHealthyAndAnswersASmokePrediction() throws {
        let project = temp.path + "/churn"
        try run(["bash", packageRoot + "/examples/churn/materialize.sh", project], timeout: 300)
        let port = TestPorts.reserve()
        let server = try Subprocess.start(
            ["python3", "serve.py", "--port", String(port), "--host", "127.0.0.1"], directory: project)
        defer { server.terminate() }
        let base = "http://127.0.0.1:\(port)"
        var probes = [
            HTTPProbe(name: "healthz", url: base + "/healthz"), HTTPProbe(name: "readyz", url: base + "/readyz"),
        ]
        for index in probes.indices { probes[index].failureThreshold = 100 }  // it takes a moment to start
        let healthy = HealthAssessment(
            probes: probes,
            smoke: SmokePrediction(
                url: base + "/predict", body: Array(exampleCustomer.utf8),
                requiredFields: ["predictions.0.churn_probability", "predictions.0.churn"], latencyBudget: 30),
            deadline: 30
        ).run()
        #expect(healthy.status == .healthy, "\(healthy)")
        let wrongShape = HealthAssessment(
            probes: probes,
            smoke: SmokePrediction(
                url: base + "/predict", body: Array(exampleCustomer.utf8), requiredFields: ["scores"]),
            deadline: 30
        ).run()
        #expect(wrongShape.status == .degraded)
        #expect(wrongShape.failures.first?.reason == "the answer has no scores")
    }

    @Test func aHealthEndpointThatHangsTimesOutWithinTheDeadline() throws {
        // Accepts connections and reads, never answers.
        let script =
            "import socket,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen(16)\nprint(s.getsockname()[1],flush=True)\nconns=[]\nwhile True:\n  c,_=s.accept();conns.append(c)\n"
        try script.write(toFile: temp.path + "/hang.py", atomically: true, encoding: .utf8)
        let server = try LoopbackServer(["python3", temp.path + "/hang.py"])
        var probe = HTTPProbe(name: "healthz", url: server.baseURL + "/healthz")
        probe.timeout = 0.5
        probe.period = 0.2
        let started = Date()
        let report = HealthAssessment(probes: [probe], smoke: nil, deadline: 4).run()
        let seconds = Date().timeIntervalSince(started)
        #expect(report.status == .degraded)
        #expect(report.failures.first?.reason.contains("3 failures in a row") == true, "\(report)")
        #expect(seconds < 30, "the assessment ended at its deadline, not stuck (a hang guard): \(seconds) s")
    }
}
