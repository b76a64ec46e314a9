import GitOpsMLCore

/// `agent.yaml`, version 1: what the sync agent follows and how it applies it. `generate` writes it from
/// this type and the agent reads it with `parse`, so the two cannot drift apart.
///
/// ```yaml
/// version: 1
/// repository: https://github.com/acme/churn.git
/// interval: 60            # seconds between passes (a webhook triggers one sooner)
/// stop_grace: 10           # seconds a model server has after SIGTERM before SIGKILL
/// verify: {signatures: ssh, allowed_signers: /etc/gitops-ml/allowed_signers}   # or off, openpgp + keyring
/// state_dir: /var/lib/gitops-ml   # state, artifacts and model server logs
/// webhook: {secret_env: GITOPS_ML_WEBHOOK_SECRET}   # optional: the variable holding the HMAC secret
/// environments:
///   - name: staging
///     branch: gitops
///     namespace: churn-staging
///     target: kubernetes
///     prometheus: {url: http://prometheus.monitoring:9090, track_label: track, namespace_label: namespace,
///                  every: 15}   # kubernetes only: the per-track request outcomes a canary, blue-green or
///                               # shadow rollout is judged on (the HTTPRoute's weights move as it decides)
///   - name: local
///     branch: gitops
///     target: local
///     port: 8080            # local only: the stable port (default: the model's serving port)
///     proxy: {upstreams: [18081, 18082]}   # local only: the agent serves the stable port through its
///                                          # rollout proxy, model servers on these two ports (canary,
///                                          # blue-green and shadow rollouts; no gap between versions);
///                                          # connections: per-request for a server that writes its
///                                          # answer in two sends without TCP_NODELAY (default reuse)
///     drift: {dataset: train, every: 300, sample: 5000, minimum: 200, signal_file: /var/lib/retrain.json,
///             webhook: https://api.github.com/repos/acme/churn/dispatches}
///     feedback: {token_env: GITOPS_ML_FEEDBACK_TOKEN}   # with proxy: POST /feedback/local takes labels
///                           # ({"request_id", "label"}) for a rollout's `labels` rule, with this bearer token
///                           # with proxy: the served inputs (a uniform sample of each interval's requests)
///                           # against the dataset the running release was trained on (its lineage), every
///                           # `every` seconds; a drift writes a retraining signal (a repository_dispatch
///                           # payload) to the file and POSTs it to the webhook
///     health:
///       deadline: 120       # seconds for the whole rollout
///       probes: [{path: /readyz, period: 1, timeout: 2, success_threshold: 1, failure_threshold: 3}]
///       smoke: {sample: serving/smoke.json, required_fields: [predictions], latency_budget: 1, timeout: 5}
/// ```
/// Without `probes`, the model's `serving.health_path` is probed with the default thresholds; `sample` is a
/// JSON file at the release's source commit.
public struct AgentConfig: Sendable, Equatable {
    public static let supportedVersion = 1

    public var repository: String
    public var interval: Double = 60
    /// How long a model server has to exit after SIGTERM before it is killed (seconds).
    public var stopGrace: Double = 10
    public var verify: Verification = .off
    public var stateDirectory = AgentConfig.defaultStateDirectory
    /// The environment variable holding the webhook's HMAC secret; nil: no webhook.
    public var webhookSecretVariable: String?
    public var environments: [Environment]
    /// The branch whose gitops-ml.yaml and policies folder hold the PromotionPolicy the agent enforces
    /// (unless an environment branch has its own); nil: main, else master.
    public var defaultBranch: String?

    public static let defaultStateDirectory = "/var/lib/gitops-ml"

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
        /// The local target's stable port; nil: the model's serving port.
        public var port: Int?
        /// The two ports the model servers take turns on behind the agent's rollout proxy, which then
        /// serves the stable port; empty: the server answers on the stable port itself.
        public var upstreams: [Int] = []
        /// Whether the proxy keeps connections to the servers open between requests (`connections: reuse`,
        /// the default) or opens one per request (`per-request`).
        public var reuseConnections = true
        /// Production drift on the served inputs (needs the proxy).
        public var drift: DriftMonitor?
        /// The kubernetes target's request outcomes per track, for the live analysis of routed rollouts.
        public var prometheus: OutcomeQuery?
        /// The variable holding the bearer token that `POST /feedback/<environment>` needs (labels that
        /// arrive after the answers, for a rollout's `labels` rule); nil: the endpoint is off.
        public var feedbackTokenVariable: String?
        public var health = Health()

        public init(
            name: String, branch: String, namespace: String, target: Target, port: Int? = nil, health: Health = Health()
        ) {
            self.name = name
            self.branch = branch
            self.namespace = namespace
            self.target = target
            self.port = port
            self.health = health
        }
    }

    /// Production drift: the proxy samples the inputs it serves; every `every` seconds they are compared
    /// with the dataset of gitops-ml.yaml named `dataset`, as the running release's source commit has it.
    public struct DriftMonitor: Sendable, Equatable {
        public var dataset: String
        public var every: Double = 300
        /// The reservoir: at most this many inputs of an interval are kept (a uniform sample of all).
        public var sample = 5000
        /// Fewer inputs than this in an interval: no verdict, the sample carries over.
        public var minimum = 200
        /// Where a retraining signal is written when the served inputs drift, and where it is POSTed.
        public var signalFile: String?
        public var webhook: String?
        /// The environment variable holding the webhook's bearer token (never written anywhere).
        public var tokenVariable: String?

        public init(dataset: String) { self.dataset = dataset }
    }

    /// Where the kubernetes target reads the outcomes of a routed rollout's requests: a Prometheus that
    /// scrapes the model servers (`gitops_ml_requests_total{model,code}`,
    /// `gitops_ml_request_duration_seconds_bucket{model,le}`) with each pod's `gitops-ml.dev/track` label as
    /// `track_label` and its namespace as `namespace_label` (empty: the series carry no namespace).
    public struct OutcomeQuery: Sendable, Equatable {
        public var url: String
        public var trackLabel = "track"
        public var namespaceLabel = "namespace"
        /// Seconds between two reads (Prometheus's scrape interval is the finest that means anything).
        public var every: Double = 15
        /// The environment variable holding a bearer token for Prometheus (never written anywhere).
        public var tokenVariable: String?

        public init(url: String) { self.url = url }
    }

    /// How a rollout is judged healthy: probes, then a smoke prediction, within one deadline.
    public struct Health: Sendable, Equatable {
        public var deadline: Double = 120
        /// Empty: the model's `serving.health_path`, with the default thresholds.
        public var probes: [Probe] = []
        public var smoke: Smoke?

        public init(deadline: Double = 120, probes: [Probe] = [], smoke: Smoke? = nil) {
            self.deadline = deadline
            self.probes = probes
            self.smoke = smoke
        }

        public struct Probe: Sendable, Equatable {
            public var path: String
            public var period: Double = 1
            public var timeout: Double = 2
            public var successThreshold = 1
            public var failureThreshold = 3

            public init(path: String) { self.path = path }
        }

        public struct Smoke: Sendable, Equatable {
            /// A JSON request body, at the release's source commit.
            public var sample: String
            /// Dotted paths the answer must hold (`predictions.0.score`).
            public var requiredFields: [String] = []
            public var latencyBudget: Double = 1
            /// How long the smoke prediction may take to answer at all (seconds).
            public var timeout: Double = 5

            public init(sample: String, requiredFields: [String] = [], latencyBudget: Double = 1, timeout: Double = 5) {
                self.sample = sample
                self.requiredFields = requiredFields
                self.latencyBudget = latencyBudget
                self.timeout = timeout
            }
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
        if let node = top.optional("stop_grace") {
            config.stopGrace = try node.double()
            guard config.stopGrace >= 0 && config.stopGrace <= 600 else {
                throw node.error("stop_grace must be from 0 to 600 seconds")
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
        config.defaultBranch = try top.optional("default_branch")?.string()
        if let node = top.optional("state_dir") {
            config.stateDirectory = try node.string()
            guard config.stateDirectory.hasPrefix("/") else {
                throw node.error("state_dir must be an absolute path")
            }
        }
        if let node = top.optional("webhook") {
            let map = try node.mapping()
            let variableNode = try map.required("secret_env")
            let variable = try variableNode.string()
            guard Self.isVariableName(variable) else {
                throw variableNode.error("\(variable.debugDescription) is not an environment variable name")
            }
            config.webhookSecretVariable = variable
            try map.finish()
        }
        var names: Set<String> = []
        for item in try top.required("environments").list() {
            let map = try item.mapping()
            let name = try map.required("name").string()
            guard names.insert(name).inserted else { throw item.error("environment \(name) is listed twice") }
            var environment = Environment(
                name: name, branch: try map.required("branch").string(),
                namespace: try map.optional("namespace")?.string() ?? name,
                target: Target(
                    rawValue: try map.optional("target")?.choice(Target.allCases.map(\.rawValue)) ?? "kubernetes")
                    ?? .kubernetes)
            if let node = map.optional("port") {
                guard environment.target == .local else {
                    throw node.error("port is for the local target (kubernetes uses the manifests' ports)")
                }
                let port = try node.int()
                guard (1...65_535).contains(port) else { throw node.error("port must be from 1 to 65535") }
                environment.port = port
            }
            if let node = map.optional("proxy") {
                guard environment.target == .local else { throw node.error("proxy is for the local target") }
                guard environment.port != nil else {
                    throw node.error("proxy needs the stable port it serves (port:)")
                }
                let proxy = try node.mapping()
                let upstreams = try proxy.required("upstreams")
                environment.upstreams = try upstreams.list().map { try $0.int() }
                guard environment.upstreams.count == 2, Set(environment.upstreams).count == 2,
                    environment.upstreams.allSatisfy({ (1...65_535).contains($0) && $0 != environment.port })
                else {
                    throw upstreams.error("upstreams must be two different ports from 1 to 65535, not the stable port")
                }
                if let connections = proxy.optional("connections") {
                    environment.reuseConnections = try connections.choice(["reuse", "per-request"]) == "reuse"
                }
                try proxy.finish()
            }
            if let node = map.optional("drift") {
                guard !environment.upstreams.isEmpty else {
                    throw node.error("drift reads the inputs the proxy serves: it needs proxy: {upstreams: [...]}")
                }
                environment.drift = try Self.drift(node)
            }
            if let node = map.optional("feedback") {
                guard !environment.upstreams.isEmpty else {
                    throw node.error(
                        "feedback labels the requests the proxy serves: it needs proxy: {upstreams: [...]}")
                }
                let feedback = try node.mapping()
                let token = try feedback.required("token_env")
                environment.feedbackTokenVariable = try token.string()
                guard Self.isVariableName(environment.feedbackTokenVariable ?? "") else {
                    throw token.error("\(try token.string().debugDescription) is not an environment variable name")
                }
                try feedback.finish()
            }
            if let node = map.optional("prometheus") {
                guard environment.target == .kubernetes else {
                    throw node.error("prometheus is for the kubernetes target (the local one has its proxy)")
                }
                environment.prometheus = try Self.outcomeQuery(node)
            }
            if let node = map.optional("health") { environment.health = try Self.health(node) }
            config.environments.append(environment)
            try map.finish()
        }
        try top.finish()
        return config
    }

    static func drift(_ node: ConfigNode) throws -> DriftMonitor {
        let map = try node.mapping()
        var drift = DriftMonitor(dataset: try map.required("dataset").string())
        if let every = map.optional("every") { drift.every = try seconds(every, upTo: 86_400) }
        for (key, minimum) in [("sample", 10), ("minimum", 10)] {
            guard let value = map.optional(key) else { continue }
            let number = try value.int()
            guard (minimum...1_000_000).contains(number) else {
                throw value.error("\(key) must be from \(minimum) to 1000000")
            }
            if key == "sample" { drift.sample = number } else { drift.minimum = number }
        }
        guard drift.minimum <= drift.sample else { throw node.error("minimum must not be above sample") }
        if let file = map.optional("signal_file") {
            drift.signalFile = try file.string()
            guard drift.signalFile?.hasPrefix("/") == true else {
                throw file.error("signal_file must be an absolute path")
            }
        }
        if let webhook = map.optional("webhook") {
            drift.webhook = try webhook.string()
            guard let url = drift.webhook, url.hasPrefix("https://") || url.hasPrefix("http://127.0.0.1") else {
                throw webhook.error("webhook must be an https:// URL")
            }
        }
        drift.tokenVariable = try map.optional("token_env")?.string()
        try map.finish()
        return drift
    }

    static func outcomeQuery(_ node: ConfigNode) throws -> OutcomeQuery {
        let map = try node.mapping()
        let urlNode = try map.required("url")
        var query = OutcomeQuery(url: try urlNode.string())
        guard query.url.hasPrefix("https://") || query.url.hasPrefix("http://") else {
            throw urlNode.error("url must be an http:// or https:// URL (Prometheus's)")
        }
        for key in ["track_label", "namespace_label"] {
            guard let value = map.optional(key) else { continue }
            let label = try value.string()
            guard label.isEmpty && key == "namespace_label" || isVariableName(label) else {
                throw value.error("\(label.debugDescription) is not a Prometheus label name")
            }
            if key == "track_label" { query.trackLabel = label } else { query.namespaceLabel = label }
        }
        if let every = map.optional("every") { query.every = try seconds(every, upTo: 3600) }
        if let token = map.optional("token_env") {
            let variable = try token.string()
            guard isVariableName(variable) else {
                throw token.error("\(variable.debugDescription) is not an environment variable name")
            }
            query.tokenVariable = variable
        }
        try map.finish()
        return query
    }

    static func health(_ node: ConfigNode) throws -> Health {
        let map = try node.mapping()
        var health = Health()
        if let deadline = map.optional("deadline") {
            health.deadline = try seconds(deadline, upTo: 3600)
        }
        if let list = map.optional("probes") {
            for item in try list.list() {
                let probe = try item.mapping()
                let pathNode = try probe.required("path")
                var parsed = Health.Probe(path: try pathNode.string())
                guard parsed.path.hasPrefix("/"), !parsed.path.contains(where: \.isWhitespace) else {
                    throw pathNode.error(
                        "a probe path starts with / and has no spaces: \(parsed.path.debugDescription)")
                }
                if let value = probe.optional("period") { parsed.period = try seconds(value, upTo: 600) }
                if let value = probe.optional("timeout") { parsed.timeout = try seconds(value, upTo: 600) }
                if let value = probe.optional("success_threshold") { parsed.successThreshold = try count(value) }
                if let value = probe.optional("failure_threshold") { parsed.failureThreshold = try count(value) }
                try probe.finish()
                health.probes.append(parsed)
            }
        }
        if let smokeNode = map.optional("smoke") {
            let smoke = try smokeNode.mapping()
            var parsed = Health.Smoke(sample: try smoke.required("sample").repositoryPath())
            if let fields = smoke.optional("required_fields") { parsed.requiredFields = try fields.strings() }
            if let budget = smoke.optional("latency_budget") { parsed.latencyBudget = try seconds(budget, upTo: 600) }
            if let timeout = smoke.optional("timeout") { parsed.timeout = try seconds(timeout, upTo: 600) }
            try smoke.finish()
            health.smoke = parsed
        }
        try map.finish()
        return health
    }

    static func seconds(_ node: ConfigNode, upTo limit: Double) throws -> Double {
        let value = try node.double()
        guard value > 0 && value <= limit else {
            throw node.error("must be more than 0 and at most \(Int(limit)) seconds")
        }
        return value
    }

    static func count(_ node: ConfigNode) throws -> Int {
        let value = try node.int()
        guard (1...1000).contains(value) else { throw node.error("must be from 1 to 1000") }
        return value
    }

    /// A POSIX shell variable name: a letter or `_`, then letters, digits and `_`.
    static func isVariableName(_ name: String) -> Bool {
        func letter(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
        }
        let bytes = Array(name.utf8)
        guard let first = bytes.first, letter(first) else { return false }
        return bytes.allSatisfy { letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// The YAML `parse` reads back to this value.
    public var yaml: String {
        var lines = [
            "version: \(Self.supportedVersion)", "repository: \(StructuredValue.jsonString(repository))",
            "interval: \(StructuredValue.pythonFloat(interval))",
            "stop_grace: \(StructuredValue.pythonFloat(stopGrace))",
        ]
        switch verify {
        case .off: lines.append("verify: {signatures: off}")
        case .ssh(let allowed):
            lines.append("verify: {signatures: ssh, allowed_signers: \(StructuredValue.jsonString(allowed))}")
        case .openPGP(let keyring):
            lines.append("verify: {signatures: openpgp, keyring: \(StructuredValue.jsonString(keyring))}")
        }
        lines.append("state_dir: \(StructuredValue.jsonString(stateDirectory))")
        if let variable = webhookSecretVariable { lines.append("webhook: {secret_env: \(variable)}") }
        lines.append(environments.isEmpty ? "environments: []" : "environments:")
        for environment in environments {
            lines += [
                "  - name: \(StructuredValue.jsonString(environment.name))",
                "    branch: \(StructuredValue.jsonString(environment.branch))",
                "    namespace: \(StructuredValue.jsonString(environment.namespace))",
                "    target: \(environment.target.rawValue)",
            ]
            if let port = environment.port { lines.append("    port: \(port)") }
            if !environment.upstreams.isEmpty {
                let ports = environment.upstreams.map(String.init).joined(separator: ", ")
                let connections = environment.reuseConnections ? "" : ", connections: per-request"
                lines.append("    proxy: {upstreams: [\(ports)]\(connections)}")
            }
            if let drift = environment.drift {
                var fields = [
                    "dataset: \(StructuredValue.jsonString(drift.dataset))",
                    "every: \(StructuredValue.pythonFloat(drift.every))", "sample: \(drift.sample)",
                    "minimum: \(drift.minimum)",
                ]
                if let file = drift.signalFile { fields.append("signal_file: \(StructuredValue.jsonString(file))") }
                if let webhook = drift.webhook { fields.append("webhook: \(StructuredValue.jsonString(webhook))") }
                if let token = drift.tokenVariable { fields.append("token_env: \(token)") }
                lines.append("    drift: {\(fields.joined(separator: ", "))}")
            }
            if let variable = environment.feedbackTokenVariable {
                lines.append("    feedback: {token_env: \(variable)}")
            }
            if let query = environment.prometheus {
                var fields = [
                    "url: \(StructuredValue.jsonString(query.url))",
                    "track_label: \(StructuredValue.jsonString(query.trackLabel))",
                    "namespace_label: \(StructuredValue.jsonString(query.namespaceLabel))",
                    "every: \(StructuredValue.pythonFloat(query.every))",
                ]
                if let token = query.tokenVariable { fields.append("token_env: \(token)") }
                lines.append("    prometheus: {\(fields.joined(separator: ", "))}")
            }
            let health = environment.health
            guard health != Health() else { continue }
            lines += ["    health:", "      deadline: \(StructuredValue.pythonFloat(health.deadline))"]
            if !health.probes.isEmpty {
                lines.append("      probes:")
                for probe in health.probes {
                    lines.append(
                        "        - {path: \(StructuredValue.jsonString(probe.path)), "
                            + "period: \(StructuredValue.pythonFloat(probe.period)), "
                            + "timeout: \(StructuredValue.pythonFloat(probe.timeout)), "
                            + "success_threshold: \(probe.successThreshold), failure_threshold: \(probe.failureThreshold)}"
                    )
                }
            }
            if let smoke = health.smoke {
                let fields = smoke.requiredFields.map(StructuredValue.jsonString).joined(separator: ", ")
                lines.append(
                    "      smoke: {sample: \(StructuredValue.jsonString(smoke.sample)), required_fields: [\(fields)], "
                        + "latency_budget: \(StructuredValue.pythonFloat(smoke.latencyBudget)), "
                        + "timeout: \(StructuredValue.pythonFloat(smoke.timeout))}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
