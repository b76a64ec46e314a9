import GitOpsMLCore

/// The rules a change is judged by: gitops-ml.yaml and its policies, read from one revision. `check` reads
/// them from the trusted side (the base the change would merge into, or a revision named with `--rules`),
/// never from the change itself; `promote` from the default branch. The raw bytes of every rule file (and
/// of `templates/`) are kept to show what a change edits.
public struct RuleSet {
    public var config: ProjectConfig
    public var policies: [Policy]
    /// Where the rules came from, for messages: "main (1a2b3c4d5e6f)", "workspace".
    public var source: String
    /// gitops-ml.yaml, the policy files and templates/: path → bytes.
    public var files: [String: [UInt8]]

    /// Files a rules folder may hold before it is refused (a folder of a million files is not a policy).
    public static let fileLimit = 2000

    public init(config: ProjectConfig, policies: [Policy], source: String, files: [String: [UInt8]] = [:]) {
        self.config = config
        self.policies = policies
        self.source = source
        self.files = files
    }

    /// The rules at `view`; nil when it has no gitops-ml.yaml. Malformed or inconsistent rules are
    /// configuration errors at their file and line (see `validate`).
    /// `config` replaces the revision's gitops-ml.yaml (the user's `--config`).
    public static func load(_ view: any FileView, source: String, config explicit: ProjectConfig? = nil) throws
        -> RuleSet?
    {
        guard let bytes = try view.read(ProjectConfig.fileName) ?? (explicit == nil ? nil : []) else { return nil }
        let config = try explicit ?? ProjectConfig.parse(bytes, file: ProjectConfig.fileName)
        var files = [ProjectConfig.fileName: bytes]
        var policies: [Policy] = []
        let policyPaths = try policyFiles(config, in: view)
        for path in policyPaths {
            guard let policyBytes = try view.read(path) else { continue }
            files[path] = policyBytes
            policies += try Policy.parse(policyBytes, file: path)
        }
        for path in try view.list("templates", limit: fileLimit) {
            files[path] = try view.read(path)
        }
        let rules = RuleSet(config: config, policies: policies, source: source, files: files)
        try rules.validate(policyFolderListed: !policyPaths.isEmpty)
        return rules
    }

    /// The `*.yaml`/`*.yml` files directly in the policies folder.
    static func policyFiles(_ config: ProjectConfig, in view: any FileView) throws -> [String] {
        let folder = TrackedFiles.normalize(config.checks.policies)
        return try view.list(folder, limit: fileLimit).filter { path in
            let name = path.dropFirst(folder.count + 1)
            return !name.contains("/") && (name.hasSuffix(".yaml") || name.hasSuffix(".yml"))
        }
    }

    public var gatePolicies: [GatePolicy] {
        policies.compactMap { if case .gate(let policy) = $0 { return policy } else { return nil } }
    }

    public var dataPolicies: [DataPolicy] {
        policies.compactMap { if case .data(let policy) = $0 { return policy } else { return nil } }
    }

    public var promotionPolicies: [PromotionPolicy] {
        policies.compactMap { if case .promotion(let policy) = $0 { return policy } else { return nil } }
    }

    public var deployPolicies: [DeployPolicy] {
        policies.compactMap { if case .deploy(let policy) = $0 { return policy } else { return nil } }
    }

    /// What `check`, `generate` and `promote` would refuse at run time, refused here, once: a policy
    /// naming a model or dataset the configuration does not have, a gate policy without gates, a model
    /// that no gate policy covers while others are, a declared policies folder with nothing in it, and
    /// two policies of one name.
    func validate(policyFolderListed: Bool) throws {
        if config.checks.policiesDeclared && !policyFolderListed {
            throw GitOpsMLError.configuration(
                "checks.policies points at \(config.checks.policies)/, which holds no policy files in \(source)",
                at: SourceLocation(file: ProjectConfig.fileName))
        }
        var names: [String: SourceLocation] = [:]
        for policy in policies {
            let location = policy.location
            if let first = names[policy.name] {
                throw GitOpsMLError.configuration(
                    "a second policy named \(policy.name) (the first is at \(first.file):\(first.line ?? 1))",
                    at: location)
            }
            names[policy.name] = location
        }
        let gates = gatePolicies
        for policy in gates {
            if let model = policy.model, config.models[model] == nil {
                throw GitOpsMLError.configuration(
                    "GatePolicy \(policy.name) names model \"\(model)\", which gitops-ml.yaml does not have (models: \(config.models.keys.sorted().joined(separator: ", ")))",
                    at: policy.location)
            }
            if policy.gates.isEmpty {
                throw GitOpsMLError.configuration(
                    "GatePolicy \(policy.name) has no gates: a model it covers would pass unchecked (delete the policy to stop gating)",
                    at: policy.location)
            }
        }
        if !gates.isEmpty {
            for model in config.models.keys.sorted()
            where !gates.contains(where: { $0.model == nil || $0.model == model }) {
                throw GitOpsMLError.configuration(
                    "model \(model) has no GatePolicy while others do: it would pass unchecked",
                    at: SourceLocation(file: ProjectConfig.fileName))
            }
        }
        for policy in dataPolicies {
            if let dataset = policy.dataset, config.datasets[dataset] == nil {
                throw GitOpsMLError.configuration(
                    "unknown dataset \"\(dataset)\" (gitops-ml.yaml declares: \(config.datasets.keys.sorted().joined(separator: ", ")))",
                    at: policy.location)
            }
        }
        let known = config.environments.keys.sorted()
        for policy in promotionPolicies {
            for environment in policy.environments.values.sorted(by: { $0.name < $1.name }) {
                for name in [environment.name] + environment.after where config.environments[name] == nil {
                    throw GitOpsMLError.configuration(
                        "PromotionPolicy \(policy.name) names environment \(name), which gitops-ml.yaml does not have (environments: \(known.joined(separator: ", ")))",
                        at: environment.location)
                }
            }
        }
    }
}
