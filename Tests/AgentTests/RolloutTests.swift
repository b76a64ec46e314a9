import Config
import Foundation
import Gates
import GitOpsMLCore
import GitStore
import HTTPClient
import Promotion
import Synchronization
import TestSupport
import Testing

@testable import Agent

/// Canary and shadow rollouts on the local target behind the agent's proxy, with real model servers and
/// live traffic: a version that is worse only on production's requests is stepped back and reverted by a
/// commit that carries the analysis; a good one reaches 100 %; a shadow reports its disagreement.
@Suite("Rollouts behind the proxy", .serialized)
struct RolloutTests {
    /// The fixture with the proxy on its port and the servers behind it, and a branch `discount` whose
    /// model needs a feature production sends on only half of its requests (its smoke sample has it).
    static func fixture(_ name: String) throws -> AgentFixture {
        let fixture = try AgentFixture(name)
        fixture.config.environments[0].upstreams = [TestPorts.reserve(), TestPorts.reserve()]
        try git("checkout", "-q", "-b", "discount", "main", in: fixture.project)
        let modelFile = fixture.project + "/model/model.json"
        var model =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: modelFile))) as? [String: Any]
            ?? [:]
        model["numeric"] = (model["numeric"] as? [String] ?? []) + ["discount"]
        var scaling = model["scaling"] as? [String: Any] ?? [:]
        scaling["discount"] = [0, 1]
        model["scaling"] = scaling
        try JSONSerialization.data(withJSONObject: model).write(to: URL(fileURLWithPath: modelFile))
        let smoke = fixture.project + "/smoke.json"
        let sample = try String(contentsOfFile: smoke, encoding: .utf8)
        try sample.replacingOccurrences(of: "\"region\"", with: "\"discount\": 0.1, \"region\"")
            .write(toFile: smoke, atomically: true, encoding: .utf8)
        _ = try commitFiles([:], message: "A model that needs a discount", in: fixture.project)
        try git("checkout", "-q", "main", in: fixture.project)
        try git("push", "-q", fixture.origin, "discount", in: fixture.project)
        return fixture
    }

    /// Requests to the stable port until stopped, half of them without the discount; their statuses.
    final class Traffic: @unchecked Sendable {
        let stopped = Atomic<Bool>(false)
        let statuses = Mutex<[Int: Int]>([:])
        let done = DispatchSemaphore(value: 0)

        /// `pause`: seconds between two requests (a slower stream takes longer to decide).
        init(port: Int, pause: Double = 0) {
            Thread { [self] in
                var index = 0
                while !stopped.load(ordering: .relaxed) {
                    if pause > 0 { Thread.sleep(forTimeInterval: pause) }
                    index += 1
                    let discount = index % 2 == 0 ? "\"discount\": 0.2, " : ""
                    let body =
                        "{\"instances\": [{\(discount)\"tenure_months\": \(index % 60), \"age\": 40, \"monthly_charges\": 70.5, "
                        + "\"support_calls\": 1, \"contract\": \"month-to-month\", \"region\": \"north\", \"paperless_billing\": \"true\"}]}"
                    var request = HTTPRequest("POST", "http://127.0.0.1:\(port)/predict", timeout: 30)
                    request.body = Array(body.utf8)
                    request.headers.append((name: "Content-Type", value: "application/json"))
                    let status = (try? HTTPClient.perform(request).status) ?? 0
                    statuses.withLock { $0[status, default: 0] += 1 }
                }
                done.signal()
            }.start()
        }

        func stop() -> [Int: Int] {
            stopped.store(true, ordering: .relaxed)
            done.wait()
            return statuses.withLock { $0 }
        }
    }

    static func canary(errors: Double = 0.05) -> RolloutSettings {
        var settings = RolloutSettings(strategy: .canary)
        settings.steps = [10, 50, 100]
        settings.minimumRequests = 100
        settings.maximumDuration = 120
        settings.errorsMargin = errors
        return settings
    }

    @Test func aCanaryWorseOnlyOnLiveTrafficIsSteppedBackAndRevertedWithTheAnalysis() throws {
        let fixture = try Self.fixture("canary-bad")
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        #expect(fixture.serving() == "v1.0.0", "the proxy serves the first release on the stable port")

        let bad = try fixture.promote("discount", version: "v1.1.0", rollout: Self.canary())
        let traffic = Traffic(port: fixture.port)
        let result = agent.pass()["local"]
        let statuses = traffic.stop()
        #expect(result == .rolledBack(failed: bad, restored: first), "\(String(describing: result))")
        #expect(fixture.serving() == "v1.0.0")
        // The proxy answered every request; only the canary's share failed (400: it refuses half the inputs).
        #expect(statuses[0] == nil && statuses[502] == nil, "\(statuses)")

        let revert = try fixture.originTip()
        let message = try git("log", "-1", "--format=%B", revert, in: fixture.origin)
        #expect(message.contains("Gitops-Ml-Rollback-Of: \(bad)"))
        #expect(message.contains("canary: observation"), "\(message)")
        #expect(message.contains("roll back at 10 %"), "\(message)")
        let remote = try Repository(at: fixture.origin, discover: false)
        let records = try DeploymentNotes.records(for: ObjectID(hex: bad), in: remote)
        let analysis = try #require(records.first?.checks.first { $0.name == "rollout analysis" })
        #expect(analysis.status == "Degraded")
        #expect(analysis.reason.contains("errors: challenger") && analysis.reason.contains("mixture SPRT"))

        // /status and /metrics show the decision and the evidence.
        let progress = try #require(agent.proxies["local"]?.progress)
        #expect(progress.strategy == "canary" && progress.events.last?.action == .rollBack)
        let metrics = AgentMetrics()
        metrics.rollout(environment: "local", progress)
        let text = metrics.exposition()
        #expect(
            text.contains("gitops_ml_agent_rollout_decision{environment=\"local\",strategy=\"canary\"} -1"), "\(text)")
        #expect(
            text.contains(
                "gitops_ml_agent_rollout_difference{environment=\"local\",strategy=\"canary\",signal=\"errors\",bound=\"lower\"}"
            ))

        // The outcomes file replays to the same decision.
        let outcomes = try Data(
            contentsOf: URL(fileURLWithPath: fixture.config.stateDirectory + "/rollout-local.jsonl"))
        let replay = RolloutReplay.run(
            try OutcomeRecord.read(Array(outcomes), file: "outcomes"), settings: Self.canary())
        #expect(replay.decision == "roll-back")
        #expect(analysis.reason.contains("observation \(replay.events.last?.observation ?? -1):"))
    }

    /// Whoever can push the environment branch writes the record; the default branch's PromotionPolicy
    /// decides how the release is judged. A record asking for a margin nothing fails is judged by the
    /// policy's canary and rolled back.
    @Test func theRecordCannotLoosenThePolicysRollout() throws {
        let fixture = try Self.fixture("canary-policy")
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: PromotionPolicy
            metadata: {name: live-rollout}
            spec:
              environments:
                local:
                  rollout: {strategy: canary, steps: [10, 50, 100], min_requests: 100, errors: 0.05, max_duration: 2m}
            """, to: "policies/live-rollout.yaml", in: fixture.project)
        _ = try commitFiles([:], message: "The local environment rolls out as a canary", in: fixture.project)
        try git("push", "-q", fixture.origin, "main", in: fixture.project)
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        var loose = Self.canary(errors: 0.9)
        loose.onBudget = .promote
        let bad = try fixture.promote("discount", version: "v1.1.0", rollout: loose)
        let traffic = Traffic(port: fixture.port)
        let result = agent.pass()["local"]
        _ = traffic.stop()
        #expect(result == .rolledBack(failed: bad, restored: first), "\(String(describing: result))")
        let message = try git("log", "-1", "--format=%B", try fixture.originTip(), in: fixture.origin)
        #expect(message.contains("worse by more than the margin 0.05"), "\(message)")
    }

    @Test func aGoodCanaryStepsToAHundredPercentWithoutAGap() throws {
        let fixture = try Self.fixture("canary-good")
        let (agent, _) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        let good = try fixture.promote("main", version: "v1.2.0", rollout: Self.canary())
        let traffic = Traffic(port: fixture.port)
        let result = agent.pass()["local"]
        let statuses = traffic.stop()
        #expect(result == .applied(good), "\(String(describing: result))")
        #expect(fixture.serving() == "v1.2.0")
        #expect(Set(statuses.keys) == [200], "every request answered throughout: \(statuses)")
        let remote = try Repository(at: fixture.origin, discover: false)
        let records = try DeploymentNotes.records(for: ObjectID(hex: good), in: remote)
        let analysis = try #require(records.first?.checks.first { $0.name == "rollout analysis" })
        #expect(analysis.status == "Healthy")
        #expect(analysis.reason.contains("complete at 100 %"), "\(analysis.reason)")
    }

    @Test func aShadowReportsDisagreementAndIsNeverAnswered() throws {
        let fixture = try Self.fixture("shadow")
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }
        var shadow = RolloutSettings(strategy: .shadow)
        shadow.minimumRequests = 100
        shadow.maximumDuration = 120
        shadow.field = "predictions.0.churn_probability"
        shadow.disagreementMargin = 0.05
        // The discount model answers the requests that have one differently (and refuses the others).
        let bad = try fixture.promote("discount", version: "v1.3.0", rollout: shadow)
        let traffic = Traffic(port: fixture.port)
        let result = agent.pass()["local"]
        let statuses = traffic.stop()
        #expect(result == .rolledBack(failed: bad, restored: first), "\(String(describing: result))")
        // The shadow's refusals never reached a client: the champion answered everything.
        #expect(Set(statuses.keys) == [200], "\(statuses)")
        let message = try git("log", "-1", "--format=%B", try fixture.originTip(), in: fixture.origin)
        #expect(message.contains("shadow: observation"), "\(message)")
        #expect(message.contains("worse by more than the margin"), "\(message)")
    }

    /// An agent killed in the middle of a canary (its proxy dies with it) and started again: the next agent
    /// serves the last healthy release first, judges the canary again from the start on new traffic, and
    /// rolls it back once — one revert, one failed note, never a second.
    @Test func anAgentKilledMidCanaryJudgesItAgainAndRevertsOnce() throws {
        let fixture = try Self.fixture("canary-killed")
        fixture.config.interval = 0.5
        try fixture.promote("main", version: "v1.0.0")
        var agent = try AgentProcessTests.Running(fixture, name: "agent-1")
        #expect(agent.wait(60) { fixture.serving() == "v1.0.0" }, "\(agent.output())")
        let outcomes = fixture.config.stateDirectory + "/rollout-local.jsonl"
        func recorded() -> Int {
            ((try? String(contentsOfFile: outcomes, encoding: .utf8)) ?? "").split(separator: "\n").count
        }
        let bad = try fixture.promote("discount", version: "v1.1.0", rollout: Self.canary())
        let traffic = Traffic(port: fixture.port, pause: 0.02)
        #expect(agent.wait(60) { recorded() >= 3 }, "the canary began: \(agent.output())")
        kill(agent.process.pid, SIGKILL)
        _ = agent.process.waitForExit()
        #expect(try fixture.originTip() == bad, "killed before any decision")

        agent = try AgentProcessTests.Running(fixture, name: "agent-2")
        defer { agent.stop() }
        #expect(
            agent.wait(90) { (try? fixture.originTip()) != bad && fixture.serving() == "v1.0.0" },
            "\(agent.output())")
        let passes = agent.passes() ?? 0
        #expect(
            agent.wait(30) { (agent.passes() ?? 0) >= passes + 3 },
            "the agent answers its passes (exit \(agent.process.isRunning ? -1 : agent.process.waitForExit())): \(agent.output())"
        )
        let statuses = traffic.stop()
        #expect(statuses[200, default: 0] > 0, "\(statuses)")
        let remote = try Repository(at: fixture.origin, discover: false)
        #expect(try DeploymentNotes.records(for: ObjectID(hex: bad), in: remote).map(\.outcome) == [.failed])
        let reverts = try git(
            "log", "--format=%H", "--grep=Gitops-Ml-Rollback-Of: \(bad)", "gitops", in: fixture.origin)
        #expect(reverts.split(separator: "\n").count == 1)
        let message = try git("log", "-1", "--format=%B", try fixture.originTip(), in: fixture.origin)
        #expect(message.contains("roll back at 10 %"), "judged again on live traffic: \(message)")
    }

    /// Labels arrive after the answers: a canary that answers every request (no errors, no latency) but
    /// whose probabilities are far from what later turns out true is rolled back on the `labels` rule, fed
    /// through the agent's `/feedback` endpoint by request id. The endpoint takes labels only with the
    /// environment's bearer token.
    @Test func labelsSentLaterRollBackACanaryWhosePredictionsAreWrong() throws {
        let fixture = try Self.fixture("canary-labels")
        try git("checkout", "-q", "-b", "overconfident", "main", in: fixture.project)
        let modelFile = fixture.project + "/model/model.json"
        var model =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: modelFile))) as? [String: Any]
            ?? [:]
        model["bias"] = (model["bias"] as? Double ?? 0) + 6
        try JSONSerialization.data(withJSONObject: model).write(to: URL(fileURLWithPath: modelFile))
        _ = try commitFiles([:], message: "A model that predicts churn for everyone", in: fixture.project)
        try git("checkout", "-q", "main", in: fixture.project)
        try git("push", "-q", fixture.origin, "overconfident", in: fixture.project)
        fixture.config.environments[0].feedbackTokenVariable = "GITOPS_ML_FEEDBACK_TOKEN"
        fixture.config.interval = 0.5
        try fixture.promote("main", version: "v1.0.0")
        let agent = try AgentProcessTests.Running(fixture)
        defer { agent.stop() }
        #expect(agent.wait(60) { fixture.serving() == "v1.0.0" }, "\(agent.output())")

        func post(_ body: String, token: String?, environment: String = "local") throws -> HTTPResponse {
            var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
            if let token { headers.append(("Authorization", "Bearer \(token)")) }
            return try HTTPClient.perform(
                HTTPRequest(
                    "POST", agent.base + "/feedback/\(environment)", headers: headers, body: Array(body.utf8),
                    timeout: 5))
        }
        let one = #"{"request_id": "r-1", "label": 0}"#
        #expect(try post(one, token: nil).status == 401)
        #expect(try post(one, token: "guess").status == 401)
        #expect(try post(one, token: AgentProcessTests.feedbackToken, environment: "other").status == 404)
        #expect(try post("{\"label\": 0}", token: AgentProcessTests.feedbackToken).status == 400)
        #expect(try post(one, token: AgentProcessTests.feedbackToken).text.contains(#""unknown": 1"#))

        var rollout = Self.canary()
        rollout.field = "predictions.0.churn_probability"
        rollout.labelsMargin = 0.05
        let bad = try fixture.promote("overconfident", version: "v1.1.0", rollout: rollout)
        // Clients send requests, and later what happened (nobody churned): a label per request id.
        var statuses: [Int: Int] = [:]
        var matched = 0
        let decided = try agent.wait(90) {
            var ids: [String] = []
            for index in 0..<20 {
                let body =
                    "{\"instances\": [{\"tenure_months\": \(index * 3), \"age\": 40, \"monthly_charges\": 70.5, "
                    + "\"support_calls\": 1, \"contract\": \"month-to-month\", \"region\": \"north\", \"paperless_billing\": \"true\"}]}"
                let answer = try HTTPClient.perform(
                    HTTPRequest(
                        "POST", "http://127.0.0.1:\(fixture.port)/predict",
                        headers: [("Content-Type", "application/json")], body: Array(body.utf8), timeout: 10))
                statuses[answer.status, default: 0] += 1
                if let id = answer.headers["x-request-id"] { ids.append(id) }
            }
            let labels = ids.map { #"{"request_id": "\#($0)", "label": 0}"# }.joined(separator: "\n")
            if !labels.isEmpty {
                let reply = try post(labels, token: AgentProcessTests.feedbackToken).text
                matched +=
                    Int(reply.split(separator: ":")[1].prefix { $0 != "," }.trimmingCharacters(in: .whitespaces)) ?? 0
            }
            return (try? fixture.originTip()) != bad
        }
        #expect(decided, "\(agent.output())")
        #expect(statuses.keys.sorted() == [200], "every request was answered: \(statuses)")
        #expect(matched >= 30, "labels met their requests: \(matched)")
        let message = try git("log", "-1", "--format=%B", try fixture.originTip(), in: fixture.origin)
        #expect(message.contains("Gitops-Ml-Rollback-Of: \(bad)"), "\(message)")
        #expect(message.contains("labels: challenger"), "\(message)")
        #expect(message.contains("roll back at 10 %; labels: challenger"), "the labels decided: \(message)")
    }
}

/// Production drift: the inputs the proxy served against the training data of the release that runs.
@Suite("Production drift on served inputs", .serialized)
struct ServedDriftTests {
    /// `count` rows of the example's evaluation data as prediction requests, changed by `shift`.
    static func send(_ fixture: AgentFixture, count: Int, shift: (inout [String: Any]) -> Void) throws {
        let lines = try String(contentsOfFile: fixture.project + "/data/eval.csv", encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = lines[0]
        for row in lines.dropFirst().prefix(count) {
            var instance: [String: Any] = [:]
            for (name, value) in zip(header, row) where name != "customer_id" && name != "churned" {
                instance[name] = Double(value) ?? value
            }
            shift(&instance)
            var request = HTTPRequest("POST", "http://127.0.0.1:\(fixture.port)/predict", timeout: 30)
            request.body = Array(try JSONSerialization.data(withJSONObject: ["instances": [instance]]))
            request.headers.append((name: "Content-Type", value: "application/json"))
            #expect(try HTTPClient.perform(request).status == 200)
        }
    }

    @Test func servedInputsAreComparedWithTheReleasesTrainingDataAndADriftSignalsARetraining() throws {
        let fixture = try RolloutTests.fixture("served-drift")
        var monitor = AgentConfig.DriftMonitor(dataset: "train")
        monitor.every = 0
        monitor.minimum = 100
        monitor.sample = 300
        monitor.signalFile = fixture.temp.path + "/retrain.json"
        fixture.config.environments[0].drift = monitor
        let (agent, first) = try fixture.agentServingFirstRelease()
        defer { agent.shutdown() }

        // Too few inputs: no verdict, they carry over.
        try Self.send(fixture, count: 50) { _ in }
        #expect(agent.monitorDrift().isEmpty)
        // Production looks like the training data: judged, no drift, no signal.
        try Self.send(fixture, count: 250) { _ in }
        let calm = try #require(agent.monitorDrift().first)
        #expect(calm.served == 300 && calm.sampled == 300)
        #expect(calm.report.evaluated.count == 7, "\(calm.report.evaluated.map(\.column))")
        #expect(!calm.report.datasetDrift)
        #expect(!FileManager.default.fileExists(atPath: monitor.signalFile ?? ""))

        // Production moved: older, longer-tenured customers paying three times as much, calling support.
        try Self.send(fixture, count: 400) { instance in
            instance["monthly_charges"] = ((instance["monthly_charges"] as? Double) ?? 0) * 3
            instance["tenure_months"] = ((instance["tenure_months"] as? Double) ?? 0) + 60
            instance["age"] = ((instance["age"] as? Double) ?? 0) + 25
            instance["support_calls"] = ((instance["support_calls"] as? Double) ?? 0) + 6
        }
        let moved = try #require(agent.monitorDrift().first)
        #expect(moved.served == 400 && moved.sampled == 300, "the sample is bounded, the count is not")
        #expect(moved.report.datasetDrift)
        let drifted = Set(moved.report.evaluated.filter { $0.drifted == true }.map(\.column))
        #expect(drifted == ["monthly_charges", "tenure_months", "age", "support_calls"], "\(drifted)")
        #expect(moved.sourceCommit == (try git("rev-parse", "main", in: fixture.project)))

        // The retraining signal: a repository_dispatch payload naming what drifted.
        let signal = try String(contentsOfFile: monitor.signalFile ?? "", encoding: .utf8)
        #expect(signal.contains("\"event_type\": \"gitops-ml-drift\"") && signal.contains("monthly_charges"))
        // Both measurements in the note on the environment commit, on the remote.
        let note = try git("notes", "--ref", "refs/notes/gitops-ml-drift", "show", first, in: fixture.origin)
        #expect(note.components(separatedBy: "\"dataset_drift\"").count == 3, "\(note)")
        // And in /metrics.
        let metrics = AgentMetrics()
        metrics.servedDrift(moved)
        let text = metrics.exposition()
        #expect(
            text.contains(
                "gitops_ml_agent_served_dataset_drift{environment=\"local\",model=\"churn\",dataset=\"train\"} 1.0"))
        #expect(
            text.contains(
                "gitops_ml_agent_served_drift_detected{environment=\"local\",model=\"churn\",dataset=\"train\",column=\"age\",test=\"wasserstein\"} 1.0"
            ), "\(text)")
    }
}

/// What a label is judged by, and how many requests wait for theirs.
@Suite("Labels that arrive later")
struct LabelFeedbackTests {
    static func settings() -> RolloutSettings {
        var settings = RolloutSettings(strategy: .canary)
        settings.field = "predictions.0.score"
        settings.labelsMargin = 0.02
        return settings
    }

    @Test func aLabelIsTheSquaredErrorOfANumberAndTheMismatchOfAClass() throws {
        let settings = Self.settings()
        func observed(_ prediction: String, _ label: String, _ version: RolloutObservation.Version = .challenger)
            -> Double?
        {
            var record = OutcomeRecord.split(
                time: 1, version: version, answer: ServedAnswer(status: 200, latency: 0.01, prediction: prediction))
            record.label = label
            let observation = settings.observation(record)
            #expect(observation?.feedback == true)
            return observation?.values["labels"]
        }
        #expect(try #require(observed("0.75", "1")) == 0.0625)
        #expect(observed("[0.25]", "0") == 0.0625)
        #expect(observed("\"cat\"", "\"cat\"") == 0 && observed("\"cat\"", "\"dog\"") == 1)
        #expect(observed("true", "false") == 1)
        // A pair: the challenger's loss less the champion's, on the same request.
        var pair = OutcomeRecord.pair(
            time: 1, champion: ServedAnswer(status: 200, latency: 0.01, prediction: "0.5"),
            challenger: ServedAnswer(status: 200, latency: 0.01, prediction: "0.9"))
        pair.label = "1"
        var shadow = settings
        shadow.strategy = .shadow
        #expect(abs((shadow.observation(pair)?.values["labels"] ?? 0) - (0.01 - 0.25)) < 1e-12)
        // A label does not count as a request of the step.
        var analysis = RolloutAnalysis(plan: settings.plan)
        analysis.observe(RolloutObservation(version: .challenger, time: 1, values: ["labels": 0], feedback: true))
        #expect(analysis.events.isEmpty && analysis.observations == 1)
    }

    @Test func requestsWaitingForLabelsAreBoundedAndTakenOnce() {
        var recent = RecentRequests(capacity: 3)
        let record = OutcomeRecord.split(
            time: 1, version: .champion, answer: ServedAnswer(status: 200, latency: 0, prediction: "1"))
        for id in ["a", "b", "c", "d"] { recent.remember(id, record) }
        #expect(recent.take("a") == nil, "the oldest was forgotten")
        #expect(recent.take("d") == record && recent.take("d") == nil, "one label per request")
        for index in 0..<100 { recent.remember("r\(index)", record) }
        #expect(recent.take("r96") == nil && recent.take("r99") == record)
    }

    @Test(arguments: [
        (#"{"request_id": "a", "label": 1}"#, 1, nil),
        (#"[{"request_id": "a", "label": "cat"}, {"request_id": "b", "label": true}]"#, 2, nil),
        ("{\"request_id\": \"a\", \"label\": 0}\n\n{\"request_id\": \"b\", \"label\": 1.5}\n", 2, nil),
        (#"{"request_id": "a", "label": [1]}"#, 0, "entry 1"),
        (#"{"label": 1}"#, 0, "entry 1"),
        ("{\"request_id\": \"a\", \"label\": 0}\nnot json", 0, "line 2 is not JSON"),
    ])
    func feedbackBodiesAreReadOrRefusedByEntry(body: String, count: Int, error: String?) {
        switch RolloutProxy.labels(in: Array(body.utf8)) {
        case .success(let labels): #expect(error == nil && labels.count == count, "\(labels)")
        case .failure(let failure): #expect(error.map { failure.message.contains($0) } == true, "\(failure)")
        }
    }
}
