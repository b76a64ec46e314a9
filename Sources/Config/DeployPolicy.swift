import Foundation
import GitOpsMLCore

/// `kind: DeployPolicy`: rules over the rendered manifests (`deploy/<env>/`), built in by id or written as
/// a field path with a condition. Evaluated by `DeployRules` (module Check) in `check --suite deploy`,
/// `generate --check` and `promote`.
public struct DeployPolicy: Sendable, Equatable {
    public var name: String
    /// The environments the rules with `environments: production` cover.
    public var production: [String]
    public var rules: [Rule]
    public var location: SourceLocation

    public enum Severity: String, Sendable, Equatable { case error, warning }

    /// Where a rule applies: every environment, the production ones, or the named ones.
    public enum Scope: Sendable, Equatable {
        case all
        case production
        case named([String])
    }

    public struct Rule: Sendable, Equatable {
        public var id: String
        /// The built-in rule this id names; nil for a user rule (`field` and `condition`).
        public var builtIn: BuiltIn?
        public var severity: Severity
        public var scope: Scope
        public var message: String?
        /// Built-in rules' parameters: `min` (replicas), `allowed` (registries).
        public var minimum: Int?
        public var allowed: [String] = []
        /// A user rule: the object kinds it reads (default Deployment), the field path, the condition.
        public var kinds: [String] = []
        public var field: String?
        public var condition: Condition?
        public var location: SourceLocation
    }

    public enum Condition: Sendable, Equatable {
        case matches(String)
        case equals(StructuredValue)
        case exists(Bool)
        case atLeast(Double)
        case atMost(Double)
    }

    /// The built-in rules, by id. Adding one is a case here and its check in Check's `DeployRules`.
    public enum BuiltIn: String, Sendable, CaseIterable {
        case resources, probes
        case nonRoot = "non-root"
        case imageDigest = "image-digest"
        case replicas, pdb, registries

        /// What the rule requires.
        public var description: String {
            switch self {
            case .resources: "every container sets CPU and memory requests and limits"
            case .probes: "every container of a Deployment has a readiness and a liveness probe"
            case .nonRoot: "pods and containers run as non-root, unprivileged, without privilege escalation"
            case .imageDigest: "every image is pinned by digest (@sha256:…)"
            case .replicas: "a Deployment runs at least `min` replicas (default 2), or its HPA's minReplicas does"
            case .pdb: "a PodDisruptionBudget selects each Deployment's pods"
            case .registries: "every image comes from a registry prefix in `allowed` (no check when empty)"
            }
        }
    }

    init(name: String, spec node: ConfigNode) throws {
        let spec = try node.mapping()
        self.name = name
        location = node.location
        production = try spec.optional("production")?.strings() ?? ["production", "prod"]
        rules = []
        var seen: Set<String> = []
        for item in try spec.required("rules").list() {
            let map = try item.mapping()
            let idNode = try map.required("id")
            let id = try idNode.string()
            guard seen.insert(id).inserted else { throw idNode.error("a second rule with id \(id)") }
            var rule = Rule(
                id: id, builtIn: BuiltIn(rawValue: id), severity: .error, scope: .all,
                message: try map.optional("message")?.string(),
                location: item.location)
            if let severity = map.optional("severity") {
                rule.severity = Severity(rawValue: try severity.choice(["error", "warning"])) ?? .error
            }
            if let scope = map.optional("environments") {
                if case .scalar = scope.node {
                    let text = try scope.string()
                    rule.scope = text == "production" ? .production : text == "all" ? .all : .named([text])
                } else {
                    rule.scope = .named(try scope.strings())
                }
            }
            if rule.builtIn != nil {
                rule.minimum = try map.optional("min")?.int()
                rule.allowed = try map.optional("allowed")?.strings() ?? []
            } else {
                let field = map.optional("field")
                guard let field else {
                    throw idNode.error(
                        "rule \(id) is not built in (\(BuiltIn.allCases.map(\.rawValue).joined(separator: ", "))) and has no field"
                    )
                }
                rule.field = try field.string()
                rule.kinds = try map.optional("kinds")?.strings() ?? ["Deployment"]
                var conditions: [Condition] = []
                if let pattern = map.optional("matches") {
                    let text = try pattern.string()
                    guard (try? NSRegularExpression(pattern: text)) != nil else {
                        throw pattern.error("\"\(text)\" is not a regular expression")
                    }
                    conditions.append(.matches(text))
                }
                if let value = map.optional("equals") { conditions.append(.equals(try value.value)) }
                if let exists = map.optional("exists") { conditions.append(.exists(try exists.bool())) }
                if let minimum = map.optional("min") { conditions.append(.atLeast(try minimum.double())) }
                if let maximum = map.optional("max") { conditions.append(.atMost(try maximum.double())) }
                guard conditions.count == 1, let condition = conditions.first else {
                    throw item.error("rule \(id) needs exactly one of matches, equals, exists, min, max")
                }
                rule.condition = condition
            }
            try map.finish()
            rules.append(rule)
        }
        try spec.finish()
    }
}
