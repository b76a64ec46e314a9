import Foundation
import TestSupport
import Testing

/// `gitops-ml rollout analyze` on outcome files written as the proxy writes them.
@Suite("rollout analyze")
struct RolloutCommandTests {
    /// A canary record (5 → 50 → 100 %, 300 challenger requests a step, errors margin 1 point).
    static func record(strategy: String = "canary", extra: String = "") -> String {
        """
        apiVersion: gitops-ml/v1
        kind: Release
        model: churn
        environment: production
        version: v2
        source_commit: \(String(repeating: "ab", count: 20))
        rollout:
          strategy: \(strategy)
          steps: [5, 50, 100]
          min_requests: 300
          errors: 0.01
        \(extra)
        """
    }

    /// Requests split as the step asks (every 20th to the challenger, then every 2nd), the challenger
    /// failing one in `challengerFailsEvery` (0: never), the champion one in 100.
    static func outcomes(challengerFailsEvery: Int, count: Int) -> String {
        var lines: [String] = []
        var challengerSeen = 0
        for index in 0..<count {
            let toChallenger = challengerSeen < 2_000 ? index % 20 == 0 : index % 2 == 0
            let fails: Bool
            if toChallenger {
                challengerSeen += 1
                fails = challengerFailsEvery > 0 && challengerSeen % challengerFailsEvery == 0
            } else {
                fails = index % 100 == 1
            }
            let answer =
                fails ? "{\"latency\":0.01,\"status\":503}" : "{\"latency\":0.01,\"prediction\":\"0.5\",\"status\":200}"
            lines.append(
                "{\"answer\":\(answer),\"time\":\(Double(index) / 100),\"version\":\"\(toChallenger ? "challenger" : "champion")\"}"
            )
        }
        // A rate limit's answer counts for neither version.
        lines.append("{\"answer\":{\"latency\":0,\"status\":429},\"time\":1e6,\"version\":\"challenger\"}")
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func aFailingCanaryIsRolledBackWithTheEvidenceAndExitOne() throws {
        let folder = TemporaryDirectory("rollout")
        try Self.record().write(toFile: folder.path + "/churn.yaml", atomically: true, encoding: .utf8)
        try Self.outcomes(challengerFailsEvery: 4, count: 40_000).write(
            toFile: folder.path + "/outcomes.jsonl", atomically: true, encoding: .utf8)
        let result = try gitopsML(
            ["rollout", "analyze", "--outcomes", "outcomes.jsonl", "--record", "churn.yaml"], in: folder.path)
        #expect(result.status == 1, "\(result.stderrText)")
        #expect(result.stdoutText.hasPrefix("canary rollout: roll-back after "))
        #expect(result.stdoutText.contains("roll back at 5 %; errors: challenger"))
        #expect(result.stdoutText.contains("mixture SPRT, always-valid 95% confidence sequence"))
        #expect(result.stderrText.contains("rollout rolled back: observation "))

        let json = try gitopsML(
            ["rollout", "analyze", "--outcomes", "outcomes.jsonl", "--record", "churn.yaml", "--json"], in: folder.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        let events = try #require(object["events"] as? [[String: Any]])
        #expect(events.last?["action"] as? String == "roll-back")
        #expect(object["records"] as? Int == 40_001)
        // The challenger's first 300 requests at 5 %, a quarter of them failing: decided within them.
        let observation = try #require(events.last?["observation"] as? Int)
        #expect(observation > 20 && observation < 300 * 20, "\(observation)")
    }

    @Test func aGoodCanaryStepsToTheEnd() throws {
        let folder = TemporaryDirectory("rollout")
        try Self.record().write(toFile: folder.path + "/churn.yaml", atomically: true, encoding: .utf8)
        try Self.outcomes(challengerFailsEvery: 0, count: 40_000).write(
            toFile: folder.path + "/outcomes.jsonl", atomically: true, encoding: .utf8)
        let result = try gitopsML(
            ["rollout", "analyze", "--outcomes", "outcomes.jsonl", "--record", "churn.yaml", "--md"], in: folder.path)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.hasPrefix("### canary rollout: complete"))
        #expect(result.stdoutText.contains("advance from 5 % to 50 %"))
        #expect(result.stdoutText.contains("complete at 100 %"))
    }

    @Test func badInputIsOneLineNamingTheFileAndLine() throws {
        let folder = TemporaryDirectory("rollout")
        try Self.record().write(toFile: folder.path + "/churn.yaml", atomically: true, encoding: .utf8)
        try "{\"time\": 1, \"version\": \"champion\"}\n{\"time\": \"soon\"}\n".write(
            toFile: folder.path + "/bad.jsonl", atomically: true, encoding: .utf8)
        let bad = try gitopsML(
            ["rollout", "analyze", "--outcomes", "bad.jsonl", "--record", "churn.yaml"], in: folder.path)
        #expect(bad.status == 2)
        #expect(bad.stderrText.contains("bad.jsonl:2") && bad.stderrText.contains("not an outcome record"))
        #expect(bad.stderrText.split(separator: "\n").count == 1)

        try Self.record(strategy: "replace").write(
            toFile: folder.path + "/plain.yaml", atomically: true, encoding: .utf8)
        let plain = try gitopsML(
            ["rollout", "analyze", "--outcomes", "bad.jsonl", "--record", "plain.yaml"], in: folder.path)
        #expect(plain.status == 2 && plain.stderrText.contains("no rollout: to analyze"))
        let missing = try gitopsML(
            ["rollout", "analyze", "--outcomes", "nope.jsonl", "--record", "churn.yaml"], in: folder.path)
        #expect(missing.status == 2 && missing.stderrText.contains("cannot read nope.jsonl"))
    }
}

/// `gitops-ml rollout status` against an agent's /status (served here from a file, as the agent writes it).
@Suite("rollout status")
struct RolloutStatusCommandTests {
    static let status = """
        {"agent": "test", "ready": true, "environments": {"production": {"branch": "gitops", "target": "local",
        "conditions": [], "unpublishedRecords": 0, "rollout": {"strategy": "canary", "percent": 25,
        "observations": 4210, "skippedMirrors": 0, "events": [{"action": "advance", "from": 5, "to": 25,
        "observation": 3002, "time": 1, "judgements": []}], "judgements": [{"verdict": "undecided",
        "rule": {"signal": "errors", "kind": "rate", "worse": "higher", "margin": 0.01, "alpha": 0.05,
        "mixing": 0.01, "paired": false, "minimumObservations": 1},
        "interval": {"estimate": 0.002, "variance": 1e-5, "lower": -0.011, "upper": 0.015, "alpha": 0.05, "mixing": 0.01},
        "challenger": {"count": 512, "sum": 6, "sumOfSquares": 6}, "champion": {"count": 3698, "sum": 36, "sumOfSquares": 36}}]}},
        "staging": {"branch": "gitops", "target": "local", "conditions": [], "unpublishedRecords": 0}}}
        """

    @Test func theLiveAnalysisIsReadFromTheAgent() throws {
        let folder = TemporaryDirectory("rollout-status")
        try Self.status.write(toFile: folder.path + "/status", atomically: true, encoding: .utf8)
        let server = try LoopbackServer([
            "python3", "-c",
            """
            import functools, http.server, sys
            handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """, folder.path,
        ])
        let text = try gitopsML(["rollout", "status", "--agent", server.baseURL], in: folder.path)
        #expect(text.status == 0, "\(text.stderrText)")
        #expect(text.stdoutText.hasPrefix("production: canary at 25 % after 4210 observations: under way"))
        #expect(text.stdoutText.contains("observation 3002: advance from 5 % to 25 %"))
        #expect(text.stdoutText.contains("errors: challenger 1.17% (n = 512) vs champion 0.97% (n = 3698)"))
        #expect(!text.stdoutText.contains("staging"))
        let json = try gitopsML(["rollout", "status", "--agent", server.baseURL, "--json"], in: folder.path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any])
        #expect(Set(object.keys) == ["production"])
        let none = try gitopsML(["rollout", "status", "--agent", server.baseURL, "--env", "staging"], in: folder.path)
        #expect(none.stdoutText == "staging: no rollout behind the agent's proxy\n")
        let wrong = try gitopsML(["rollout", "status", "--agent", server.baseURL + "/nowhere"], in: folder.path)
        #expect(wrong.status == 3 && wrong.stderrText.contains("answered HTTP 404"))
    }
}
