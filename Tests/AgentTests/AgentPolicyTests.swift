import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Agent

/// The agent applies only what the PromotionPolicy allows, read from the default branch: a release record
/// written during a freeze is not applied (the status says why, naming the commit that wrote it), and is
/// once the rules allow it.
@Suite("Agent and the PromotionPolicy", .serialized)
struct AgentPolicyTests {
    func publish(_ policy: String, _ fixture: AgentFixture) throws {
        try write(policy, to: "policies/local-promotion.yaml", in: fixture.project)
        try git("add", "-A", in: fixture.project)
        try git("commit", "-qm", "Promotion rules for local", in: fixture.project)
        try git("push", "-q", fixture.origin, "main", in: fixture.project)
    }

    static func policy(_ local: String) -> String {
        """
        apiVersion: gitops-ml/v1
        kind: PromotionPolicy
        metadata: {name: local-promotion}
        spec:
          environments:
            local: \(local)

        """
    }

    @Test func aPromotionTheRulesRefuseIsNotApplied() throws {
        let fixture = try AgentFixture("agent-policy")
        try publish(Self.policy("{freeze: [{reason: change freeze}]}"), fixture)
        let promotion = try fixture.promote("main", version: "v1.0.0")
        let agent = try Reconciler(config: fixture.config, options: fixture.options())
        defer { agent.shutdown() }
        guard case .stopped(let step, let reason, let stop)? = agent.pass()["local"] else {
            Issue.record("applied a promotion made during a freeze")
            return
        }
        #expect(step == .policy)
        #expect(stop == .waiting(after: nil), "a freeze delays the rollout")
        #expect(reason.contains("\(promotion.prefix(12)) breaks the PromotionPolicy: freeze:"), "\(reason)")
        #expect(reason.contains("change freeze"))
        #expect(fixture.serving() == nil, "nothing applied")
        #expect(agent.state.environments["local"]?.lastApplied == nil)

        // The freeze lifted on the default branch: the same commit is applied.
        try publish(Self.policy("{max_per_day: 10}"), fixture)
        #expect(agent.pass()["local"] == .applied(promotion))
        #expect(fixture.serving() == "v1.0.0")
    }
}
