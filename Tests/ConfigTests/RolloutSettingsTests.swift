import GitOpsMLCore
import Testing

@testable import Config

private func policy(_ rollout: String) throws -> PromotionPolicy {
    let text = """
        apiVersion: gitops-ml/v1
        kind: PromotionPolicy
        metadata: {name: live}
        spec:
          environments:
            prod:
              rollout:
        \(rollout.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))

        """
    guard case .promotion(let policy) = try Policy.parse(Array(text.utf8), file: "policies/live.yaml").first else {
        throw GitOpsMLError.configuration("not a promotion policy", at: nil)
    }
    return policy
}

@Suite("Rollout settings")
struct RolloutSettingsTests {
    @Test func aCanaryIsReadFromThePolicyAndKeptWhole() throws {
        let settings = try #require(
            try policy(
                """
                strategy: canary
                steps: [10, 50, 100]
                min_requests: 800
                max_requests: 100000
                max_duration: 20m
                on_budget: promote
                alpha: 0.01
                key: X-User-Id
                errors: 0.005
                latency: {objective: 250ms, margin: 0.03}
                """
            ).environments["prod"]?.rollout)
        #expect(settings.strategy == .canary)
        #expect(settings.steps == [10, 50, 100])
        #expect(settings.minimumRequests == 800 && settings.maximumRequests == 100_000)
        #expect(settings.maximumDuration == 1200 && settings.onBudget == .promote && settings.alpha == 0.01)
        #expect(settings.key == "X-User-Id" && settings.errorsMargin == 0.005)
        #expect(settings.latency?.objective == 0.25 && settings.latency?.margin == 0.03)

        // Through a release record and back: the same settings, the same bytes.
        var record = ReleaseRecord(
            model: "churn", environment: "prod", version: "v2", sourceCommit: String(repeating: "ab", count: 20))
        record.rollout = settings
        let read = try ReleaseRecord.parse(Array(record.yaml.utf8), file: "environments/prod/churn.yaml")
        #expect(read.rollout == settings)
        #expect(read.yaml == record.yaml)
        #expect(record.yaml.contains("rollout:\n  strategy: canary\n  steps: [10, 50, 100]\n"))
    }

    @Test func shadowAndBlueGreenHaveTheirOwnSteps() throws {
        let shadow = try #require(
            try policy("strategy: shadow\nfield: predictions.0.label\ndisagreement: 0.1\nprediction: 0.05")
                .environments["prod"]?.rollout)
        #expect(shadow.steps == [0] && shadow.disagreementMargin == 0.1 && shadow.predictionMargin == 0.05)
        let blueGreen = try #require(try policy("strategy: blue-green\nhold: 5m").environments["prod"]?.rollout)
        #expect(blueGreen.steps == [100] && blueGreen.hold == 300)
    }

    @Test func labelsAndTheRequestIdHeaderReadBackAsWritten() throws {
        let text = "strategy: canary\nfield: predictions.0.score\nlabels: 0.02\nrequest_id: X-Correlation-Id"
        let settings = try #require(try policy(text).environments["prod"]?.rollout)
        #expect(settings.labelsMargin == 0.02 && settings.requestID == "X-Correlation-Id")
        #expect(settings.yamlLines.suffix(2) == ["labels: 0.02", "request_id: X-Correlation-Id"])
        let reread = try #require(try policy(settings.yamlLines.joined(separator: "\n")).environments["prod"]?.rollout)
        #expect(reread == settings)
        // The default header is not written: the same settings give the same bytes.
        let plain = try #require(try policy("strategy: canary").environments["prod"]?.rollout)
        #expect(plain.requestID == "X-Request-Id" && !plain.yamlLines.contains { $0.hasPrefix("request_id") })
    }

    @Test(arguments: [
        ("strategy: rolling", "strategy"),
        ("strategy: canary\nsteps: [50, 25, 100]", "steps must rise"),
        ("strategy: canary\nsteps: [5, 25]", "steps must rise"),
        ("strategy: canary\nalpha: 0.7", "alpha must be between"),
        ("strategy: canary\nerrors: 5", "a share between 0 and 1"),
        ("strategy: canary\nlatency: {objective: soon}", "not a latency objective"),
        ("strategy: canary\nmin_requests: 100\nmax_requests: 10", "at least min_requests"),
        ("strategy: canary\nkey: \"$(id)\"", "request header"),
        ("strategy: canary\nstep: [5, 100]", "step"),
        ("strategy: shadow\ndisagreement: 0.1", "name the answer's field"),
        ("strategy: canary\nmax_duration: 1000d", "from 1s to 24h"),
        ("strategy: blue-green\nhold: 0s", "from 1s to 24h"),
        ("strategy: shadow\nfield: predictions..label", "dotted path"),
        ("strategy: canary\nlabels: 0.02", "name the answer's field"),
        ("strategy: canary\nfield: p\nlabels: -0.1", "the labels margin is a squared error"),
        ("strategy: canary\nrequest_id: \"a b\"", "request_id must be a request header"),
    ])
    func badSettingsAreRefusedAtTheirLine(text: String, message: String) {
        #expect {
            _ = try policy(text)
        } throws: { error in
            let error = error as? GitOpsMLError
            return error?.message.contains(message) == true && (error?.location?.line ?? 0) >= 8
        }
    }
}
