import GitOpsMLCore

/// `gitops-ml.yaml`, version 1: what the project holds and how to check and deploy it.
public struct ProjectConfig: Sendable, Equatable {
    public static let fileName = "gitops-ml.yaml"
    public static let supportedVersion = 1

    public var project: String?
    /// The branch pull requests merge into; `check` compares against it when no base is given.
    public var defaultBranch: String?

    /// Every file the checks read that the project declares — models' artifacts, metrics and predictions,
    /// the metrics and params files, datasets — sorted, each once: what a CI job must fetch (from git-lfs or
    /// a DVC remote) before `check`, `promote` or `data drift` can read it.
    public var declaredPaths: [String] {
        let models = models.values.flatMap { [$0.artifact, $0.metrics, $0.predictions].compactMap { $0 } }
        return Set(models + metrics + params + datasets.values.map(\.path)).sorted()
    }

    /// The branches that may be the default one, in order: `default_branch` when set, else `main`, `master`.
    public static func defaultBranchNames(_ configured: String?) -> [String] {
        configured.map { [$0] } ?? ["main", "master"]
    }
    /// Metrics files (JSON/YAML/TOML). Empty: those of `dvc.yaml`, else `metrics.json` when present.
    public var metrics: [String]
    /// Params files. Empty: those of `dvc.yaml`, plus `params.yaml` when present.
    public var params: [String]
    public var models: [String: Model]
    public var datasets: [String: Dataset]
    public var environments: [String: Environment]
    public var checks: Checks
    public var workflows: Workflows = Workflows()
    /// The git URL the sync agent fetches the environment branches from.
    public var gitopsRepository: String?

    public struct Model: Sendable, Equatable {
        public var name: String
        public var artifact: String?
        public var metrics: String?
        public var predictions: String?
        public var task: Task
        public var serving: Serving
        /// The positive class of a binary classifier (default: `1` when the labels are 0/1 or booleans).
        public var positiveLabel: String?
        /// Every class the classifier may predict; a label outside them is an error.
        public var classes: [String]?

        public enum Task: String, Sendable { case classification, regression }
    }

    public struct Serving: Sendable, Equatable {
        public var image: String?
        public var port: Int = 8080
        public var command: [String] = []
        public var healthPath: String = "/healthz"
        public var predictPath: String = "/predict"
        public var replicas: Int = 1
        /// Kubernetes quantities: requests and limits of the serving container.
        public var cpuRequest = "250m"
        public var memoryRequest = "512Mi"
        public var cpuLimit = "1"
        public var memoryLimit = "1Gi"
        /// Horizontal autoscaling between `minReplicas` (default `replicas`) and `maxReplicas` on CPU use.
        public var minReplicas: Int?
        public var maxReplicas: Int?
        public var targetCPUUtilization = 70
        /// Percent of traffic for a canary Deployment beside the stable one; nil renders no canary.
        public var canaryWeight: Int?
        /// Also render a KServe `InferenceService` (for clusters running KServe).
        public var kserve = false
        /// The Gateway API gateway (`NAMESPACE/NAME`, or `NAME` in the environment's namespace) a canary,
        /// blue-green or shadow rollout on Kubernetes routes through.
        public var gateway: String?

        public init() {}
    }

    /// The generated GitHub Actions workflows.
    public struct Workflows: Sendable, Equatable {
        public var runsOn = "ubuntu-24.04"
        /// The gitops-ml release the workflows install, from `repository`'s GitHub releases.
        public var gitopsMLVersion = GitOpsMLVersion.current
        public var gitopsMLRepository = "gitops-ml/gitops-ml"
        /// sha256 of the release archive; when set the workflows verify the download against it.
        public var gitopsMLSHA256: String?
        /// The environment promoted on every push to the default branch, and the one needing approval.
        public var autoPromote = "staging"
        /// Drift monitoring: the dataset compared, the environment whose release is the reference, when.
        public var driftDataset: String?
        public var driftEnvironment = "production"
        public var driftSchedule = "0 6 * * 1"
        /// A workflow file dispatched when drift is found; without it an issue is opened.
        public var retrainWorkflow: String?

        public init() {}
    }

    public struct Dataset: Sendable, Equatable {
        public var name: String
        public var path: String
        public var format: String?
        public var delimiter: String?

        /// Files the data suite reads (tests and drift): CSV, TSV and JSON Lines, or a pointer to one.
        public static func isReadable(_ path: String) -> Bool {
            [".csv", ".tsv", ".jsonl", ".ndjson"].contains { path.lowercased().hasSuffix($0) }
        }
    }

    public struct Environment: Sendable, Equatable {
        public var name: String
        /// The branch holding this environment's release records and manifests.
        public var branch: String
        public var namespace: String
        public var requiresApproval: Bool
        /// An allowed-signers file (git's SSH format) in the repository: promotions to this environment need
        /// a gate report signed (`check --sign ssh`) by one of them.
        public var reportSigners: String?
        /// The Prometheus the generated sync agent reads a routed rollout's outcomes from (its URL).
        public var prometheus: String?

        /// The TCP port of `prometheus` (the scheme's when the URL names none).
        public var prometheusPort: Int? {
            guard let prometheus else { return nil }
            let secure = prometheus.hasPrefix("https://")
            let authority = prometheus.dropFirst(secure ? 8 : 7).prefix { $0 != "/" && $0 != "?" }
            let host = authority.split(separator: "@").last ?? authority
            guard let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") else { return secure ? 443 : 80 }
            return Int(host[host.index(after: colon)...])
        }
    }

    public struct Checks: Sendable, Equatable {
        public var policies: String = "policies"
        /// Whether gitops-ml.yaml names the policies folder (then an empty or absent folder is an error).
        public var policiesDeclared = false
        /// What a change to the rules (gitops-ml.yaml, policies/, templates/) concludes: warn, or fail.
        public var policyChanges: Verdict = .warn
        public var code: [CodeCheck] = []
        /// What a gate concludes when there is no champion yet (first deployment).
        public var firstDeployment: Verdict = .warn
        /// The share of the challenger's evaluation ids the champion must also have scored for a paired
        /// comparison (1: the same ids on both sides).
        public var minOverlap: Double = 1

        public enum Verdict: String, Sendable, CaseIterable { case pass, warn, fail }

        public init() {}
    }

    public struct CodeCheck: Sendable, Equatable {
        public var name: String
        public var run: String
        public var timeout: Double = 600
        public var junit: String?
        public var workingDirectory: String?
        /// Secrets (GITHUB_TOKEN, GITOPS_ML_*TOKEN*, ACTIONS_ID_TOKEN_REQUEST_*…) the command may see.
        public var passEnv: [String] = []
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
        config.metrics = try top.optional("metrics")?.repositoryPaths() ?? []
        config.params = try top.optional("params")?.repositoryPaths() ?? []
        for (name, node) in try top.optional("models")?.mapping().all() ?? [] {
            guard ModelName.isValid(name) else {
                throw node.error(
                    "\(Redaction.quoted(name)) is not a model name (letters, digits, '-', '_' and '/', "
                        + "starting and ending with a letter or digit)")
            }
            config.models[name] = try model(name, node)
        }
        for (name, node) in try top.optional("datasets")?.mapping().all() ?? [] {
            config.datasets[name] = try dataset(name, node)
        }
        for (name, node) in try top.optional("environments")?.mapping().all() ?? [] {
            config.environments[name] = try environment(name, node)
        }
        if let checks = top.optional("checks") { config.checks = try self.checks(checks) }
        config.gitopsRepository = try top.optional("gitops_repository")?.string()
        if let workflows = top.optional("workflows") { config.workflows = try self.workflows(workflows) }
        try top.finish()
        return config
    }

    private static func model(_ name: String, _ node: ConfigNode) throws -> Model {
        let map = try node.mapping()
        var model = Model(
            name: name, artifact: try map.optional("artifact")?.repositoryPath(),
            metrics: try map.optional("metrics")?.repositoryPath(),
            predictions: try map.optional("predictions")?.repositoryPath(), task: .classification, serving: Serving())
        if let task = map.optional("task") {
            model.task = Model.Task(rawValue: try task.choice(["classification", "regression"])) ?? .classification
        }
        if let node = map.optional("positive_label") {
            model.positiveLabel = try node.string()
            guard model.task == .classification else {
                throw node.error("positive_label is for a classification model")
            }
        }
        if let node = map.optional("classes") {
            let classes = try node.strings()
            guard model.task == .classification else { throw node.error("classes are for a classification model") }
            guard classes.count >= 2, Set(classes).count == classes.count, !classes.contains("") else {
                throw node.error("classes must be two or more distinct, non-empty labels")
            }
            if let positive = model.positiveLabel, !classes.contains(positive) {
                throw node.error("positive_label \"\(positive)\" is not one of the classes")
            }
            model.classes = classes
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
            if let resources = try serving.optional("resources")?.mapping() {
                model.serving.cpuRequest = try resources.optional("cpu")?.string() ?? model.serving.cpuRequest
                model.serving.memoryRequest = try resources.optional("memory")?.string() ?? model.serving.memoryRequest
                model.serving.cpuLimit = try resources.optional("cpu_limit")?.string() ?? model.serving.cpuLimit
                model.serving.memoryLimit =
                    try resources.optional("memory_limit")?.string() ?? model.serving.memoryLimit
                try resources.finish()
            }
            if let autoscaling = try serving.optional("autoscaling")?.mapping() {
                model.serving.minReplicas = try autoscaling.optional("min_replicas")?.int()
                model.serving.maxReplicas = try autoscaling.optional("max_replicas")?.int()
                model.serving.targetCPUUtilization = try autoscaling.optional("target_cpu")?.int() ?? 70
                try autoscaling.finish()
            }
            if let canary = serving.optional("canary_weight") {
                let weight = try canary.int()
                guard (1...99).contains(weight) else { throw canary.error("canary_weight must be between 1 and 99") }
                model.serving.canaryWeight = weight
            }
            model.serving.kserve = try serving.optional("kserve")?.bool() ?? false
            if let gateway = serving.optional("gateway") {
                let text = try gateway.string()
                let parts = text.split(separator: "/", omittingEmptySubsequences: false)
                // Kubernetes names (RFC 1123 labels): lowercase letters, digits and inner dashes, 63 at most.
                let label = { (part: Substring) in
                    (1...63).contains(part.count) && part.first != "-" && part.last != "-"
                        && part.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
                }
                guard (1...2).contains(parts.count), parts.allSatisfy(label) else {
                    throw gateway.error("gateway must be NAMESPACE/NAME or NAME (Kubernetes names)")
                }
                model.serving.gateway = text
            }
            try serving.finish()
        }
        try map.finish()
        return model
    }

    private static func dataset(_ name: String, _ node: ConfigNode) throws -> Dataset {
        if case .scalar = node.node { return Dataset(name: name, path: try node.repositoryPath()) }
        let map = try node.mapping()
        let dataset = Dataset(
            name: name, path: try map.required("path").repositoryPath(),
            format: try map.optional("format")?.choice(["csv", "tsv", "jsonl"]),
            delimiter: try map.optional("delimiter")?.string())
        try map.finish()
        return dataset
    }

    private static func environment(_ name: String, _ node: ConfigNode) throws -> Environment {
        let map = try node.mapping()
        var environment = Environment(
            name: name, branch: try map.optional("branch")?.string() ?? "main",
            namespace: try map.optional("namespace")?.string() ?? name,
            requiresApproval: try map.optional("requires_approval")?.bool() ?? false,
            reportSigners: try map.optional("report_signers")?.repositoryPath())
        if let node = map.optional("prometheus") {
            let url = try node.string()
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.count > "https://".count else {
                throw node.error(
                    "prometheus must be an http:// or https:// URL (for example http://prometheus.monitoring:9090)")
            }
            environment.prometheus = url
        }
        try map.finish()
        return environment
    }

    private static func workflows(_ node: ConfigNode) throws -> Workflows {
        let map = try node.mapping()
        var workflows = Workflows()
        workflows.runsOn = try map.optional("runs_on")?.string() ?? workflows.runsOn
        workflows.gitopsMLVersion = try map.optional("gitops_ml_version")?.string() ?? workflows.gitopsMLVersion
        workflows.gitopsMLRepository =
            try map.optional("gitops_ml_repository")?.string() ?? workflows.gitopsMLRepository
        workflows.gitopsMLSHA256 = try map.optional("gitops_ml_sha256")?.string()
        workflows.autoPromote = try map.optional("auto_promote")?.string() ?? workflows.autoPromote
        if let drift = try map.optional("drift")?.mapping() {
            workflows.driftDataset = try drift.optional("dataset")?.string()
            workflows.driftEnvironment = try drift.optional("environment")?.string() ?? workflows.driftEnvironment
            if let schedule = drift.optional("schedule") {
                workflows.driftSchedule = try schedule.string()
                // A cron line of five fields, as GitHub reads it: nothing else reaches the workflow.
                let fields = workflows.driftSchedule.split(separator: " ", omittingEmptySubsequences: true)
                let allowed = Set("0123456789*,-/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
                guard fields.count == 5, fields.allSatisfy({ $0.allSatisfy(allowed.contains) }) else {
                    throw schedule.error(
                        "schedule must be a cron line of five fields (minute hour day month weekday), such as \"0 6 * * 1\""
                    )
                }
            }
            workflows.retrainWorkflow = try drift.optional("retrain_workflow")?.string()
            try drift.finish()
        }
        try map.finish()
        return workflows
    }

    private static func checks(_ node: ConfigNode) throws -> Checks {
        let map = try node.mapping()
        var checks = Checks()
        checks.policies = try map.optional("policies")?.repositoryPath() ?? "policies"
        checks.policiesDeclared = map.optional("policies") != nil
        if let node = map.optional("policy_changes") {
            checks.policyChanges = Checks.Verdict(rawValue: try node.choice(["warn", "fail"])) ?? .warn
        }
        if let first = map.optional("first_deployment") {
            checks.firstDeployment = try first.choice()
        }
        if let node = map.optional("min_overlap") {
            checks.minOverlap = try node.double()
            guard checks.minOverlap > 0 && checks.minOverlap <= 1 else {
                throw node.error("min_overlap must be above 0 and at most 1")
            }
        }
        for item in try map.optional("code")?.list() ?? [] {
            let code = try item.mapping()
            let run = try code.required("run")
            var check = CodeCheck(name: try code.required("name").string(), run: try run.string())
            guard !check.run.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw run.error("run must be a command, not empty")
            }
            if let timeout = code.optional("timeout") {
                check.timeout = try timeout.double()
                // A day at most: a bound a runner can keep; 0, negative and NaN would never run or never end.
                guard check.timeout > 0 && check.timeout <= 86_400 else {
                    throw timeout.error("timeout must be above 0 and at most 86400 seconds (a day)")
                }
            }
            check.junit = try code.optional("junit")?.repositoryPath()
            check.workingDirectory = try code.optional("working_directory")?.repositoryPath()
            check.passEnv = try code.optional("pass_env")?.strings() ?? []
            try code.finish()
            checks.code.append(check)
        }
        try map.finish()
        return checks
    }
}
