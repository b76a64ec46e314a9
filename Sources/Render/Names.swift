import Config
import GitOpsMLCore

/// Checks on the configuration values that become Kubernetes names, label values, paths, shell words or
/// workflow text, before any template sees them: a value that could change the meaning of a rendered
/// file is refused with the key that holds it.
extension Renderer {
    func checkNames() throws {
        let file = SourceLocation(file: ProjectConfig.fileName)
        func fail(_ key: String, _ value: String, _ rule: String) -> GitOpsMLError {
            .configuration("\(key): \(YAMLText.quoted(value)) \(rule)", at: file)
        }
        for name in config.models.keys {
            guard Self.isDNSLabel(name, maxLength: 55) else {
                throw fail(
                    "models", name,
                    "is not a valid model name for Kubernetes (lowercase letters, digits and '-', at most 55)")
            }
        }
        for (name, environment) in config.environments {
            guard Self.isDNSLabel(name, maxLength: 63) else {
                throw fail("environments", name, "is not a valid environment name (lowercase letters, digits and '-')")
            }
            guard Self.isDNSLabel(environment.namespace, maxLength: 63) else {
                throw fail(
                    "environments.\(name).namespace", environment.namespace, "is not a valid Kubernetes namespace")
            }
            try checkPlain(environment.branch, "environments.\(name).branch")
        }
        for name in config.datasets.keys { try checkPlain(name, "datasets") }
        if let project = config.project, !Self.isLabelValue(project) {
            throw fail("project", project, "is not a valid Kubernetes label value (letters, digits, '-', '_', '.')")
        }
        try checkPlain(config.defaultBranch ?? "main", "default_branch")
        try checkPlain(config.workflows.runsOn, "workflows.runs_on")
        try checkPlain(config.workflows.gitopsMLVersion, "workflows.gitops_ml_version")
        try checkPlain(config.workflows.gitopsMLRepository, "workflows.gitops_ml_repository")
        if let sha = config.workflows.gitopsMLSHA256,
            Hex.bytes(sha)?.count != 32
        {
            throw fail("workflows.gitops_ml_sha256", sha, "is not a sha256 digest (64 hex digits)")
        }
        for model in config.models.values {
            let key = "models.\(model.name).serving"
            for (field, value) in [
                ("health_path", model.serving.healthPath), ("predict_path", model.serving.predictPath),
            ]
            where !value.hasPrefix("/") || value.contains("${{") {
                throw fail("\(key).\(field)", value, "must be an absolute URL path")
            }
            for (field, value) in [
                ("cpu", model.serving.cpuRequest), ("memory", model.serving.memoryRequest),
                ("cpu_limit", model.serving.cpuLimit), ("memory_limit", model.serving.memoryLimit),
            ] where !Self.isQuantity(value) {
                throw fail("\(key).resources.\(field)", value, "is not a Kubernetes quantity (like 250m, 1, 512Mi)")
            }
            if let image = model.serving.image, image.contains("${{") || image.contains(where: \.isWhitespace) {
                throw fail("\(key).image", image, "is not an image reference")
            }
        }
    }

    /// Text that is safe bare in YAML, in a shell word and in a workflow (see `Template.isPlainSafe`).
    func checkPlain(_ value: String, _ key: String) throws {
        guard Template.isPlainSafe(value) else {
            throw GitOpsMLError.configuration(
                "\(key): \(YAMLText.quoted(value)) may hold only letters, digits and . _ - / : @ + =",
                at: SourceLocation(file: ProjectConfig.fileName))
        }
    }

    /// RFC 1123 label: lowercase alphanumerics and '-', starting and ending alphanumeric.
    public static func isDNSLabel(_ text: String, maxLength: Int) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= maxLength, bytes.first != UInt8(ascii: "-"),
            bytes.last != UInt8(ascii: "-")
        else { return false }
        return bytes.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                || $0 == UInt8(ascii: "-")
        }
    }

    /// A label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
    static func isLabelValue(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func alphanumeric(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        guard let first = bytes.first, let last = bytes.last, bytes.count <= 63, alphanumeric(first), alphanumeric(last)
        else { return bytes.isEmpty }
        return bytes.allSatisfy {
            alphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
        }
    }

    /// A Kubernetes resource quantity such as `250m`, `1`, `0.5`, `512Mi`, `1e3`.
    static func isQuantity(_ text: String) -> Bool {
        let suffixes = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", ""]
        for suffix in suffixes where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if !number.isEmpty, Double(number) != nil, number.allSatisfy({ $0.isNumber || $0 == "." }) { return true }
        }
        return false
    }
}
