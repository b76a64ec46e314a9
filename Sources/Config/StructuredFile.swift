import GitOpsMLCore

/// The formats of metrics, params and config files, chosen by file extension.
public enum StructuredFormat: String, Sendable {
    case json, yaml, toml

    public init?(path: String) {
        switch path.split(separator: ".").last?.lowercased() {
        case "json": self = .json
        case "yaml", "yml": self = .yaml
        case "toml": self = .toml
        default: return nil
        }
    }

    /// Parses `bytes` read from `path`; errors name `path` and the line.
    public func parse(_ bytes: [UInt8], path: String) throws -> StructuredValue {
        switch self {
        case .json: return try JSONReader.parse(bytes, file: path)
        case .yaml: return try YAMLReader.parse(bytes, file: path)
        case .toml: return try TOMLReader.parse(bytes, file: path)
        }
    }

    /// Parses a file whose format follows from its extension (YAML when unknown, as DVC does).
    public static func parse(_ bytes: [UInt8], path: String) throws -> StructuredValue {
        try (StructuredFormat(path: path) ?? .yaml).parse(bytes, path: path)
    }
}
