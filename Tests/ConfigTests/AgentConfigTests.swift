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
