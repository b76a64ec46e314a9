import GitOpsMLCore

/// A file of `policies/`: `apiVersion: gitops-ml/v1`, a `kind`, `metadata.name` and a `spec`.
///
/// `extends: builtin:NAME` lays the file over a bundled preset (`PolicyLibrary`): the preset's spec with
/// what the file names overridden.
public enum Policy: Sendable, Equatable {
    case gate(GatePolicy)
    case data(DataPolicy)
    case promotion(PromotionPolicy)
    case deploy(DeployPolicy)

    public static let kinds = ["GatePolicy", "DataPolicy", "PromotionPolicy", "DeployPolicy"]

    public static let apiVersion = "gitops-ml/v1"

    public var name: String {
        switch self {
        case .gate(let policy): return policy.name
        case .data(let policy): return policy.name
        case .promotion(let policy): return policy.name
        case .deploy(let policy): return policy.name
        }
    }

    public var location: SourceLocation {
        switch self {
        case .gate(let policy): return policy.location
        case .data(let policy): return policy.location
        case .promotion(let policy): return policy.location
        case .deploy(let policy): return policy.location
        }
    }

    public var kind: String {
        switch self {
        case .gate: return "GatePolicy"
        case .data: return "DataPolicy"
        case .promotion: return "PromotionPolicy"
        case .deploy: return "DeployPolicy"
        }
    }

    /// Parses a policy file (one YAML document).
    public static func parse(_ bytes: [UInt8], file: String) throws -> [Policy] {
        guard var root = try YAMLReader.compose(bytes, file: file) else { return [] }
        if let reference = try ConfigNode(root, file: file).mapping().optional("extends") {
            let preset = try PolicyLibrary.preset(reference)
            guard preset["kind"]?.string == root["kind"]?.string else {
                throw reference.error(
                    "\(try reference.string()) is a \(preset["kind"]?.string ?? "?"), this file a \(root["kind"]?.string ?? "policy without a kind")"
                )
            }
            // The preset's spec under this file's own apiVersion, kind and metadata.
            if let base = preset["spec"] {
                root["spec"] = try root["spec"].map { try PolicyLibrary.merge(base, $0, file: file) } ?? base
            }
        }
        let top = try ConfigNode(root, file: file).mapping()
        _ = top.optional("extends")
        let apiVersionNode = try top.required("apiVersion")
        guard try apiVersionNode.string() == apiVersion else {
            throw apiVersionNode.error(
                "unsupported apiVersion \"\(try apiVersionNode.string())\" (expected \(apiVersion))")
        }
        let kind = try top.required("kind").choice(kinds)
        let metadata = try top.required("metadata").mapping()
        let name = try metadata.required("name").string()
        _ = metadata.optional("labels")
        _ = metadata.optional("annotations")
        try metadata.finish()
        let spec = try top.required("spec")
        try top.finish()
        switch kind {
        case "GatePolicy": return [.gate(try GatePolicy(name: name, spec: spec))]
        case "PromotionPolicy": return [.promotion(try PromotionPolicy(name: name, spec: spec))]
        case "DeployPolicy": return [.deploy(try DeployPolicy(name: name, spec: spec))]
        default: return [.data(try DataPolicy(name: name, spec: spec))]
        }
    }
}

/// Champion-vs-challenger gates and metric thresholds for one model.
public struct GatePolicy: Sendable, Equatable {
    public var name: String
    public var model: String?
    public var gates: [Gate]
    public var location: SourceLocation
    /// A column of the predictions file to report every gate metric by (e.g. a customer segment).
    public var sliceBy: String?
    public var artifact: ArtifactRules?

    /// Checks on the model's artifact file.
    public struct ArtifactRules: Sendable, Equatable {
        public var minBytes: Int?
        public var maxBytes: Int?
        /// json, onnx, safetensors, pickle or joblib; default: from the file extension.
        public var format: String?
        public var location: SourceLocation
    }

    public struct Gate: Sendable, Equatable {
        public var metric: String
        /// From `greater_is_better`, else from the metric's name (`MetricDirection`); a gate whose
        /// metric has neither is a configuration error.
        public var greaterIsBetter: Bool
        /// Whether `greater_is_better` was written in the policy (else it was inferred from the name).
        public var directionIsExplicit: Bool
        /// The challenger's value must be at least (or at most) this.
        public var threshold: Double?
        /// The challenger must beat the champion by at least this much (MLflow `min_absolute_change`).
        public var minAbsoluteChange: Double?
        /// … and by at least this fraction of the champion's value (MLflow `min_relative_change`).
        public var minRelativeChange: Double?
        /// A significance test over paired predictions: `bootstrap`, `mcnemar` or `delong`.
        public var significance: Significance?
        /// Not worse than the champion by more than `margin`, at confidence `1 - alpha`.
        public var nonInferiorityMargin: Double?
        public var location: SourceLocation
    }

    public struct Significance: Sendable, Equatable {
        public enum Test: String, Sendable, CaseIterable { case bootstrap, mcnemar, delong }
        public var test: Test
        public var alpha: Double = 0.05
        public var resamples: Int = 1000
        public var seed: Int = 0
        /// What a point-estimate improvement that is not significant concludes: fail, warn or pass.
        public var onInsignificant: ProjectConfig.Checks.Verdict = .fail
    }

    init(name: String, spec node: ConfigNode) throws {
        let spec = try node.mapping()
        self.name = name
        location = node.location
        model = try spec.optional("model")?.string()
        sliceBy = try spec.optional("slice_by")?.string()
        if let node = spec.optional("artifact") {
            let map = try node.mapping()
            artifact = ArtifactRules(
                minBytes: try map.optional("min_bytes")?.int(), maxBytes: try map.optional("max_bytes")?.int(),
                format: try map.optional("format")?.choice(["json", "onnx", "safetensors", "pickle", "joblib"]),
                location: node.location)
            try map.finish()
        }
        gates = []
        for item in try spec.required("gates").list() {
            let map = try item.mapping()
            let metricNode = try map.required("metric")
            let metric = try metricNode.string()
            let explicit = try map.optional("greater_is_better")?.bool()
            guard let greaterIsBetter = explicit ?? MetricDirection.greaterIsBetter(metric) else {
                throw metricNode.error(
                    "metric \"\(metric)\" has no known direction: say greater_is_better: true or false")
            }
            var gate = Gate(
                metric: metric, greaterIsBetter: greaterIsBetter, directionIsExplicit: explicit != nil,
                location: item.location)
            gate.threshold = try map.optional("threshold")?.double()
            gate.minAbsoluteChange = try map.optional("min_absolute_change")?.double()
            gate.minRelativeChange = try map.optional("min_relative_change")?.double()
            gate.nonInferiorityMargin = try map.optional("non_inferiority_margin")?.double()
            if let significanceNode = map.optional("significance") {
                let sig = try significanceNode.mapping()
                var significance = Significance(test: try sig.required("test").choice())
                significance.alpha = try sig.optional("alpha")?.double() ?? 0.05
                significance.resamples = try sig.optional("resamples")?.int() ?? 1000
                significance.seed = try sig.optional("seed")?.int() ?? 0
                significance.onInsignificant = try sig.optional("on_insignificant")?.choice() ?? .fail
                guard significance.resamples >= 10 && significance.resamples <= 1_000_000 else {
                    throw try sig.required("resamples").error("resamples must be between 10 and 1000000")
                }
                guard significance.alpha >= 1e-10 && significance.alpha <= 0.5 else {
                    throw try sig.required("alpha").error("alpha must be from 1e-10 to 0.5")
                }
                try sig.finish()
                gate.significance = significance
            }
            try map.finish()
            gates.append(gate)
        }
        try spec.finish()
    }
}

/// Expectations (typed where they are read: `Expectation`) and drift settings for one dataset.
public struct DataPolicy: Sendable, Equatable {
    public var name: String
    /// The dataset; nil: every dataset of gitops-ml.yaml (a preset names none).
    public var dataset: String?
    public var expectations: [Expectation]
    /// `drift:` (nil: drift is not judged).
    public var drift: DriftSettings?
    /// Comparisons with the reference (the champion's version of the dataset).
    public var reference: ReferenceRules?
    public var location: SourceLocation

    /// `reference:`: the schema stays, null shares do not grow, numbers stay within the reference's range.
    public struct ReferenceRules: Sendable, Equatable {
        /// The same columns in the same order, of the same types.
        public var stableSchema = false
        /// The most a column's null share may grow (0.01: one percentage point); nil: not checked.
        public var maxNullIncrease: Double?
        /// Numbers within the reference's [min, max] widened by this share of its span; nil: not checked.
        public var rangeTolerance: Double?
        public var location: SourceLocation
    }

    init(name: String, spec node: ConfigNode) throws {
        let spec = try node.mapping()
        self.name = name
        location = node.location
        dataset = try spec.optional("dataset")?.string()
        expectations = []
        for item in try spec.optional("expectations")?.list() ?? [] {
            let map = try item.mapping()
            let (type, column) = (try map.required("expect").string(), try map.optional("column")?.string())
            let mostly = try map.optional("mostly")?.double()
            if let mostly, !(0...1).contains(mostly) {
                throw try map.required("mostly").error("mostly must be between 0 and 1")
            }
            var arguments: [(key: String, value: StructuredValue)] = []
            for (key, value) in map.all() where !["expect", "column", "mostly"].contains(key) {
                arguments.append((key, try value.value))
            }
            expectations.append(
                try Expectation(
                    type: type, column: column, mostly: mostly, arguments: arguments, location: item.location))
        }
        drift = try spec.optional("drift").map { try DriftSettings.parse($0.value, location: $0.location) }
        if let node = spec.optional("reference") {
            let map = try node.mapping()
            var rules = ReferenceRules(location: node.location)
            if let schema = map.optional("schema") {
                rules.stableSchema = try schema.choice(["stable", "any"]) == "stable"
            }
            if let nulls = map.optional("nulls") {
                let nullMap = try nulls.mapping()
                let increase = try nullMap.required("max_increase")
                rules.maxNullIncrease = try increase.double()
                guard (0...1).contains(rules.maxNullIncrease ?? -1) else {
                    throw increase.error("max_increase must be between 0 and 1")
                }
                try nullMap.finish()
            }
            if let ranges = map.optional("ranges") {
                let rangeMap = try ranges.mapping()
                let tolerance = rangeMap.optional("tolerance")
                rules.rangeTolerance = try tolerance?.double() ?? 0
                guard (rules.rangeTolerance ?? -1) >= 0 else { throw ranges.error("tolerance must be 0 or more") }
                try rangeMap.finish()
            }
            try map.finish()
            reference = rules
        }
        try spec.finish()
    }
}
