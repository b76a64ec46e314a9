import GitOpsMLCore
import Yams

/// The bundled presets: `policies/` of the gitops-ml repository, carried in the binary
/// (`BundledPolicies`, written by scripts/embed-templates.py). A user policy names one with
/// `extends: builtin:gates/binary-classification` and overrides what it names (`merge`).
public enum PolicyLibrary {
    public static let scheme = "builtin:"

    /// Preset names (`gates/binary-classification`), sorted.
    public static var names: [String] {
        BundledPolicies.files.keys.map { String($0.dropLast(".yaml".count)) }.sorted()
    }

    /// The preset's text, nil for an unknown name.
    public static func text(_ name: String) -> String? { BundledPolicies.files[name + ".yaml"] }

    /// The preset's kind and one-line description (its first comment line), for `policies list`.
    public static func summary(_ name: String) -> (kind: String, description: String)? {
        guard let text = text(name) else { return nil }
        let lines = text.split(separator: "\n")
        let kind = lines.first { $0.hasPrefix("kind:") }.map { $0.dropFirst(5).trimmingCharacters(in: .whitespaces) }
        let description = lines.first { $0.hasPrefix("#") }.map { $0.dropFirst().trimmingCharacters(in: .whitespaces) }
        return (kind ?? "?", description ?? "")
    }

    /// The preset `reference` names (`builtin:NAME`) as a composed YAML document.
    static func preset(_ reference: ConfigNode) throws -> Node {
        let name = try reference.string()
        guard name.hasPrefix(scheme), let text = text(String(name.dropFirst(scheme.count))) else {
            throw reference.error(
                "unknown preset \"\(name)\" (expected builtin:NAME, one of: \(names.joined(separator: ", ")))")
        }
        guard let node = try YAMLReader.compose(Array(text.utf8), file: name) else {
            throw reference.error("preset \(name) is empty")
        }
        return node
    }

    /// `override` laid over `base`: mappings merge key by key; a list of rules merges item by item on its
    /// identity (`gates` by metric, `expectations` by expectation and column, `rules` by id), an item with
    /// `remove: true` deleting the preset's; anything else is replaced.
    static func merge(_ base: Node, _ override: Node, key: String = "", file: String) throws -> Node {
        switch (base, override) {
        case (.mapping(let a), .mapping(let b)):
            var pairs = Array(a.map { ($0.key, $0.value) })
            for (name, value) in b {
                if let index = pairs.firstIndex(where: { $0.0.string == name.string }) {
                    pairs[index].1 = try merge(pairs[index].1, value, key: name.string ?? "", file: file)
                } else {
                    pairs.append((name, value))
                }
            }
            return .mapping(Node.Mapping(pairs, b.tag, b.style, b.mark))
        case (.sequence(let a), .sequence(let b)) where identity[key] != nil:
            let fields = identity[key] ?? []
            func id(_ item: Node) -> [String?] { fields.map { item[$0]?.string } }
            var items = Array(a)
            for item in b {
                let removing = item["remove"]?.bool == true
                if let index = items.firstIndex(where: { id($0) == id(item) }) {
                    if removing {
                        items.remove(at: index)
                    } else {
                        items[index] = try merge(items[index], item, file: file)
                    }
                } else if removing {
                    // A removal that matches nothing is a typo that would leave the preset's rule in force.
                    let name = id(item).compactMap { $0 }.joined(separator: " ")
                    throw ConfigNode(item, file: file, path: key).error(
                        "remove: true names \(name.isEmpty ? "an item" : name), which the preset does not have")
                } else {
                    items.append(item)
                }
            }
            return .sequence(Node.Sequence(items, b.tag, b.style, b.mark))
        default:
            return override
        }
    }

    /// The fields that identify an item of a mergeable list, by the list's key.
    static let identity: [String: [String]] = [
        "gates": ["metric"], "expectations": ["expect", "column"], "rules": ["id"],
    ]
}
