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
