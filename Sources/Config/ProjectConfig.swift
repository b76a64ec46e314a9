import GitOpsMLCore

/// `gitops-ml.yaml`, version 1: what the project holds and how to check and deploy it.
public struct ProjectConfig: Sendable, Equatable {
    public static let fileName = "gitops-ml.yaml"
    public static let supportedVersion = 1

    public var project: String?
    /// The branch pull requests merge into; `check` compares against it when no base is given.
    public var defaultBranch: String?
    /// Metrics files (JSON/YAML/TOML). Empty: those of `dvc.yaml`, else `metrics.json` when present.
    public var metrics: [String]
    /// Params files. Empty: those of `dvc.yaml`, plus `params.yaml` when present.
    public var params: [String]
    public var models: [String: Model]
    public var datasets: [String: Dataset]
    public var environments: [String: Environment]
    public var checks: Checks

    public struct Model: Sendable, Equatable {
        public var name: String
        public var artifact: String?
        public var metrics: String?
        public var predictions: String?
        public var task: Task
        public var serving: Serving

        public enum Task: String, Sendable { case classification, regression }
    }

    public struct Serving: Sendable, Equatable {
        public var image: String?
        public var port: Int = 8080
        public var command: [String] = []
        public var healthPath: String = "/healthz"
        public var predictPath: String = "/predict"
        public var replicas: Int = 1

        public init() {}
    }

    public struct Dataset: Sendable, Equatable {
        public var name: String
        public var path: String
        public var format: String?
        public var delimiter: String?
    }

    public struct Environment: Sendable, Equatable {
        public var name: String
        /// The branch holding this environment's release records and manifests.
        public var branch: String
        public var namespace: String
        public var requiresApproval: Bool
    }

    public struct Checks: Sendable, Equatable {
        public var policies: String = "policies"
        public var code: [CodeCheck] = []
        /// What a gate concludes when there is no champion yet (first deployment).
        public var firstDeployment: Verdict = .warn

        public enum Verdict: String, Sendable { case pass, warn, fail }

        public init() {}
    }

    public struct CodeCheck: Sendable, Equatable {
        public var name: String
        public var run: String
        public var timeout: Double = 600
        public var junit: String?
        public var workingDirectory: String?
    }

    public init(
        project: String? = nil, defaultBranch: String? = nil, metrics: [String] = [], params: [String] = [],
        models: [String: Model] = [:], datasets: [String: Dataset] = [:], environments: [String: Environment] = [:],
        checks: Checks = Checks()
    ) {
        self.project = project
        self.defaultBranch = defaultBranch
        self.metrics = metrics
        self.params = params
        self.models = models
        self.datasets = datasets
        self.environments = environments
        self.checks = checks
    }
}

extension ProjectConfig {
    /// Parses `gitops-ml.yaml`. Unknown keys, a missing or unsupported `version`, and wrong types are
    /// configuration errors at their line.
    public static func parse(_ bytes: [UInt8], file: String = fileName) throws -> ProjectConfig {
        guard let root = try YAMLReader.compose(bytes, file: file) else {
            throw GitOpsMLError.configuration("empty configuration file", at: SourceLocation(file: file))
        }
        let top = try ConfigNode(root, file: file).mapping()
        let versionNode = try top.required("version")
        let version = try versionNode.int()
        guard version == supportedVersion else {
            throw versionNode.error("unsupported version \(version) (this gitops-ml reads version \(supportedVersion))")
        }
        var config = ProjectConfig()
        config.project = try top.optional("project")?.string()
        config.defaultBranch = try top.optional("default_branch")?.string()
        config.metrics = try top.optional("metrics")?.strings() ?? []
        config.params = try top.optional("params")?.strings() ?? []
        for (name, node) in try top.optional("models")?.mapping().all() ?? [] {
            config.models[name] = try model(name, node)
        }
        for (name, node) in try top.optional("datasets")?.mapping().all() ?? [] {
            config.datasets[name] = try dataset(name, node)
        }
        for (name, node) in try top.optional("environments")?.mapping().all() ?? [] {
            config.environments[name] = try environment(name, node)
        }
        if let checks = top.optional("checks") { config.checks = try self.checks(checks) }
        try top.finish()
        return config
    }

    private static func model(_ name: String, _ node: ConfigNode) throws -> Model {
        let map = try node.mapping()
        var model = Model(
            name: name, artifact: try map.optional("artifact")?.string(),
            metrics: try map.optional("metrics")?.string(),
            predictions: try map.optional("predictions")?.string(), task: .classification, serving: Serving())
        if let task = map.optional("task") {
            model.task = Model.Task(rawValue: try task.choice(["classification", "regression"])) ?? .classification
        }
        if let servingNode = map.optional("serving") {
            let serving = try servingNode.mapping()
            model.serving.image = try serving.optional("image")?.string()
            model.serving.port = try serving.optional("port")?.int() ?? 8080
            model.serving.command = try serving.optional("command")?.strings() ?? []
            model.serving.healthPath = try serving.optional("health_path")?.string() ?? "/healthz"
            model.serving.predictPath = try serving.optional("predict_path")?.string() ?? "/predict"
            model.serving.replicas = try serving.optional("replicas")?.int() ?? 1
            guard (1...65535).contains(model.serving.port) else {
                throw try serving.required("port").error("port must be between 1 and 65535")
            }
            try serving.finish()
        }
        try map.finish()
        return model
    }

    private static func dataset(_ name: String, _ node: ConfigNode) throws -> Dataset {
        if case .scalar = node.node { return Dataset(name: name, path: try node.string()) }
        let map = try node.mapping()
        let dataset = Dataset(
            name: name, path: try map.required("path").string(),
            format: try map.optional("format")?.choice(["csv", "tsv", "jsonl"]),
            delimiter: try map.optional("delimiter")?.string())
        try map.finish()
        return dataset
    }

    private static func environment(_ name: String, _ node: ConfigNode) throws -> Environment {
        let map = try node.mapping()
        let environment = Environment(
            name: name, branch: try map.optional("branch")?.string() ?? "main",
            namespace: try map.optional("namespace")?.string() ?? name,
            requiresApproval: try map.optional("requires_approval")?.bool() ?? false)
        try map.finish()
        return environment
    }

    private static func checks(_ node: ConfigNode) throws -> Checks {
        let map = try node.mapping()
        var checks = Checks()
        checks.policies = try map.optional("policies")?.string() ?? "policies"
        if let first = map.optional("first_deployment") {
            checks.firstDeployment = Checks.Verdict(rawValue: try first.choice(["pass", "warn", "fail"])) ?? .warn
        }
        for item in try map.optional("code")?.list() ?? [] {
            let code = try item.mapping()
            var check = CodeCheck(name: try code.required("name").string(), run: try code.required("run").string())
            check.timeout = try code.optional("timeout")?.double() ?? 600
            check.junit = try code.optional("junit")?.string()
            check.workingDirectory = try code.optional("working_directory")?.string()
            try code.finish()
            checks.code.append(check)
        }
        try map.finish()
        return checks
    }
}
