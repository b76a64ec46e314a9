import Config
import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Check

/// DeployPolicy rules on manifests: each built-in rule passing and failing, a user rule, suppression by
/// annotation, and the file:line of every violation.
@Suite("Deploy rules")
struct DeployRulesTests {
    static let good = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: churn
          namespace: churn-production
        spec:
          replicas: 2
          selector:
            matchLabels: {app: churn}
          template:
            metadata:
              labels: {app: churn, track: stable}
            spec:
              securityContext: {runAsNonRoot: true, runAsUser: 10001}
              containers:
                - name: server
                  image: ghcr.io/acme/churn@sha256:\(String(repeating: "a", count: 64))
                  readinessProbe: {httpGet: {path: /healthz, port: 8080}}
                  livenessProbe: {httpGet: {path: /healthz, port: 8080}}
                  resources:
                    requests: {cpu: 250m, memory: 512Mi}
                    limits: {cpu: "1", memory: 1Gi}
                  securityContext: {allowPrivilegeEscalation: false}
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata: {name: churn, namespace: churn-production}
        spec:
          minAvailable: 1
          selector:
            matchLabels: {app: churn}

        """

    static func policy(_ rules: String = "", extends: Bool = true) throws -> DeployPolicy {
        let text = """
            apiVersion: gitops-ml/v1
            kind: DeployPolicy
            \(extends ? "extends: builtin:deploy/default" : "")
            metadata: {name: deploy}
            spec:
              rules:
            \(rules.isEmpty ? "    - {id: registries, allowed: [ghcr.io/acme/]}" : rules)

            """
        guard case .deploy(let policy)? = try Policy.parse(Array(text.utf8), file: "policies/deploy.yaml").first
        else { throw GitOpsMLError.usage("not a DeployPolicy") }
        return policy
    }

    func violations(_ text: String, environment: String = "production", policy: DeployPolicy? = nil) throws
        -> [DeployRules.Violation]
    {
        try DeployRules.evaluate(
            [policy ?? Self.policy()], environment: environment,
            files: [(path: "deploy/\(environment)/churn/deployment.yaml", text: text)]
        ).filter { $0.suppressed == nil }
    }

    @Test func wellFormedManifestsPassEveryBuiltInRule() throws {
        #expect(try violations(Self.good).isEmpty)
        #expect(try Self.policy().rules.map(\.id).sorted() == DeployPolicy.BuiltIn.allCases.map(\.rawValue).sorted())
    }

    @Test(arguments: [
        ("resources", "limits: {cpu: \"1\", memory: 1Gi}", "limits: {cpu: \"1\"}", 21, "sets no limits.memory"),
        (
            "probes", "livenessProbe: {httpGet: {path: /healthz, port: 8080}}", "startupProbe: {}", 16,
            "has no livenessProbe"
        ),
        ("non-root", "runAsNonRoot: true, runAsUser: 10001", "runAsUser: 0", 16, "may run as root"),
        (
            "non-root", "{allowPrivilegeEscalation: false}", "{allowPrivilegeEscalation: false, privileged: true}", 23,
            "is privileged"
        ),
        ("image-digest", "@sha256:\(String(repeating: "a", count: 64))", ":v1", 17, "not pinned by digest"),
        ("registries", "ghcr.io/acme/churn", "docker.io/evil/churn", 17, "not from an allowed registry"),
        ("replicas", "replicas: 2", "replicas: 1", 7, "runs 1 replica"),
        ("pdb", "matchLabels: {app: churn}\n", "matchLabels: {app: other}\n", 1, "no PodDisruptionBudget"),
    ])
    func eachRuleFailsWhereItShould(rule: String, good: String, bad: String, line: Int, message: String) throws {
        let text: String
        if rule == "pdb" {
            // The budget's selector (the last occurrence) no longer selects the pods.
            let range = try #require(Self.good.range(of: good, options: .backwards))
            text = Self.good.replacingCharacters(in: range, with: bad)
        } else {
            text = Self.good.replacingOccurrences(of: good, with: bad)
        }
        #expect(text != Self.good)
        let found = try violations(text)
        #expect(found.map(\.rule) == [rule], "\(found)")
        #expect(found.first?.message.contains(message) == true, "\(found)")
        #expect(found.first?.location.line == line, "\(found)")
        #expect(found.first?.description.hasPrefix("deploy/production/churn/deployment.yaml:\(line): \(rule)") == true)
    }

    @Test func productionRulesOnlyInProductionAndSuppressionNeedsAReason() throws {
        let unpinned = Self.good.replacingOccurrences(
            of: "@sha256:\(String(repeating: "a", count: 64))", with: ":v1"
        ).replacingOccurrences(of: "replicas: 2", with: "replicas: 1")
        #expect(try violations(unpinned, environment: "staging").isEmpty)
        #expect(Set(try violations(unpinned).map(\.rule)) == ["image-digest", "replicas"])

        let suppressed = unpinned.replacingOccurrences(
            of: "  namespace: churn-production\nspec:\n  replicas",
            with:
                "  namespace: churn-production\n  annotations:\n    gitops-ml.dev/skip-image-digest: rebuilt nightly\n"
                + "    gitops-ml.dev/skip-replicas: \"\"\nspec:\n  replicas")
        let all = try DeployRules.evaluate(
            [try Self.policy()], environment: "production",
            files: [(path: "deploy/production/churn/deployment.yaml", text: suppressed)])
        #expect(all.first { $0.rule == "image-digest" }?.suppressed == "rebuilt nightly")
        #expect(all.first { $0.rule == "replicas" }?.suppressed == nil, "an empty reason suppresses nothing")
    }

    @Test func anHPAsFloorCountsAsTheReplicas() throws {
        let one = Self.good.replacingOccurrences(of: "replicas: 2", with: "replicas: 1")
        let hpa = """
            ---
            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {name: churn}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: churn}
              minReplicas: 3
              maxReplicas: 6

            """
        #expect(try violations(one + hpa).isEmpty)
        #expect(
            try violations(one + hpa.replacingOccurrences(of: "minReplicas: 3", with: "minReplicas: 1")).map(\.rule)
                == ["replicas"])
    }

    @Test func aUserRuleIsAFieldPathWithACondition() throws {
        let policy = try Self.policy(
            """
                - id: pull-always
                  field: spec.template.spec.containers[*].imagePullPolicy
                  equals: Always
                  severity: warning
                - id: few-replicas
                  field: spec.replicas
                  max: 5
                - id: no-host-network
                  field: spec.template.spec.hostNetwork
                  exists: false
            """, extends: false)
        let found = try violations(Self.good, policy: policy)
        #expect(found.map(\.rule) == ["pull-always"], "absent: broken")
        #expect(found.first?.severity == .warning)
        #expect(found.first?.message == "spec.template.spec.containers[*].imagePullPolicy is not set")
        let set = Self.good.replacingOccurrences(
            of: "      containers:", with: "      hostNetwork: true\n      containers:"
        ).replacingOccurrences(
            of: "          readinessProbe", with: "          imagePullPolicy: Always\n          readinessProbe"
        )
        .replacingOccurrences(of: "replicas: 2", with: "replicas: 9")
        let again = try violations(set, policy: policy)
        #expect(Set(again.map(\.rule)) == ["few-replicas", "no-host-network"], "\(again)")
        #expect(again.first { $0.rule == "few-replicas" }?.location.line == 7)
    }

    @Test func badRulesAreConfigurationErrorsAtTheirLine() throws {
        #expect(throws: GitOpsMLError.self) { try Self.policy("    - {id: mine}", extends: false) }
        #expect(throws: GitOpsMLError.self) {
            try Self.policy("    - {id: mine, field: spec.replicas, min: 1, max: 3}", extends: false)
        }
        #expect(throws: GitOpsMLError.self) {
            try Self.policy("    - {id: mine, field: spec.x, matches: '('}", extends: false)
        }
        do {
            _ = try Self.policy("    - {id: resources, severity: fatal}", extends: false)
            Issue.record("accepted severity: fatal")
        } catch let error as GitOpsMLError {
            #expect(error.location?.file == "policies/deploy.yaml" && error.location?.line == 7, "\(error)")
        }
    }
}
