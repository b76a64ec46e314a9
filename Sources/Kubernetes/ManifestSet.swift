import Config
import Foundation
import GitOpsMLCore

/// The objects an environment's kubernetes target applies: `deploy/<env>/` on the environment branch at a
/// commit (what `promote` renders), followed through its kustomization files' `resources` (YAML or JSON
/// files by their extension, else folders with their own kustomization.yaml); each object must name its
/// kind, name and — when the kind lives in one — the namespace.
/// Kustomizations that transform (patches, images, generators…) are refused: the agent applies what git
/// holds, and would otherwise apply something else than `kubectl apply -k` does.
public enum ManifestSet {
    /// `files`: the environment branch at the commit.
    public static func read(environment: String, in files: any FileView) throws -> [KubernetesObject] {
        var objects: [KubernetesObject] = []
        var visited: Set<String> = []
        try collect("deploy/\(environment)", in: files, into: &objects, visited: &visited)
        guard !objects.isEmpty else {
            throw GitOpsMLError.configuration(
                "no manifests in deploy/\(environment)/ at \(files.revision)",
                at: SourceLocation(file: "deploy/\(environment)/"))
        }
        return objects
    }

    private static func collect(
        _ folder: String, in files: any FileView, into objects: inout [KubernetesObject], visited: inout Set<String>
    ) throws {
        guard visited.insert(folder).inserted else { return }
        let file = "\(folder)/kustomization.yaml"
        guard let bytes = try files.read(file) else {
            throw GitOpsMLError.configuration(
                "no kustomization.yaml at \(files.revision)", at: SourceLocation(file: folder + "/"))
        }
        guard let root = try YAMLReader.compose(bytes, file: file) else { return }
        let map = try ConfigNode(root, file: file).mapping()
        for (key, node) in map.all() where !["apiVersion", "kind", "resources"].contains(key) {
            throw node.error("kustomization \(key) is not supported by the kubernetes target (only resources)")
        }
        for resource in try map.optional("resources")?.strings() ?? [] {
            let path = try RepositoryPath.clean(folder + "/" + resource)
            guard path.hasPrefix(folder + "/") || path.hasPrefix("deploy/") else {
                throw GitOpsMLError.configuration(
                    "resource \(resource) leads outside deploy/", at: SourceLocation(file: file))
            }
            guard [".yaml", ".yml", ".json"].contains(where: path.hasSuffix) else {
                try collect(path, in: files, into: &objects, visited: &visited)  // a folder: its own kustomization
                continue
            }
            guard let document = try files.read(path) else {
                throw GitOpsMLError.configuration(
                    "resource \(resource) is not at \(files.revision)", at: SourceLocation(file: file))
            }
            objects += try parse(document, file: path)
        }
    }

    public static func parse(_ bytes: [UInt8], file: String) throws -> [KubernetesObject] {
        try YAMLReader.composeAll(String(decoding: bytes, as: UTF8.self), file: file).map { node in
            let config = ConfigNode(node, file: file)
            let map = try config.mapping()
            let metadata = try map.required("metadata").mapping()
            let body = try JSONSerialization.data(withJSONObject: foundation(config.value), options: [.sortedKeys])
            return KubernetesObject(
                apiVersion: try map.required("apiVersion").string(), kind: try map.required("kind").string(),
                name: try metadata.required("name").string(), namespace: try metadata.optional("namespace")?.string(),
                json: Array(body))
        }
    }

    static func foundation(_ value: StructuredValue) -> Any {
        switch value {
        case .null: return NSNull()
        case .bool(let flag): return flag
        case .int(let number): return number
        case .double(let number): return number
        case .string(let text): return text
        case .array(let items): return items.map(foundation)
        case .object(let pairs):
            return Dictionary(pairs.map { ($0.key, foundation($0.value)) }, uniquingKeysWith: { _, last in last })
        }
    }
}
