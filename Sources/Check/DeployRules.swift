import Config
import Foundation
import GitOpsMLCore

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
        var node: YAMLNode
        var kind: String
        var name: String

        var label: String { "\(kind)/\(name)" }
        func location(_ at: YAMLNode? = nil) -> SourceLocation {
            SourceLocation(file: node.file, line: at?.line ?? node.line)
        }
    }

    /// Where a rule is broken: the object, the node to point at, and why.
    typealias Breach = (object: Object, at: YAMLNode?, message: String)

    /// The violations (and suppressed ones) of `policies` on `files` (path → YAML text) for `environment`.
    /// A file that is not YAML is a configuration error at its line.
    public static func evaluate(
        _ policies: [DeployPolicy], environment: String, files: [(path: String, text: String)]
    ) throws -> [Violation] {
        var objects: [Object] = []
        for file in files.sorted(by: { $0.path < $1.path })
        where file.path.hasSuffix(".yaml") || file.path.hasSuffix(".yml") {
            for document in try YAMLNode.documents(file.text, file: file.path) {
                guard document.isMapping, let kind = document["kind"]?.string else { continue }
                objects.append(Object(node: document, kind: kind, name: document["metadata"]?["name"]?.string ?? "?"))
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
    static func podSpec(_ object: Object) -> YAMLNode? {
        switch object.kind {
        case "Pod": return object.node["spec"]
        case "CronJob": return object.node["spec"]?["jobTemplate"]?["spec"]?["template"]?["spec"]
        default: return workloads.contains(object.kind) ? object.node["spec"]?["template"]?["spec"] : nil
        }
    }

    static func containers(_ pod: YAMLNode, initial: Bool = true) -> [YAMLNode] {
        (pod["containers"]?.items ?? []) + (initial ? pod["initContainers"]?.items ?? [] : [])
    }

    /// Each place `rule` is broken: a user rule's condition on its field, or a built-in rule's check.
    static func check(_ rule: DeployPolicy.Rule, _ objects: [Object]) -> [Breach] {
        if let field = rule.field, let condition = rule.condition {
            return objects.filter { rule.kinds.contains($0.kind) }.flatMap { fieldRule(field, condition, $0) }
        }
        guard let builtIn = rule.builtIn else { return [] }
        var found: [Breach] = []
        for object in objects {
            guard let pod = podSpec(object) else { continue }
            switch builtIn {
            case .resources: found += containers(pod).flatMap { resources(object, $0) }
            case .nonRoot: found += containers(pod).flatMap { nonRoot(object, $0, pod: pod) }
            case .imageDigest: found += containers(pod).flatMap { imageDigest(object, $0) }
            case .registries: found += containers(pod).flatMap { registries(object, $0, allowed: rule.allowed) }
            case .probes: found += probes(object, pod)
            case .replicas: found += replicas(object, minimum: rule.minimum ?? 2, among: objects)
            case .pdb: found += disruptionBudget(object, among: objects)
            }
        }
        return found
    }

    static func fieldRule(_ field: String, _ condition: DeployPolicy.Condition, _ object: Object) -> [Breach] {
        let values = resolve(field, in: object.node)
        if values.isEmpty { return condition == .exists(false) ? [] : [(object, nil, "\(field) is not set")] }
        return values.filter { !holds(condition, $0) }.map { value in
            (object, value, "\(field) is \(value.string ?? "a \(value.kindName)"): \(describe(condition))")
        }
    }

    static func name(_ container: YAMLNode) -> String { container["name"]?.string ?? "?" }

    static func resources(_ object: Object, _ container: YAMLNode) -> [Breach] {
        ["requests", "limits"].flatMap { part in
            ["cpu", "memory"].filter { container["resources"]?[part]?[$0] == nil }.map { resource in
                (
                    object, container["resources"] ?? container,
                    "container \(name(container)) sets no \(part).\(resource)"
                )
            }
        }
    }

    static func nonRoot(_ object: Object, _ container: YAMLNode, pod: YAMLNode) -> [Breach] {
        let (context, podContext) = (container["securityContext"], pod["securityContext"])
        let nonRoot = context?["runAsNonRoot"]?.bool ?? podContext?["runAsNonRoot"]?.bool ?? false
        let user = context?["runAsUser"]?.int ?? podContext?["runAsUser"]?.int
        var found: [Breach] = []
        if !nonRoot || user == 0 {
            found.append((object, container, "container \(name(container)) may run as root (set runAsNonRoot: true)"))
        }
        if context?["privileged"]?.bool == true {
            found.append((object, context, "container \(name(container)) is privileged"))
        }
        if context?["allowPrivilegeEscalation"]?.bool != false {
            found.append(
                (
                    object, container,
                    "container \(name(container)) allows privilege escalation (set allowPrivilegeEscalation: false)"
                ))
        }
        return found
    }

    static func imageDigest(_ object: Object, _ container: YAMLNode) -> [Breach] {
        let image = container["image"]?.string ?? ""
        guard image.range(of: #"@sha256:[0-9a-f]{64}$"#, options: .regularExpression) == nil else { return [] }
        return [(object, container["image"], "image \(image) is not pinned by digest")]
    }

    static func registries(_ object: Object, _ container: YAMLNode, allowed: [String]) -> [Breach] {
        let image = container["image"]?.string ?? ""
        let qualified = qualifiedImage(image)
        guard !allowed.isEmpty, !allowed.contains(where: { qualified.hasPrefix($0) || image.hasPrefix($0) }) else {
            return []
        }
        return [
            (
                object, container["image"],
                "image \(image) is not from an allowed registry (\(allowed.joined(separator: ", ")))"
            )
        ]
    }

    static func isScaled(_ object: Object) -> Bool { object.kind == "Deployment" || object.kind == "StatefulSet" }

    static func probes(_ object: Object, _ pod: YAMLNode) -> [Breach] {
        guard isScaled(object) else { return [] }
        return containers(pod, initial: false).flatMap { container in
            ["readinessProbe", "livenessProbe"].filter { container[$0] == nil }.map {
                (object, container, "container \(name(container)) has no \($0)")
            }
        }
    }

    static func replicas(_ object: Object, minimum: Int, among objects: [Object]) -> [Breach] {
        guard isScaled(object) else { return [] }
        let replicas = object.node["spec"]?["replicas"]?.int ?? 1
        let autoscaler = objects.first {
            $0.kind == "HorizontalPodAutoscaler"
                && $0.node["spec"]?["scaleTargetRef"]?["name"]?.string == object.name
                && $0.node["spec"]?["scaleTargetRef"]?["kind"]?.string == object.kind
        }
        let floor = autoscaler.map { $0.node["spec"]?["minReplicas"]?.int ?? 1 } ?? replicas
        guard floor < minimum else { return [] }
        return [
            (
                object, object.node["spec"]?["replicas"],
                "runs \(floor) replica\(floor == 1 ? "" : "s")\(autoscaler == nil ? "" : " at least (its HPA's minReplicas)"), fewer than \(minimum)"
            )
        ]
    }

    static func disruptionBudget(_ object: Object, among objects: [Object]) -> [Breach] {
        guard isScaled(object) else { return [] }
        let labels = object.node["spec"]?["template"]?["metadata"]?["labels"]
        let covered = objects.contains { budget in
            guard budget.kind == "PodDisruptionBudget",
                budget.node["metadata"]?["namespace"]?.string == object.node["metadata"]?["namespace"]?.string,
                let selector = budget.node["spec"]?["selector"]?["matchLabels"]?.entries, !selector.isEmpty
            else { return false }
            return selector.allSatisfy { labels?[$0.key]?.string == $0.value.string }
        }
        return covered ? [] : [(object, nil, "no PodDisruptionBudget selects its pods")]
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
    static func resolve(_ path: String, in node: YAMLNode) -> [YAMLNode] {
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
                current = current.flatMap { list -> [YAMLNode] in
                    guard let items = list.items else { return [] }
                    if index == "*" { return items }
                    guard let position = Int(index), items.indices.contains(position) else { return [] }
                    return [items[position]]
                }
            }
        }
        return current
    }

    static func holds(_ condition: DeployPolicy.Condition, _ value: YAMLNode) -> Bool {
        switch condition {
        case .matches(let pattern):
            return value.string.map { $0.range(of: pattern, options: .regularExpression) != nil } ?? false
        case .equals(let expected):
            return (try? value.value) == expected
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
