import Config
import Foundation
import GitOpsMLCore
import Yams

/// DeployPolicy rules over an environment's rendered manifests: each violation names the rule, the object
/// and `deploy/…/file.yaml:line`. An object suppresses a rule with the annotation
/// `gitops-ml.dev/skip-<rule id>: <reason>` (a reason is required), as the generated manifests do for checkov.
public enum DeployRules {
    public struct Violation: Sendable, Equatable, CustomStringConvertible {
        public var rule: String
        public var severity: DeployPolicy.Severity
        /// `Deployment/churn`.
        public var object: String
        public var message: String
        public var location: SourceLocation
        /// The suppression's reason when the object suppresses the rule (not a violation then).
        public var suppressed: String?

        public var description: String {
            "\(location.file):\(location.line ?? 1): \(rule) (\(severity.rawValue)): \(object): \(message)"
        }
    }

    public static let suppressionPrefix = "gitops-ml.dev/skip-"

    /// One parsed manifest object.
    struct Object {
        var node: Node
        var file: String
        var kind: String
        var name: String
        var line: Int?

        var label: String { "\(kind)/\(name)" }
        func location(_ at: Node? = nil) -> SourceLocation {
            SourceLocation(file: file, line: at?.mark?.line ?? line)
        }
    }

    /// The violations (and suppressed ones) of `policies` on `files` (path → YAML text) for `environment`.
    /// A file that is not YAML is a configuration error at its line.
    public static func evaluate(
        _ policies: [DeployPolicy], environment: String, files: [(path: String, text: String)]
    ) throws -> [Violation] {
        var objects: [Object] = []
        for file in files.sorted(by: { $0.path < $1.path })
        where file.path.hasSuffix(".yaml") || file.path.hasSuffix(".yml") {
            for document in try YAMLReader.composeAll(file.text, file: file.path) {
                guard case .mapping = document, let kind = document["kind"]?.string else { continue }
                objects.append(
                    Object(
                        node: document, file: file.path, kind: kind,
                        name: document["metadata"]?["name"]?.string ?? "?", line: document.mark?.line))
            }
        }
        var violations: [Violation] = []
        for policy in policies {
            for rule in policy.rules where applies(rule.scope, to: environment, production: policy.production) {
                for (object, at, message) in check(rule, objects) {
                    let reason = object.node["metadata"]?["annotations"]?[suppressionPrefix + rule.id]?.string
                    violations.append(
                        Violation(
                            rule: rule.id, severity: rule.severity, object: object.label,
                            message: rule.message ?? message, location: object.location(at),
                            suppressed: reason.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
                        ))
                }
            }
        }
        return violations
    }

    static func applies(_ scope: DeployPolicy.Scope, to environment: String, production: [String]) -> Bool {
        switch scope {
        case .all: return true
        case .production: return production.contains(environment)
        case .named(let names): return names.contains(environment)
        }
    }

    static let workloads: Set = ["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"]

    /// The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, CronJob, Pod).
    static func podSpec(_ object: Object) -> Node? {
        switch object.kind {
        case "Pod": return object.node["spec"]
        case "CronJob": return object.node["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"]
        default: return workloads.contains(object.kind) ? object.node["spec"]?["template"]?["spec"] : nil
        }
    }

    static func containers(_ pod: Node, initial: Bool = true) -> [Node] {
        (pod["containers"]?.sequence.map(Array.init) ?? [])
            + (initial ? pod["initContainers"]?.sequence.map(Array.init) ?? [] : [])
    }

    /// (object, the node to point at, message) for each place `rule` is broken.
    static func check(_ rule: DeployPolicy.Rule, _ objects: [Object]) -> [(Object, Node?, String)] {
        var found: [(Object, Node?, String)] = []
        if let field = rule.field, let condition = rule.condition {
            for object in objects where rule.kinds.contains(object.kind) {
                let values = resolve(field, in: object.node)
                if values.isEmpty {
                    if condition != .exists(false) { found.append((object, nil, "\(field) is not set")) }
                    continue
                }
                for value in values where !holds(condition, value) {
                    found.append(
                        (object, value, "\(field) is \(value.string ?? "a \(value.kindName)"): \(describe(condition))"))
                }
            }
            return found
        }
        for object in objects {
            guard let pod = podSpec(object) else { continue }
            let podContext = pod["securityContext"]
            for container in containers(pod) {
                let name = container["name"]?.string ?? "?"
                let image = container["image"]?.string ?? ""
                switch rule.id {
                case "resources":
                    for part in ["requests", "limits"] {
                        for resource in ["cpu", "memory"] where container["resources"]?[part]?[resource] == nil {
                            found.append(
                                (
                                    object, container["resources"] ?? container,
                                    "container \(name) sets no \(part).\(resource)"
                                ))
                        }
                    }
                case "non-root":
                    let context = container["securityContext"]
                    let nonRoot = context?["runAsNonRoot"]?.bool ?? podContext?["runAsNonRoot"]?.bool ?? false
                    let user = context?["runAsUser"]?.int ?? podContext?["runAsUser"]?.int
                    if !nonRoot || user == 0 {
                        found.append((object, container, "container \(name) may run as root (set runAsNonRoot: true)"))
                    }
                    if context?["privileged"]?.bool == true {
                        found.append((object, context, "container \(name) is privileged"))
                    }
                    if context?["allowPrivilegeEscalation"]?.bool != false {
                        found.append(
                            (
                                object, container,
                                "container \(name) allows privilege escalation (set allowPrivilegeEscalation: false)"
                            ))
                    }
                case "image-digest":
                    if image.range(of: #"@sha256:[0-9a-f]{64}$"#, options: .regularExpression) == nil {
                        found.append((object, container["image"], "image \(image) is not pinned by digest"))
                    }
                case "registries" where !rule.allowed.isEmpty:
                    let qualified = qualifiedImage(image)
                    if !rule.allowed.contains(where: { qualified.hasPrefix($0) || image.hasPrefix($0) }) {
                        found.append(
                            (
                                object, container["image"],
                                "image \(image) is not from an allowed registry (\(rule.allowed.joined(separator: ", ")))"
                            ))
                    }
                default: break
                }
            }
            guard object.kind == "Deployment" || object.kind == "StatefulSet" else { continue }
            switch rule.id {
            case "probes":
                for container in containers(pod, initial: false) {
                    let name = container["name"]?.string ?? "?"
                    for probe in ["readinessProbe", "livenessProbe"] where container[probe] == nil {
                        found.append((object, container, "container \(name) has no \(probe)"))
                    }
                }
            case "replicas":
                let minimum = rule.minimum ?? 2
                let replicas = object.node["spec"]?["replicas"]?.int ?? 1
                let autoscaler = objects.first {
                    $0.kind == "HorizontalPodAutoscaler"
                        && $0.node["spec"]?["scaleTargetRef"]?["name"]?.string == object.name
                        && $0.node["spec"]?["scaleTargetRef"]?["kind"]?.string == object.kind
                }
                let floor = autoscaler.map { $0.node["spec"]?["minReplicas"]?.int ?? 1 } ?? replicas
                if floor < minimum {
                    found.append(
                        (
                            object, object.node["spec"]?["replicas"],
                            "runs \(floor) replica\(floor == 1 ? "" : "s")\(autoscaler == nil ? "" : " at least (its HPA's minReplicas)"), fewer than \(minimum)"
                        ))
                }
            case "pdb":
                let labels = object.node["spec"]?["template"]?["metadata"]?["labels"]
                let covered = objects.contains { budget in
                    guard budget.kind == "PodDisruptionBudget",
                        budget.node["metadata"]?["namespace"]?.string == object.node["metadata"]?["namespace"]?.string,
                        let selector = budget.node["spec"]?["selector"]?["matchLabels"]?.mapping, !selector.isEmpty
                    else { return false }
                    return selector.allSatisfy { labels?[$0.key]?.string == $0.value.string }
                }
                if !covered { found.append((object, nil, "no PodDisruptionBudget selects its pods")) }
            default: break
            }
        }
        return found
    }

    /// `nginx` → `docker.io/library/nginx`, `acme/app` → `docker.io/acme/app`: registries compare on the
    /// full name.
    static func qualifiedImage(_ image: String) -> String {
        let parts = image.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { return "docker.io/library/" + image }
        let host = parts[0]
        return host.contains(".") || host.contains(":") || host == "localhost" ? image : "docker.io/" + image
    }

    /// The values at a dotted path with `[*]` (every item) and `[N]` (one item).
    static func resolve(_ path: String, in node: Node) -> [Node] {
        var current = [node]
        for component in path.split(separator: ".") {
            var name = Substring(component)
            var index: String?
            if let open = component.firstIndex(of: "["), component.hasSuffix("]") {
                name = component[..<open]
                index = String(component[component.index(after: open)..<component.index(before: component.endIndex)])
            }
            current = current.compactMap { name.isEmpty ? $0 : $0[String(name)] }
            if let index {
                current = current.flatMap { list -> [Node] in
                    guard let items = list.sequence.map(Array.init) else { return [] }
                    if index == "*" { return items }
                    guard let position = Int(index), items.indices.contains(position) else { return [] }
                    return [items[position]]
                }
            }
        }
        return current
    }

    static func holds(_ condition: DeployPolicy.Condition, _ value: Node) -> Bool {
        switch condition {
        case .matches(let pattern):
            return value.string.map { $0.range(of: pattern, options: .regularExpression) != nil } ?? false
        case .equals(let expected):
            return (try? YAMLReader.value(of: value, file: "")) == expected
        case .exists(let wanted): return wanted
        case .atLeast(let minimum): return value.float.map { $0 >= minimum } ?? false
        case .atMost(let maximum): return value.float.map { $0 <= maximum } ?? false
        }
    }

    static func describe(_ condition: DeployPolicy.Condition) -> String {
        switch condition {
        case .matches(let pattern): return "must match \(pattern)"
        case .equals(let value): return "must be \(value.json())"
        case .exists(let wanted): return wanted ? "must be set" : "must not be set"
        case .atLeast(let minimum): return "must be at least \(minimum)"
        case .atMost(let maximum): return "must be at most \(maximum)"
        }
    }
}

extension Node {
    var kindName: String {
        switch self {
        case .mapping: return "mapping"
        case .sequence: return "list"
        case .scalar: return "scalar"
        case .alias: return "alias"
        }
    }
}
