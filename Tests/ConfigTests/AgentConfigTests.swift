import GitOpsMLCore
import Testing

@testable import Config

@Suite("agent.yaml")
struct AgentConfigTests {
    @Test func whatGenerateWritesTheAgentReadsBack() throws {
        let written = AgentConfig(
            repository: "https://github.com/acme/churn.git",
            environments: [
                .init(name: "staging", branch: "gitops", namespace: "churn-staging", target: .kubernetes),
                .init(name: "local", branch: "gitops", namespace: "local", target: .local),
            ], interval: 30, verify: .ssh(allowedSigners: "/etc/gitops-ml/allowed_signers"))
        #expect(try AgentConfig.parse(Array(written.yaml.utf8)) == written)
        let plain = AgentConfig(repository: "git@github.com:a/b.git", environments: [])
        #expect(try AgentConfig.parse(Array(plain.yaml.utf8)) == plain)
        // The proxy and production drift, every field set, read back alike.
        var proxied = AgentConfig.Environment(
            name: "live", branch: "gitops", namespace: "live", target: .local, port: 8080)
        proxied.upstreams = [18081, 18082]
        proxied.reuseConnections = false
        var drift = AgentConfig.DriftMonitor(dataset: "train")
        drift.every = 30
        drift.sample = 2000
        drift.minimum = 300
        drift.signalFile = "/var/lib/gitops-ml/retrain.json"
        drift.webhook = "https://api.github.com/repos/acme/churn/dispatches"
        drift.tokenVariable = "RETRAIN_TOKEN"
        proxied.drift = drift
        proxied.feedbackTokenVariable = "GITOPS_ML_FEEDBACK_TOKEN"
        var routed = AgentConfig.Environment(name: "prod", branch: "gitops", namespace: "ml", target: .kubernetes)
        var query = AgentConfig.OutcomeQuery(url: "http://prometheus.monitoring:9090")
        query.trackLabel = "pod_track"
        query.namespaceLabel = ""
        query.every = 5
        query.tokenVariable = "PROMETHEUS_TOKEN"
        routed.prometheus = query
        let live = AgentConfig(repository: "https://github.com/acme/churn.git", environments: [proxied, routed])
        #expect(live.yaml.contains("proxy: {upstreams: [18081, 18082], connections: per-request}"))
        #expect(try AgentConfig.parse(Array(live.yaml.utf8)) == live)
    }

    @Test(arguments: [
        ("    proxy: {upstreams: [18081]}", "two different ports"),
        ("    proxy: {upstreams: [18081, 18081]}", "two different ports"),
        ("    proxy: {upstreams: [18081, 18082], connections: sometimes}", "connections"),
        ("    drift: {dataset: train}", "needs proxy"),
        ("    proxy: {upstreams: [18081, 18082]}\n    drift: {dataset: train, minimum: 500, sample: 100}", "minimum"),
        (
            "    proxy: {upstreams: [18081, 18082]}\n    drift: {dataset: train, webhook: http://example.com/x}",
            "https://"
        ),
        ("    proxy: {upstreams: [18081, 18082]}\n    drift: {dataset: train, signal_file: retrain.json}", "absolute"),
        ("    prometheus: {url: http://prometheus:9090}", "for the kubernetes target"),
        ("    feedback: {token_env: FEEDBACK}", "needs proxy"),
        ("    proxy: {upstreams: [18081, 18082]}\n    feedback: {token_env: \"a b\"}", "not an environment variable"),
    ])
    func proxyAndDriftSettingsAreChecked(line: String, message: String) {
        let text =
            "version: 1\nrepository: r\nenvironments:\n  - name: live\n    branch: gitops\n    target: local\n    port: 8080\n\(line)\n"
        #expect {
            _ = try AgentConfig.parse(Array(text.utf8), file: "agent.yaml")
        } throws: { error in
            (error as? GitOpsMLError)?.message.contains(message) == true
        }
    }

    @Test(arguments: [
        ("    prometheus: {url: prometheus:9090}", "http:// or https://"),
        ("    prometheus: {url: http://p:9090, track_label: \"a-b\"}", "not a Prometheus label name"),
        ("    prometheus: {url: http://p:9090, every: 0}", "more than 0"),
        ("    prometheus: {url: http://p:9090, token_env: \"$X\"}", "not an environment variable name"),
        ("    prometheus: {url: http://p:9090, query: up}", "query"),
    ])
    func prometheusSettingsAreChecked(line: String, message: String) {
        let text = "version: 1\nrepository: r\nenvironments:\n  - name: prod\n    branch: gitops\n\(line)\n"
        #expect {
            _ = try AgentConfig.parse(Array(text.utf8), file: "agent.yaml")
        } throws: { error in
            (error as? GitOpsMLError)?.message.contains(message) == true
        }
    }

    @Test(arguments: [
        ("version: 1\nrepository: \"\"\nenvironments: []\n", 2, "repository is empty"),
        ("version: 2\nrepository: x\nenvironments: []\n", 1, "unsupported version"),
        ("version: 1\nrepository: x\ninterval: .nan\nenvironments: []\n", 3, "expected a finite number"),
        ("version: 1\nrepository: x\ninterval: 0\nenvironments: []\n", 3, "interval must be"),
        (
            "version: 1\nrepository: x\nenvironments:\n  - {name: a, branch: b}\n  - {name: a, branch: c}\n", 5,
            "listed twice"
        ),
        (
            "version: 1\nrepository: x\nenvironments:\n  - {name: a, branch: b, target: moon}\n", 4,
            "unknown value \"moon\""
        ),
        ("version: 1\nrepository: x\nverify: {signatures: ssh}\nenvironments: []\n", 3, "allowed_signers"),
        ("version: 1\nrepository: x\nenvironments: []\nextra: 1\n", 4, "unknown key"),
    ])
    func errorsNameTheLine(text: String, line: Int, message: String) {
        #expect {
            _ = try AgentConfig.parse(Array(text.utf8), file: "agent.yaml")
        } throws: { error in
            let error = error as? GitOpsMLError
            return error?.location?.line == line && error?.message.contains(message) == true
        }
    }
}

@Suite("agent.yaml: health, the local target, state and the webhook")
struct AgentHealthConfigTests {
    @Test func everySettingReadsBackAsWritten() throws {
        var probe = AgentConfig.Health.Probe(path: "/readyz")
        probe.period = 0.5
        probe.timeout = 1.5
        probe.successThreshold = 2
        probe.failureThreshold = 10
        var config = AgentConfig(
            repository: "https://github.com/acme/churn.git",
            environments: [
                .init(
                    name: "local", branch: "gitops", namespace: "local", target: .local, port: 18_080,
                    health: .init(
                        deadline: 45, probes: [probe, .init(path: "/healthz")],
                        smoke: .init(
                            sample: "serving/smoke.json", requiredFields: ["predictions.0.churn_probability"],
                            latencyBudget: 0.25, timeout: 12))),
                .init(name: "production", branch: "gitops", namespace: "churn", target: .kubernetes),
            ])
        config.stateDirectory = "/srv/gitops-ml agent"
        config.webhookSecretVariable = "GITOPS_ML_WEBHOOK_SECRET"
        config.stopGrace = 30
        #expect(try AgentConfig.parse(Array(config.yaml.utf8)) == config, "\(config.yaml)")
        let defaults = try AgentConfig.parse(
            Array("version: 1\nrepository: x\nenvironments: [{name: a, branch: b, target: local}]\n".utf8))
        #expect(defaults.stateDirectory == "/var/lib/gitops-ml" && defaults.webhookSecretVariable == nil)
        #expect(defaults.stopGrace == 10)
        #expect(defaults.environments[0].health == AgentConfig.Health() && defaults.environments[0].port == nil)
    }

    @Test(arguments: [
        ("state_dir: relative/state\n", "", 3, "state_dir must be an absolute path"),
        ("webhook: {secret_env: \"MY-SECRET\"}\n", "", 3, "is not an environment variable name"),
        ("webhook: {secret: hunter2}\n", "", 3, "missing required key 'secret_env'"),
        ("", "    port: 8080\n", 6, "port is for the local target"),
        ("", "    target: local\n    port: 70000\n", 7, "port must be from 1 to 65535"),
        ("", "    health: {deadline: 0}\n", 6, "must be more than 0 and at most 3600 seconds"),
        ("", "    health: {probes: [{path: readyz}]}\n", 6, "a probe path starts with /"),
        ("", "    health: {probes: [{path: /readyz, failure_threshold: 0}]}\n", 6, "must be from 1 to 1000"),
        ("", "    health: {probes: [{path: /readyz, period: .inf}]}\n", 6, "finite"),
        ("", "    health: {smoke: {sample: ../outside.json}}\n", 6, "outside"),
        ("", "    health: {smoke: {required_fields: [a]}}\n", 6, "sample"),
        ("", "    health: {probes: [{path: /readyz, retries: 3}]}\n", 6, "unknown key"),
        ("stop_grace: -1\n", "", 3, "stop_grace must be from 0 to 600 seconds"),
        ("", "    health: {smoke: {sample: s.json, timeout: 0}}\n", 6, "600"),
    ])
    func errorsNameTheLine(top: String, environment: String, line: Int, message: String) {
        let text = "version: 1\nrepository: x\n\(top)environments:\n  - name: a\n    branch: b\n\(environment)"
        #expect {
            _ = try AgentConfig.parse(Array(text.utf8), file: "agent.yaml")
        } throws: { error in
            guard let error = error as? GitOpsMLError else { return false }
            let matches = error.location?.line == line && error.message.contains(message)
            if !matches { Issue.record("\(error.location?.description ?? "?"): \(error.message)") }
            return matches
        }
    }
}
