import Config
import Foundation
import GitOpsMLCore
import GitStore

/// The objects an environment's kubernetes target applies: `deploy/<env>/` on the environment branch at a
/// commit (what `promote` renders), followed through its kustomization files' `resources` (folders and
/// files); each object must name its kind, name and — when the kind lives in one — the namespace.
/// Kustomizations that transform (patches, images, generators…) are refused: the agent applies what git
/// holds, and would otherwise apply something else than `kubectl apply -k` does.
public enum ManifestSet {
    public static func read(environment: String, at commit: ObjectID, in repository: Repository) throws
        -> [KubernetesObject]
    {
        var objects: [KubernetesObject] = []
        var visited: Set<String> = []
        try collect("deploy/\(environment)", at: commit, in: repository, into: &objects, visited: &visited)
        guard !objects.isEmpty else {
            throw GitOpsMLError.configuration(
                "no manifests in deploy/\(environment)/ at \(commit.short)",
                at: SourceLocation(file: "deploy/\(environment)/"))
        }
        return objects
    }

    private static func collect(
        _ folder: String, at commit: ObjectID, in repository: Repository, into objects: inout [KubernetesObject],
        visited: inout Set<String>
    ) throws {
        guard visited.insert(folder).inserted else { return }
        let file = "\(folder)/kustomization.yaml"
        guard let bytes = try repository.read(file, at: .git(commit.hex)) else {
            throw GitOpsMLError.configuration(
                "no kustomization.yaml at \(commit.short)", at: SourceLocation(file: folder + "/"))
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
            let document: [UInt8]?
            do {
                document = try repository.read(path, at: .git(commit.hex))
            } catch let error as GitError where error.code == .notAFile {
                document = nil  // a folder: its own kustomization
            }
            if let document {
                objects += try parse(document, file: path)
            } else {
                try collect(path, at: commit, in: repository, into: &objects, visited: &visited)
            }
        }
    }

    static func parse(_ bytes: [UInt8], file: String) throws -> [KubernetesObject] {
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
