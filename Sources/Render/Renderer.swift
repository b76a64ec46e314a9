import Config
import GitOpsMLCore

/// What a render needs to know about the repository beyond gitops-ml.yaml.
public struct ProjectFacts: Sendable, Equatable {
    /// `.gitattributes` routes files through git-lfs: the workflows check out LFS objects.
    public var usesLFS = false
    /// The project has `dvc.yaml` or `.dvc/`: the CI workflow pulls DVC-tracked data.
    public var usesDVC = false
    /// The pip extra of DVC for the project's default remote (`s3`, `gs`, …), nil for none.
    public var dvcExtra: String?

    public init(usesLFS: Bool = false, usesDVC: Bool = false, dvcExtra: String? = nil) {
        self.dvcExtra = dvcExtra
        self.usesLFS = usesLFS
        self.usesDVC = usesDVC
    }
}

/// Renders the bundled (or the user's) templates with values from gitops-ml.yaml and release records,
/// and reads every result back before returning it. Names that become Kubernetes names, label values,
/// shell words or workflow text are checked first, so that nothing from the configuration can change
/// the meaning of a rendered file.
public struct Renderer: Sendable {
    public let config: ProjectConfig
    public let library: TemplateLibrary
    public let facts: ProjectFacts
    public static let agentNamespace = "gitops-ml-system"

    public init(config: ProjectConfig, library: TemplateLibrary, facts: ProjectFacts = ProjectFacts()) {
        self.config = config
        self.library = library
        self.facts = facts
    }

    // MARK: Workflows

    /// The local composite action the workflows use.
    public static let setupAction = ".github/actions/gitops-ml/action.yml"

    /// `.github/workflows/ml-ci.yml`, `ml-promote.yml`, and `ml-drift.yml` when a dataset drift can read is
    /// configured, with the composite action they share.
    public func workflows() throws -> [RenderedFile] {
        try checkNames()
        guard !config.models.isEmpty else {
            throw GitOpsMLError.configuration("no models: the workflows promote models", at: configFile)
        }
        guard config.environments[config.workflows.autoPromote] != nil else {
            throw GitOpsMLError.configuration(
                "workflows.auto_promote: '\(config.workflows.autoPromote)' is not an environment of this project",
                at: configFile)
        }
        var context = common()
        context["default_branch"] = .text(config.defaultBranch ?? "main")
        context["uses_lfs"] = .bool(facts.usesLFS)
        // git-lfs objects are fetched for the declared paths only, not every object of the revision.
        context["lfs_include"] = facts.usesLFS ? try lfsInclude().map(TemplateValue.text) ?? .null : .null
        context["uses_dvc"] = .bool(facts.usesDVC)
        // DVC with the extra its default remote needs (plain dvc cannot pull from s3:// and the like).
        context["dvc_package"] = .text("dvc\(facts.dvcExtra.map { "[\($0)]" } ?? "")==3.67.1")
        context["workflows"] = .map([
            "runs_on": .text(config.workflows.runsOn), "auto_promote": .text(config.workflows.autoPromote),
        ])
        context["models"] = .list(config.models.keys.sorted().map { .map(["name": .text($0)]) })
        context["environments"] = .list(config.environments.keys.sorted().map { .map(["name": .text($0)]) })
        var files = [
            // The steps every job starts with (install, fetch the declared data), written once.
            try render("actions/gitops-ml/action.yml", to: Self.setupAction, context, as: .action),
            try render("workflows/ml-ci.yml", to: ".github/workflows/ml-ci.yml", context, as: .workflow),
            try render("workflows/ml-promote.yml", to: ".github/workflows/ml-promote.yml", context, as: .workflow),
        ]
        // Without workflows.drift, the first dataset in a format drift reads (CSV, TSV, JSON Lines): no drift
        // workflow for an XML file or an image folder.
        let readable = config.datasets.filter { ProjectConfig.Dataset.isReadable($0.value.path) }
        if let dataset = config.workflows.driftDataset ?? readable.keys.sorted().first {
            guard config.datasets[dataset] != nil else {
                throw GitOpsMLError.configuration(
                    "workflows.drift.dataset: '\(dataset)' is not a dataset of this project", at: configFile)
            }
            try checkPlain(config.workflows.driftEnvironment, "workflows.drift.environment")
            if let retrain = config.workflows.retrainWorkflow {
                try checkPlain(retrain, "workflows.drift.retrain_workflow")
            }
            context["drift"] = .map([
                "dataset": .text(dataset), "environment": .text(config.workflows.driftEnvironment),
                "schedule": .text(config.workflows.driftSchedule),
                "retrain_workflow": config.workflows.retrainWorkflow.map(TemplateValue.text) ?? .null,
            ])
            files.append(
                try render("workflows/ml-drift.yml", to: ".github/workflows/ml-drift.yml", context, as: .workflow))
        }
        return files
    }

    /// The paths whose git-lfs objects the checks read — models' artifacts, metrics and predictions, the
    /// metrics and params files, datasets — as `git lfs fetch --include` takes them; nil when none is
    /// declared. Each must be plain text for the workflow (it is a comma-separated pattern list there).
    func lfsInclude() throws -> String? {
        let paths = config.declaredPaths
        for path in paths where !Template.isPlainSafe(path) {
            throw GitOpsMLError.configuration(
                "\(YAMLText.quoted(path)): a path fetched through git-lfs in the workflows may hold only letters, digits and . _ - / : @ + =",
                at: SourceLocation(file: ProjectConfig.fileName))
        }
        return paths.isEmpty ? nil : paths.joined(separator: ",")
    }

    // MARK: Manifests

    /// `deploy/<env>/`: a kustomization over one folder per model. `releases` are the environment's release
    /// records by model; a model without one renders as "unreleased". `only` restricts the models rendered
    /// and listed (promote renders the released ones).
    public func manifests(
        environment name: String, releases: [String: ReleaseRecord] = [:], only: Set<String>? = nil
    ) throws -> [RenderedFile] {
        try checkNames()
        guard let environment = config.environments[name] else {
            let known = config.environments.keys.sorted().joined(separator: ", ")
            throw GitOpsMLError.configuration(
                "environment '\(name)' is not in gitops-ml.yaml (known: \(known.isEmpty ? "none" : known))",
                at: configFile)
        }
        var context = common()
        context["environment"] = .map([
            "name": .text(environment.name), "namespace": .text(environment.namespace),
            "branch": .text(environment.branch),
        ])
        let modelNames = config.models.keys.sorted().filter { only?.contains($0) ?? true }
        context["models"] = .list(modelNames.map { .map(["name": .text($0)]) })
        let folder = "deploy/\(environment.name)"
        var files = [
            try render("manifests/kustomization.yaml", to: "\(folder)/kustomization.yaml", context, as: .kubernetes)
        ]
        for modelName in modelNames {
            guard let model = config.models[modelName] else { continue }
            let release = releases[modelName]
            context["model"] = try modelContext(model, environment: environment, release: release)
            let out = "\(folder)/\(modelName)"
            for file in ["kustomization", "serviceaccount", "configmap", "service", "hpa", "pdb", "networkpolicy"] {
                files.append(
                    try render("manifests/model/\(file).yaml", to: "\(out)/\(file).yaml", context, as: .kubernetes))
            }
            let image = try self.image(model, release: release)
            // A canary, blue-green or shadow rollout with a version to keep serving: two tracks behind an
            // HTTPRoute, the new one at full size (the route, not the pods, splits the requests).
            let route = try self.route(model, environment: environment, release: release)
            if let route { context["route"] = route }
            let canary = route != nil ? 0 : model.serving.canaryWeight
            let canaryReplicas =
                route != nil
                ? model.serving.replicas : canary.map { max(1, (model.serving.replicas * $0 + 50) / 100) } ?? 0
            // With a canary, the stable track keeps running the previous version until the canary is promoted.
            let stableImage =
                canary != nil && release?.previousVersion != nil
                ? try self.image(model, version: release?.previousVersion) : image
            var deployment: [String: TemplateValue] = [
                "name": .text(modelName), "track": .text("stable"), "image": .text(stableImage.reference),
                "image_by_digest": .bool(stableImage.byDigest),
                "version": .text(
                    canary != nil
                        ? (release?.previousVersion.map(ReleaseRecord.tag) ?? version(release)) : version(release)),
                "replicas": .number(
                    Double(route != nil ? model.serving.replicas : max(1, model.serving.replicas - canaryReplicas))),
            ]
            context["deployment"] = .map(deployment)
            files.append(
                try render("manifests/model/deployment.yaml", to: "\(out)/deployment.yaml", context, as: .kubernetes))
            if canary != nil {
                deployment["name"] = .text("\(modelName)-canary")
                deployment["track"] = .text("canary")
                deployment["image"] = .text(image.reference)
                deployment["image_by_digest"] = .bool(image.byDigest)
                deployment["version"] = .text(version(release))
                deployment["replicas"] = .number(Double(canaryReplicas))
                context["deployment"] = .map(deployment)
                files.append(
                    try render(
                        "manifests/model/deployment.yaml", to: "\(out)/deployment-canary.yaml", context, as: .kubernetes
                    ))
            }
            if route != nil {
                for track in ["stable", "canary"] {
                    context["track"] = .map(["name": .text(track)])
                    files.append(
                        try render(
                            "manifests/model/service-track.yaml", to: "\(out)/service-\(track).yaml", context,
                            as: .kubernetes))
                }
                files.append(
                    try render("manifests/model/httproute.yaml", to: "\(out)/httproute.yaml", context, as: .kubernetes))
            }
            if model.serving.kserve {
                files.append(
                    try render(
                        "manifests/model/inferenceservice.yaml", to: "\(out)/inferenceservice.yaml", context,
                        as: .kubernetes))
            }
        }
        return files
    }

    /// `deploy/gitops-ml-agent/`: the sync agent with a Role in each environment's namespace.
    public func agent() throws -> [RenderedFile] {
        try checkNames()
        var context = common()
        let image = "ghcr.io/\(config.workflows.gitopsMLRepository):\(GitOpsMLVersion.current)"
        // The model servers' ports (health probes) and Prometheus's (a routed rollout's outcomes).
        let prometheus = config.environments.values.compactMap(\.prometheusPort)
        let ports = Set(config.models.values.map(\.serving.port) + prometheus).subtracting([443, 53]).sorted()
        context["agent"] = .map([
            "namespace": .text(Self.agentNamespace), "image": .text(image), "image_by_digest": .bool(false),
            "config": .text(agentConfig()), "model_ports": .list(ports.map { .number(Double($0)) }),
        ])
        context["environments"] = .list(
            config.environments.keys.sorted().compactMap { config.environments[$0] }.map {
                .map(["name": .text($0.name), "namespace": .text($0.namespace)])
            })
        let folder = "deploy/gitops-ml-agent"
        return try [
            "kustomization", "namespace", "serviceaccount", "rbac", "configmap", "deployment", "service",
            "networkpolicy",
        ]
        .map { try render("agent/\($0).yaml", to: "\(folder)/\($0).yaml", context, as: .kubernetes) }
    }

    /// The agent's own configuration (`AgentConfig`, which the agent parses back): the repository it
    /// fetches from, and which branch of each environment it applies where.
    func agentConfig() -> String {
        AgentConfig(
            repository: config.gitopsRepository ?? "",
            environments: config.environments.keys.sorted().compactMap { config.environments[$0] }.map {
                var environment = AgentConfig.Environment(
                    name: $0.name, branch: $0.branch, namespace: $0.namespace, target: .kubernetes)
                environment.prometheus = $0.prometheus.map { AgentConfig.OutcomeQuery(url: $0) }
                return environment
            }
        ).yaml
    }

    // MARK: Monitoring

    /// `monitoring/`: Prometheus alert rules (plain and as a PrometheusRule) and a Grafana dashboard.
    public func monitoring() throws -> [RenderedFile] {
        try checkNames()
        var context = common()
        context["models"] = .list(config.models.keys.sorted().map { .map(["name": .text($0)]) })
        let project = config.project ?? "gitops-ml"
        context["dashboard"] = .map([
            "uid": .text(String("gitops-ml-\(project)".prefix(40))),
            "title": .text("\(project): models and sync agent"),
        ])
        let rules = try render(
            "monitoring/alerts.rules.yml", to: "monitoring/alerts.rules.yml", context, as: .prometheusRules)
        return [
            rules, try prometheusRule(wrapping: rules),
            try render("monitoring/dashboard.json", to: "monitoring/grafana-dashboard.json", context, as: .json),
        ]
    }

    /// The same groups as a prometheus-operator `PrometheusRule`, so the two can never disagree.
    func prometheusRule(wrapping rules: RenderedFile) throws -> RenderedFile {
        let body = rules.contents.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }.map { $0.isEmpty ? "" : "  " + $0 }.joined(separator: "\n")
        let name = YAMLText.scalar("\(config.project ?? "gitops-ml")-gitops-ml")
        let text = """
            # Generated by gitops-ml \(GitOpsMLVersion.current) from templates/monitoring/alerts.rules.yml, for the
            # prometheus-operator; the same rules as monitoring/alerts.rules.yml.
            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: \(name)
              namespace: \(Self.agentNamespace)
              labels:
                app.kubernetes.io/part-of: \(YAMLText.scalar(config.project ?? "gitops-ml"))
                app.kubernetes.io/managed-by: gitops-ml
            spec:

            """ + body
        let file = RenderedFile(path: "monitoring/prometheusrule.yaml", contents: text, template: rules.template)
        try Validation.check(file, as: .kubernetes)
        return file
    }

    // MARK: Context

    private var configFile: SourceLocation { SourceLocation(file: ProjectConfig.fileName) }

    private func common() -> [String: TemplateValue] {
        [
            "project": .text(config.project ?? "gitops-ml"),
            "gitops_ml": .map([
                "version": .text(config.workflows.gitopsMLVersion),
                "repository": .text(config.workflows.gitopsMLRepository),
                "sha256": .text(
                    config.workflows.gitopsMLSHA256
                        ?? GitOpsMLVersion.releaseChecksums[config.workflows.gitopsMLVersion]?["x86_64"] ?? ""),
            ]),
        ]
    }

    private func modelContext(
        _ model: ProjectConfig.Model, environment: ProjectConfig.Environment, release: ReleaseRecord?
    ) throws -> TemplateValue {
        let serving = model.serving
        let minReplicas = serving.minReplicas ?? serving.replicas
        let maxReplicas = serving.maxReplicas ?? max(minReplicas, serving.replicas * 3)
        guard minReplicas >= 1, maxReplicas >= minReplicas else {
            throw GitOpsMLError.configuration(
                "models.\(model.name).serving.autoscaling: need 1 <= min_replicas <= max_replicas", at: configFile)
        }
        let record =
            release
            ?? ReleaseRecord(
                model: model.name, environment: environment.name, version: "unreleased", sourceCommit: "none")
        return .map([
            "name": .text(model.name), "version": .text(version(release)),
            "source_commit": .text(release?.sourceCommit ?? "none"),
            "image": .text(try image(model, release: release).reference),
            "release_path": .text(ReleaseRecord.path(environment: environment.name, model: model.name)),
            "release_record": .text(record.yaml), "port": .number(Double(serving.port)),
            "health_path": .text(serving.healthPath), "predict_path": .text(serving.predictPath),
            "command": .list(serving.command.map(TemplateValue.text)),
            "min_replicas": .number(Double(minReplicas)), "max_replicas": .number(Double(maxReplicas)),
            "target_cpu": .number(Double(serving.targetCPUUtilization)),
            "cpu_request": .text(serving.cpuRequest), "memory_request": .text(serving.memoryRequest),
            "cpu_limit": .text(serving.cpuLimit), "memory_limit": .text(serving.memoryLimit),
            "canary": .bool(serving.canaryWeight != nil),
            "canary_weight": serving.canaryWeight.map { .number(Double($0)) } ?? .null,
            "route": .bool(routed(release)),
            "two_tracks": .bool(serving.canaryWeight != nil || routed(release)),
        ])
    }

    /// A release that rolls out beside the version it replaces (canary, blue-green, shadow).
    func routed(_ release: ReleaseRecord?) -> Bool {
        guard let release, let rollout = release.rollout else { return false }
        return rollout.strategy != .replace && release.previousVersion != nil
    }

    /// The HTTPRoute's context: the gateway, the first step's weights, a mirror for a shadow.
    func route(_ model: ProjectConfig.Model, environment: ProjectConfig.Environment, release: ReleaseRecord?) throws
        -> TemplateValue?
    {
        guard routed(release), let rollout = release?.rollout else { return nil }
        // Without a gateway the cluster's manifests replace the version at once (the local target's proxy
        // judges the rollout all the same): said, not refused, so a project served by the local agent
        // promotes as it is.
        guard let gateway = model.serving.gateway else {
            Log.warning(
                "models.\(model.name).serving.gateway is not set: on Kubernetes, \(environment.name)'s "
                    + "\(rollout.strategy.rawValue) rollout replaces the version at once (a routed rollout goes "
                    + "through a Gateway API gateway: gateway: NAMESPACE/NAME)")
            return nil
        }
        let parts = gateway.split(separator: "/").map(String.init)
        let first = rollout.strategy == .canary ? Int(rollout.steps.first ?? 0) : 0
        return .map([
            "strategy": .text(rollout.strategy.rawValue), "mirror": .bool(rollout.strategy == .shadow),
            "gateway_name": .text(parts.last ?? gateway),
            "gateway_namespace": .text(parts.count == 2 ? parts[0] : environment.namespace),
            "stable_weight": .number(Double(100 - first)), "canary_weight": .number(Double(first)),
        ])
    }

    private func version(_ release: ReleaseRecord?) -> String {
        release.map { ReleaseRecord.tag($0.version) } ?? "unreleased"
    }

    /// The serving image: by digest when the configuration or the release record pins one, else by the
    /// release's version as its tag.
    private func image(_ model: ProjectConfig.Model, release: ReleaseRecord?) throws -> (
        reference: String, byDigest: Bool
    ) {
        if let recorded = release?.image, recorded.contains("@sha256:") { return (recorded, true) }
        return try image(model, version: release?.version)
    }

    private func image(_ model: ProjectConfig.Model, version: String?) throws -> (reference: String, byDigest: Bool) {
        guard let image = model.serving.image, !image.isEmpty else {
            throw GitOpsMLError.configuration(
                "models.\(model.name).serving.image: needed to render manifests (the model server's image)",
                at: configFile)
        }
        if image.contains("@sha256:") { return (image, true) }
        let lastComponent = image.split(separator: "/").last ?? ""
        if lastComponent.contains(":") { return (image, false) }
        return ("\(image):\(version.map(ReleaseRecord.tag) ?? "unreleased")", false)
    }

    private func render(
        _ template: String, to path: String, _ context: [String: TemplateValue], as kind: Validation.Kind
    ) throws -> RenderedFile {
        let parsed = try library.template(template)
        let file = RenderedFile(path: path, contents: try parsed.render(context), template: parsed.name)
        try Validation.check(file, as: kind)
        return file
    }
}
