import Config
import Foundation
import GitOpsMLCore
import HTTPClient
import TestSupport
import Testing

@testable import Agent

/// A real Prometheus (Debian's) scrapes a real agent that just rolled back a release; the series it
/// recorded then drive `promtool test rules` over the alert rules `generate monitoring` writes, so the
/// alerts are tested against the names and labels the agent really exports.
@Suite("The agent's metrics in Prometheus", .serialized)
struct PrometheusTests {

    @Test(.enabled(if: toolsAvailable("prometheus", "promtool"), "needs Debian's prometheus (make test installs it)"))
    func prometheusScrapesTheAgentAndTheGeneratedAlertsFireOnItsSeries() throws {
        let prometheus = try requireTool("prometheus")
        let promtool = try requireTool("promtool")
        let fixture = try AgentFixture("prometheus", deadline: 10)
        fixture.config.interval = 0.5
        try fixture.promote("main", version: "v1.0.0")
        let agent = try AgentProcessTests.Running(fixture)
        defer { agent.stop() }
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" })
        let broken = try fixture.promote("broken", version: "v2.0.0")
        #expect(agent.wait(30) { (try? fixture.originTip()) != broken && (try? fixture.originTip()) != nil })

        let folder = fixture.temp.path + "/prometheus"
        let scraper = try ScrapingPrometheus(agent, in: folder, prometheus: prometheus)
        let query = scraper.query
        func value(_ sample: [String: Any]) -> String? { (sample["value"] as? [Any])?.last as? String }

        var rollbacks: [[String: Any]] = []
        #expect(
            agent.wait(60) {
                rollbacks = query("gitops_ml_agent_rollbacks_total")
                return rollbacks.contains { value($0) == "1" }
                    && query(#"up{job="gitops-ml-agent"}"#).contains { value($0) == "1" }
            }, "\((try? String(contentsOfFile: folder + "/log", encoding: .utf8)) ?? "")")
        let labels = try #require(rollbacks.first { value($0) == "1" }?["metric"] as? [String: String])
        #expect(labels["environment"] == "local" && labels["model"] == "churn")
        #expect(query("gitops_ml_agent_sync_failures_total").contains { value($0) != "0" })
        #expect(query("gitops_ml_agent_reconcile_duration_seconds_count").contains { value($0) != "0" })
        #expect(query(#"gitops_ml_agent_applied_revision_info{environment="local"}"#).count == 1)

        // The recorded series, as promtool's input: the rollback alert fires with their labels; the agent is up.
        _ = try run([gitopsMLBinary, "generate", "monitoring"], in: fixture.project)
        func series(_ metric: [String: String]) -> String {
            let name = metric["__name__"] ?? ""
            let rest = metric.filter { $0.key != "__name__" }.sorted { $0.key < $1.key }
                .map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
            return "\(name){\(rest)}"
        }
        let failures = try #require(
            query("gitops_ml_agent_sync_failures_total").first?["metric"] as? [String: String])
        let up = try #require(query(#"up{job="gitops-ml-agent"}"#).first?["metric"] as? [String: String])
        let scraped = "job: gitops-ml-agent, instance: \"\(labels["instance"] ?? "")\""
        let test = """
            rule_files: [\(fixture.project)/monitoring/alerts.rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - {series: '\(series(labels))', values: '0 0 0 1 1 1 1 1 1 1'}
                  - {series: '\(series(failures))', values: '0+1x40'}
                  - {series: '\(series(up))', values: '1x40'}
                alert_rule_test:
                  - eval_time: 4m
                    alertname: GitOpsMLAgentRolledBack
                    exp_alerts:
                      - exp_labels: {severity: critical, environment: local, model: churn, \(scraped)}
                        exp_annotations:
                          summary: "gitops-ml agent rolled back churn in local"
                          description: "A release failed its health checks and was reverted with a commit on the environment branch."
                  - eval_time: 30m
                    alertname: GitOpsMLAgentSyncFailing
                    exp_alerts:
                      - exp_labels: {severity: warning, environment: local, \(scraped)}
                        exp_annotations:
                          summary: "gitops-ml agent: syncs of local keep failing"
                          description: "15 failed syncs of local in 15 minutes."
                  - eval_time: 30m
                    alertname: GitOpsMLAgentDown
                    exp_alerts: []
            """
        try test.write(toFile: folder + "/alerts.test.yml", atomically: true, encoding: .utf8)
        let result = try Subprocess.run([promtool, "test", "rules", folder + "/alerts.test.yml"], timeout: 60)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains("SUCCESS"))
    }
}

/// Production drift as Prometheus sees it: a real agent behind its proxy, served inputs that moved away
/// from the training data, scraped by a real Prometheus; the generated alert fires on the scraped series.
@Suite("Production drift in Prometheus", .serialized)
struct ServedDriftPrometheusTests {
    @Test(.enabled(if: toolsAvailable("prometheus", "promtool"), "needs Debian's prometheus (make test installs it)"))
    func servedInputsDriftIsScrapedAndAlerted() throws {
        let prometheus = try requireTool("prometheus")
        let promtool = try requireTool("promtool")
        let fixture = try RolloutTests.fixture("prometheus-drift")
        fixture.config.interval = 0.5
        var monitor = AgentConfig.DriftMonitor(dataset: "train")
        monitor.every = 1
        monitor.minimum = 100
        monitor.sample = 300
        fixture.config.environments[0].drift = monitor
        try fixture.promote("main", version: "v1.0.0")
        let agent = try AgentProcessTests.Running(fixture)
        defer { agent.stop() }
        #expect(agent.wait(30) { fixture.serving() == "v1.0.0" }, "\(agent.output())")
        try ServedDriftTests.send(fixture, count: 300) { instance in
            instance["monthly_charges"] = ((instance["monthly_charges"] as? Double) ?? 0) * 3
            instance["tenure_months"] = ((instance["tenure_months"] as? Double) ?? 0) + 60
            instance["age"] = ((instance["age"] as? Double) ?? 0) + 25
            instance["support_calls"] = ((instance["support_calls"] as? Double) ?? 0) + 6
        }

        let folder = fixture.temp.path + "/prometheus"
        let scraper = try ScrapingPrometheus(agent, in: folder, prometheus: prometheus)
        let query = scraper.query
        var drifted: [[String: Any]] = []
        #expect(
            agent.wait(60) {
                drifted = query("gitops_ml_agent_served_dataset_drift")
                return drifted.contains { ($0["value"] as? [Any])?.last as? String == "1" }
            }, "\(agent.output())")
        let labels = try #require(drifted.first?["metric"] as? [String: String])
        #expect(labels["environment"] == "local" && labels["model"] == "churn" && labels["dataset"] == "train")
        let columns = query(#"gitops_ml_agent_served_drift_detected == 1"#).compactMap {
            ($0["metric"] as? [String: String])?["column"]
        }
        #expect(Set(columns) == ["monthly_charges", "tenure_months", "age", "support_calls"], "\(columns)")

        _ = try run([gitopsMLBinary, "generate", "monitoring"], in: fixture.project)
        let series =
            "gitops_ml_agent_served_dataset_drift{"
            + labels.filter { $0.key != "__name__" }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
        let test = """
            rule_files: [\(fixture.project)/monitoring/alerts.rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:
                  - {series: '\(series)', values: '0 0 1 1'}
                alert_rule_test:
                  - eval_time: 3m
                    alertname: ModelServedInputsDrift
                    exp_alerts:
                      - exp_labels: {severity: warning, model: churn, environment: local, dataset: train}
                        exp_annotations:
                          summary: "churn: production inputs in local drifted from train"
                          description: "The inputs served in local no longer look like the training data of the running release; a retraining signal was sent where the agent is configured to send one."
            """
        try test.write(toFile: folder + "/drift.test.yml", atomically: true, encoding: .utf8)
        let result = try Subprocess.run([promtool, "test", "rules", folder + "/drift.test.yml"], timeout: 60)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
    }
}

/// A real Prometheus on 127.0.0.1 scraping a running agent every second; stopped with the value.
final class ScrapingPrometheus {
    let port = TestPorts.reserve()
    let server: ChildProcess

    convenience init(_ agent: AgentProcessTests.Running, in folder: String, prometheus: String) throws {
        try self.init(
            target: String(agent.base.dropFirst("http://".count)), job: "gitops-ml-agent", in: folder,
            prometheus: prometheus)
    }

    /// Scrapes `target` (HOST:PORT) every second as job `job`.
    init(target: String, job: String, in folder: String, prometheus: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        scrape_configs:
          - job_name: \(job)
            static_configs: [{targets: ["\(target)"]}]
        """.write(toFile: folder + "/prometheus.yml", atomically: true, encoding: .utf8)
        server = try Subprocess.start(
            [
                prometheus, "--config.file=\(folder)/prometheus.yml", "--storage.tsdb.path=\(folder)/data",
                "--web.listen-address=127.0.0.1:\(port)",
            ], stdoutPath: folder + "/log", stderrPath: folder + "/log")
    }

    /// The instant vector of `expression` (empty when Prometheus does not answer yet).
    func query(_ expression: String) -> [[String: Any]] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        guard
            let answer = try? HTTPClient.perform(
                HTTPRequest("GET", "http://127.0.0.1:\(port)/api/v1/query?query=\(encoded)", timeout: 5)),
            let json = try? JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any],
            let data = json["data"] as? [String: Any]
        else { return [] }
        return data["result"] as? [[String: Any]] ?? []
    }

    deinit { _ = server.terminate(grace: 5) }
}

@Suite("The agent's metrics, series by series")
struct AgentMetricsTests {
    /// Each corrected object counts once; the revision that runs is the one the pass names.
    @Test func driftCorrectionsAndRollbacksAreCountedOnce() {
        let metrics = AgentMetrics()
        metrics.record(
            environment: "staging", result: .corrected("abc", objects: ["Service/ml/a", "ConfigMap/ml/b"]), model: nil,
            seconds: 0.1, now: Date())
        metrics.record(
            environment: "staging", result: .rolledBack(failed: "bad", restored: "abc"), model: "churn", seconds: 1,
            now: Date())
        let text = metrics.exposition()
        #expect(text.contains(#"gitops_ml_agent_drift_corrections_total{environment="staging"} 2"#), "\(text)")
        #expect(text.contains(#"gitops_ml_agent_rollbacks_total{environment="staging",model="churn"} 1"#), "\(text)")
        #expect(text.contains(#"gitops_ml_agent_applied_revision_info{environment="staging",revision="abc"} 1"#))
    }
}
