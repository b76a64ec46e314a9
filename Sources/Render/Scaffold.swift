import Config
import GitOpsMLCore

/// What `init` found in a project folder, and the files it writes from that.
public struct Scaffold: Sendable {
    public var project: String
    public var defaultBranch = "main"
    /// Where the default branch came from (a comment beside it), empty when nobody looked.
    public var defaultBranchSource = ""
    public var usesDVC = false
    public var metrics: [String] = []
    public var params: [String] = []
    public var datasets: [(name: String, path: String, columns: [String])] = []
    /// Datasets whose first line is data, not a header (numpy's `savetxt`): for lineage only.
    public var headerless: Set<String> = []
    public var model: String
    public var modelArtifact: String?
    /// Further models a DVC or GTO project declares, or the other projects of a monorepo, each with its
    /// own gates.
    public var otherModels: [OtherModel] = []

    public struct OtherModel: Sendable {
        public var name: String
        public var artifact: String?
        public var metrics: String?
        /// Its own gate metric and why (a monorepo project's, from its own metrics); nil: the first model's.
        public var gate: (metric: String?, reason: String)?

        public init(
            name: String, artifact: String?, metrics: String? = nil, gate: (metric: String?, reason: String)? = nil
        ) {
            self.name = name
            self.artifact = artifact
            self.metrics = metrics
            self.gate = gate
        }
    }
    public var modelMetrics: String?
    /// What the environments' namespaces are named after: the model, or the project when it holds several.
    public var namespaceBase: String?
    /// A per-example predictions file found in the folder (`*prediction*.csv`).
    public var predictions: String?
    /// The metric the first gate compares (a metric found in the project's metrics), and why; nil writes
    /// the gate commented out with the reason.
    public var gateMetric: String?
    public var gateReason = ""
    /// Each guess `init` made and where it came from, printed and written as comments.
    public var guesses: [String] = []

    /// The bundled gate preset the written policy extends: regression when the project's metric is a
    /// regression metric, else binary classification.
    public var gatePreset: String {
        let regression: Set = ["rmse", "mae", "mse", "r2", "mape"]
        // Any part of a dotted name (DVC's `rmse.test`).
        let isRegression = (gateMetric ?? "").split(separator: ".").contains { regression.contains(String($0)) }
        return isRegression ? "gates/regression" : "gates/binary-classification"
    }

    public init(project: String, model: String) {
        self.project = project
        self.model = model
    }

    /// gitops-ml.yaml and policies/, each read back through the same parsers `check` uses.
    public func render(library: TemplateLibrary) throws -> [RenderedFile] {
        guard Renderer.isDNSLabel(model, maxLength: 55) else {
            throw GitOpsMLError.usage(
                "model name \(YAMLText.quoted(model)) is not valid for Kubernetes (lowercase letters, digits, '-'); give --model"
            )
        }
        for other in otherModels where !Renderer.isDNSLabel(other.name, maxLength: 55) {
            throw GitOpsMLError.usage("model name \(YAMLText.quoted(other.name)) is not valid for Kubernetes")
        }
        // The data policy and drift test the first dataset in a format the data suite reads, columns
        // known first (a plain CSV/TSV); an XML or image folder gets neither.
        let readable = datasets.filter { ProjectConfig.Dataset.isReadable($0.path) && !headerless.contains($0.path) }
        let firstDataset = readable.first { !$0.columns.isEmpty } ?? readable.first
        let context: [String: TemplateValue] = [
            "project": .text(project), "default_branch": .text(defaultBranch),
            "namespace_base": .text(namespaceBase ?? model),
            "default_branch_source": defaultBranchSource.isEmpty ? .null : .text(defaultBranchSource),
            "uses_dvc": .bool(usesDVC),
            "metrics": .list(metrics.map(TemplateValue.text)), "params": .list(params.map(TemplateValue.text)),
            "datasets": .list(
                datasets.map { dataset in
                    .map([
                        "name": .text(dataset.name), "path": .text(dataset.path),
                        "skipped": readable.contains { $0.path == dataset.path }
                            ? .null
                            : .text(
                                headerless.contains(dataset.path)
                                    ? "no header row (its first line is numbers): for lineage only, no data tests or drift"
                                    : "not CSV, TSV or JSON Lines: for lineage only, no data tests or drift"),
                    ])
                }),
            "drift_dataset": firstDataset.map { .text($0.name) } ?? .null,
            "model": .map([
                "name": .text(model), "artifact": modelArtifact.map(TemplateValue.text) ?? .null,
                "metrics": modelMetrics.map(TemplateValue.text) ?? .null,
                "predictions": predictions.map(TemplateValue.text) ?? .null,
                "task": .text(gatePreset == "gates/regression" ? "regression" : "classification"),
                "image": .text("ghcr.io/OWNER/\(model)-serving"),
            ]),
            "other_models": .list(
                otherModels.map {
                    .map([
                        "name": .text($0.name), "artifact": $0.artifact.map(TemplateValue.text) ?? .null,
                        "metrics": $0.metrics.map(TemplateValue.text) ?? .null,
                        "image": .text("ghcr.io/OWNER/\($0.name)-serving"),
                    ])
                }),
            "gate_metric": gateMetric.map(TemplateValue.text) ?? .null,
            "has_policies": .bool(gateMetric != nil || firstDataset != nil),
            "gate_reason": .text(gateReason),
            "gate_preset": .text(gatePreset),
            "dataset": firstDataset.map {
                .map(["name": .text($0.name), "columns": .list($0.columns.map(TemplateValue.text))])
            } ?? .null,
            "gitops_ml": .map(["version": .text(GitOpsMLVersion.current)]),
        ]
        func render(_ template: String, _ path: String, _ values: [String: TemplateValue]? = nil) throws
            -> RenderedFile
        {
            let parsed = try library.template(template)
            return RenderedFile(path: path, contents: try parsed.render(values ?? context), template: parsed.name)
        }
        let config = try render("init/gitops-ml.yaml", ProjectConfig.fileName)
        _ = try ProjectConfig.parse(Array(config.contents.utf8), file: "\(config.template) (rendered)")
        // Without a metric the gates are an example to finish (`.example` is not read as a policy).
        var files = [
            config,
            try render(
                "init/policies/gates.yaml", gateMetric == nil ? "policies/gates.yaml.example" : "policies/gates.yaml"),
        ]
        // Each further model gets gates of its own: a model no GatePolicy covers would pass unchecked.
        for other in otherModels {
            var own = context
            own["model"] = .map([
                "name": .text(other.name), "artifact": other.artifact.map(TemplateValue.text) ?? .null,
                "metrics": other.metrics.map(TemplateValue.text) ?? .null, "predictions": .null,
            ])
            let (metric, reason) = other.gate ?? (gateMetric, gateReason)
            own["gate_metric"] = metric.map(TemplateValue.text) ?? .null
            own["gate_reason"] = .text(reason)
            files.append(
                try render(
                    "init/policies/gates.yaml", "policies/gates-\(other.name).yaml\(metric == nil ? ".example" : "")",
                    own))
        }
        if firstDataset != nil { files.append(try render("init/policies/data.yaml", "policies/data.yaml")) }
        for policy in files.dropFirst() {
            _ = try Policy.parse(Array(policy.contents.utf8), file: "\(policy.template) (rendered)")
        }
        return files
    }
}
