import Config
import Foundation
import Testing

@testable import Check

/// What a change does to the PromotionPolicy and the DeployPolicy is listed as loosening, as for gates: a
/// pull request that relaxes the promotion or deployment rules does not read "no gate or check changes".
@Suite struct PolicyChangesTests {
    static func rules(_ policy: String) throws -> RuleSet {
        let text = "apiVersion: gitops-ml/v1\n" + policy
        return RuleSet(
            config: try ProjectConfig.parse(
                Array("version: 1\nproject: p\nmodels:\n  m: {artifact: model.json}\n".utf8)),
            policies: try Policy.parse(Array(text.utf8), file: "policies/p.yaml"), source: "test",
            files: ["policies/p.yaml": Array(text.utf8)])
    }

    static let promotion = """
        kind: PromotionPolicy
        metadata: {name: promotion}
        spec:
          environments:
            production:
              after: [staging]
              soak: 24h
              agents: agents
              signers: releasers
              approvals: {count: 2, signers: reviewers}
              freeze:
                - {days: [sat, sun], reason: weekend}
              max_per_day: 5

        """

    @Test(arguments: [
        ("after: [staging]", "after: []", "promotion to production: no longer after staging"),
        ("soak: 24h", "soak: 0s", "promotion to production: soak 1d → 0s"),
        ("soak: 24h", "soak: 1h", "promotion to production: soak 1d → 1h"),
        ("max_per_day: 5", "max_per_day: 1000", "promotion to production: max_per_day 5 → 1000"),
        (
            "approvals: {count: 2, signers: reviewers}", "approvals: {count: 1, signers: reviewers}",
            "promotion to production: approvals 2 → 1"
        ),
        ("signers: releasers", "signers: mine", "promotion to production: signers releasers → mine"),
        ("agents: agents", "agents: mine", "promotion to production: agents file agents → mine"),
        (
            "freeze:\n        - {days: [sat, sun], reason: weekend}", "freeze: []",
            "freeze window \"weekend\" removed or changed"
        ),
    ])
    func aLooserPromotionPolicyIsListed(_ was: String, _ now: String, _ expected: String) throws {
        let changes = PolicyChanges.describe(
            from: try Self.rules(Self.promotion),
            to: try Self.rules(Self.promotion.replacingOccurrences(of: was, with: now)))
        #expect(changes.contains { $0.contains(expected) }, "\(changes)")
    }

    @Test func aStricterPromotionPolicyIsNotALoosening() throws {
        let stricter = Self.promotion.replacingOccurrences(of: "max_per_day: 5", with: "max_per_day: 2")
            .replacingOccurrences(of: "soak: 24h", with: "soak: 48h")
        #expect(PolicyChanges.describe(from: try Self.rules(Self.promotion), to: try Self.rules(stricter)).isEmpty)
        let gone = PolicyChanges.describe(
            from: try Self.rules(Self.promotion),
            to: try Self.rules("kind: DataPolicy\nmetadata: {name: d}\nspec: {}\n"))
        #expect(gone.contains("promotion rules for production removed"), "\(gone)")
    }

    static let deploy = """
        kind: DeployPolicy
        metadata: {name: deploy}
        spec:
          rules:
            - {id: non-root, severity: error}
            - {id: image-digest, severity: error, environments: all}
            - {id: replicas, severity: error, min: 2}

        """

    @Test func aLooserDeployPolicyIsListed() throws {
        let looser = Self.deploy.replacingOccurrences(of: "    - {id: non-root, severity: error}\n", with: "")
            .replacingOccurrences(
                of: "{id: image-digest, severity: error, environments: all}",
                with: "{id: image-digest, severity: warning, environments: all}"
            )
            .replacingOccurrences(of: "min: 2", with: "min: 1")
        let changes = PolicyChanges.describe(from: try Self.rules(Self.deploy), to: try Self.rules(looser))
        #expect(
            changes == [
                "deploy rule non-root removed", "deploy rule image-digest error → warning",
                "deploy rule replicas changed",
            ], "\(changes)")
        #expect(PolicyChanges.describe(from: try Self.rules(Self.deploy), to: try Self.rules(Self.deploy)).isEmpty)
    }
}
