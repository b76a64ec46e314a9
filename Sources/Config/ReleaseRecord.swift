import GitOpsMLCore

/// `environments/<env>/<model>.yaml`: what an environment must run, written by `promote` and read by
/// `generate`, the agent and `audit`. Digests are `algorithm:hex`.
public struct ReleaseRecord: Sendable, Equatable {
    /// A version as a Kubernetes label value and an image tag, where `+` is not allowed: `v1.2.3+build.5`
    /// becomes `v1.2.3_build.5`, as Helm writes chart versions in labels.
    public static func tag(_ version: String) -> String { version.replacingOccurrences(of: "+", with: "_") }

    public static let apiVersion = "gitops-ml/v1"

    public var model: String
    public var environment: String
    public var version: String
    /// The commit of the ML repository the model was built and checked at.
    public var sourceCommit: String
    public var artifactPath: String?
    public var artifactDigest: String?
    /// Dataset name → digest of its content at the source commit.
    public var data: [String: String] = [:]
    public var paramsDigest: String?
    /// sha256 of the gate report note that passed this source commit.
    public var gateReport: String?
    /// The serving image, by digest when known.
    public var image: String?
    public var previousVersion: String?
    /// How this version takes over from the one that serves (`rollout:` of the PromotionPolicy); nil: it
    /// replaces it.
    public var rollout: RolloutSettings?

    public init(model: String, environment: String, version: String, sourceCommit: String) {
        self.model = model
        self.environment = environment
        self.version = version
        self.sourceCommit = sourceCommit
    }

    public static func path(environment: String, model: String) -> String {
        "environments/\(environment)/\(model).yaml"
    }

    /// The record as YAML, keys in a fixed order so that the same release always gives the same bytes.
    public var yaml: String {
        var lines = [
            "apiVersion: \(ReleaseRecord.apiVersion)", "kind: Release", "model: \(YAMLText.scalar(model))",
            "environment: \(YAMLText.scalar(environment))", "version: \(YAMLText.scalar(version))",
            "source_commit: \(YAMLText.scalar(sourceCommit))",
        ]
        if artifactPath != nil || artifactDigest != nil {
            lines.append("artifact:")
            if let artifactPath { lines.append("  path: \(YAMLText.scalar(artifactPath))") }
            if let artifactDigest { lines.append("  digest: \(YAMLText.scalar(artifactDigest))") }
        }
        if !data.isEmpty {
            lines.append("data:")
            for name in data.keys.sorted() {
                lines.append("  \(YAMLText.scalar(name)): \(YAMLText.scalar(data[name] ?? ""))")
            }
        }
        if let paramsDigest { lines.append("params: \(YAMLText.scalar(paramsDigest))") }
        if let gateReport { lines.append("gate_report: \(YAMLText.scalar(gateReport))") }
        if let image { lines.append("image: \(YAMLText.scalar(image))") }
        if let previousVersion { lines.append("previous_version: \(YAMLText.scalar(previousVersion))") }
        if let rollout { lines += ["rollout:"] + rollout.yamlLines.map { "  " + $0 } }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a record; unknown keys and missing required ones are errors at their line.
    public static func parse(_ bytes: [UInt8], file: String) throws -> ReleaseRecord {
        guard let root = try YAMLReader.compose(bytes, file: file) else {
            throw GitOpsMLError.configuration("empty release record", at: SourceLocation(file: file))
        }
        let map = try ConfigNode(root, file: file).mapping()
        let api = try map.required("apiVersion")
        guard try api.string() == apiVersion else { throw api.error("expected apiVersion \(apiVersion)") }
        let kind = try map.required("kind")
        guard try kind.string() == "Release" else { throw kind.error("expected kind Release") }
        // The source commit becomes a revision (`env:`, the agent): a full object id, never a revspec.
        let sourceNode = try map.required("source_commit")
        let sourceCommit = try sourceNode.string()
        guard ObjectID.isFullHex(sourceCommit) else {
            throw sourceNode.error("source_commit must be a full commit id (40 or 64 lowercase hex digits)")
        }
        var record = ReleaseRecord(
            model: try map.required("model").string(), environment: try map.required("environment").string(),
            version: try map.required("version").string(), sourceCommit: sourceCommit)
        if let artifact = try map.optional("artifact")?.mapping() {
            record.artifactPath = try artifact.optional("path")?.string()
            record.artifactDigest = try artifact.optional("digest")?.string()
            try artifact.finish()
        }
        for (name, node) in try map.optional("data")?.mapping().all() ?? [] { record.data[name] = try node.string() }
        record.paramsDigest = try map.optional("params")?.string()
        record.gateReport = try map.optional("gate_report")?.string()
        record.image = try map.optional("image")?.string()
        record.previousVersion = try map.optional("previous_version")?.string()
        record.rollout = try map.optional("rollout").map(RolloutSettings.init)
        try map.finish()
        return record
    }
}
