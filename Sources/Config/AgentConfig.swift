import GitOpsMLCore

/// `agent.yaml`, version 1: what the sync agent follows and how it applies it. `generate` writes it from
/// this type and the agent reads it with `parse`, so the two cannot drift apart.
///
/// ```yaml
/// version: 1
/// repository: https://github.com/acme/churn.git
/// interval: 60            # seconds between passes (a webhook triggers one sooner)
/// verify: {signatures: ssh, allowed_signers: /etc/gitops-ml/allowed_signers}   # or off, openpgp + keyring
/// environments:
///   - {name: staging, branch: gitops, namespace: churn-staging, target: kubernetes}
/// ```
public struct AgentConfig: Sendable, Equatable {
    public static let supportedVersion = 1

    public var repository: String
    public var interval: Double = 60
    public var verify: Verification = .off
    public var environments: [Environment]

    public enum Verification: Sendable, Equatable {
        case off
        /// SSH signatures against an allowed-signers file (git's format).
        case ssh(allowedSigners: String)
        /// OpenPGP signatures against a keyring folder (GNUPGHOME).
        case openPGP(keyring: String)
    }

    public struct Environment: Sendable, Equatable {
        public var name: String
        public var branch: String
        public var namespace: String
        public var target: Target

        public init(name: String, branch: String, namespace: String, target: Target) {
            self.name = name
            self.branch = branch
            self.namespace = namespace
            self.target = target
        }
    }

    /// `local` supervises the model server on this host; `kubernetes` applies the manifests to a cluster.
    public enum Target: String, Sendable, CaseIterable { case local, kubernetes }

    public init(repository: String, environments: [Environment], interval: Double = 60, verify: Verification = .off) {
        self.repository = repository
        self.environments = environments
        self.interval = interval
        self.verify = verify
    }

    /// Unknown keys, a missing repository, an environment named twice, an interval that is not a positive
    /// finite number: configuration errors at their line.
    public static func parse(_ bytes: [UInt8], file: String = "agent.yaml") throws -> AgentConfig {
        guard let root = try YAMLReader.compose(bytes, file: file) else {
            throw GitOpsMLError.configuration("empty agent configuration", at: SourceLocation(file: file))
        }
        let top = try ConfigNode(root, file: file).mapping()
        let versionNode = try top.required("version")
        guard try versionNode.int() == supportedVersion else {
            throw versionNode.error("unsupported version (this gitops-ml reads version \(supportedVersion))")
        }
        let repositoryNode = try top.required("repository")
        let repository = try repositoryNode.string()
        guard !repository.isEmpty else {
            throw repositoryNode.error(
                "repository is empty: the git URL the agent fetches the environment branches from")
        }
        var config = AgentConfig(repository: repository, environments: [])
        if let node = top.optional("interval") {
            config.interval = try node.double()
            guard config.interval > 0 && config.interval <= 86_400 else {
                throw node.error("interval must be from 0 to 86400 seconds")
            }
        }
        if let node = top.optional("verify") {
            let map = try node.mapping()
            switch try map.required("signatures").choice(["off", "ssh", "openpgp"]) {
            case "ssh": config.verify = .ssh(allowedSigners: try map.required("allowed_signers").string())
            case "openpgp": config.verify = .openPGP(keyring: try map.required("keyring").string())
            default: config.verify = .off
            }
            try map.finish()
        }
        var names: Set<String> = []
        for item in try top.required("environments").list() {
            let map = try item.mapping()
            let name = try map.required("name").string()
            guard names.insert(name).inserted else { throw item.error("environment \(name) is listed twice") }
            config.environments.append(
                Environment(
                    name: name, branch: try map.required("branch").string(),
                    namespace: try map.optional("namespace")?.string() ?? name,
                    target: Target(
                        rawValue: try map.optional("target")?.choice(Target.allCases.map(\.rawValue)) ?? "kubernetes")
                        ?? .kubernetes))
            try map.finish()
        }
        try top.finish()
        return config
    }

    /// The YAML `parse` reads back to this value.
    public var yaml: String {
        var lines = [
            "version: \(Self.supportedVersion)", "repository: \(StructuredValue.jsonString(repository))",
            "interval: \(StructuredValue.pythonFloat(interval))",
        ]
        switch verify {
        case .off: lines.append("verify: {signatures: off}")
        case .ssh(let allowed):
            lines.append("verify: {signatures: ssh, allowed_signers: \(StructuredValue.jsonString(allowed))}")
        case .openPGP(let keyring):
            lines.append("verify: {signatures: openpgp, keyring: \(StructuredValue.jsonString(keyring))}")
        }
        lines.append(environments.isEmpty ? "environments: []" : "environments:")
        for environment in environments {
            lines += [
                "  - name: \(StructuredValue.jsonString(environment.name))",
                "    branch: \(StructuredValue.jsonString(environment.branch))",
                "    namespace: \(StructuredValue.jsonString(environment.namespace))",
                "    target: \(environment.target.rawValue)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
