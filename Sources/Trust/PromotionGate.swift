import Check
import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// Whether a promotion may go ahead, judged the same way wherever it is asked: before `promote` writes it,
/// and where the agent applies it. The rules are those `RulesInForce` names; nothing the promotion carries
/// decides how it is judged.
public enum PromotionGate {
    /// What a promotion must have before any rule is read: an image (`image`, what it would run) that is
    /// not the placeholder `init` wrote, and, for an environment that `requires_approval`, something that
    /// enforces it — approvals in its PromotionPolicy, or (`approvalEnforcedElsewhere`) a CI environment
    /// with required reviewers.
    public static func releasable(
        model: String, image: String?, environment: String, trusted: TrustedRules, approvalEnforcedElsewhere: Bool
    ) throws {
        let rules = trusted.rules
        if let image, image.contains("/OWNER/") {
            throw GitOpsMLError.configuration(
                "models.\(model).serving.image is still the placeholder \(image) that init wrote: set the image \(environment) should run",
                at: SourceLocation(file: ProjectConfig.fileName))
        }
        guard rules.config.environments[environment]?.requiresApproval == true, !approvalEnforcedElsewhere else {
            return
        }
        let enforced = rules.policies.contains { policy in
            if case .promotion(let promotion) = policy { return promotion.environments[environment]?.approvals != nil }
            return false
        }
        guard !enforced else { return }
        throw GitOpsMLError.configuration(
            "\(environment) has requires_approval: true in \(rules.source), and nothing here enforces it: give its PromotionPolicy approvals (`gitops-ml approve`), or promote from the generated ml-promote workflow, whose GitHub environment holds the reviewers (--approval github-environment)"
        )
    }

    /// Every rule the promotion of `subject` on top of `environmentTip` breaks: the PromotionPolicies in
    /// force there, and — when the default branch has DeployPolicies — those rules (errors not suppressed)
    /// on the manifests the promotion would write (`manifests`: `deploy/<env>/` files and their text, asked
    /// for only when needed). Empty when it may go ahead.
    public static func violations(
        _ subject: PromotionRules.Subject, environmentTip: ObjectID?, trusted: TrustedRules, repository: Repository,
        manifests: () throws -> [(path: String, text: String)] = { [] }
    ) throws -> [String] {
        let inForce = try RulesInForce.promotion(
            environmentTip: environmentTip, trusted: trusted, repository: repository)
        var problems: [String] = []
        if !inForce.isEmpty {
            problems += try PromotionRules.evaluate(
                subject, rules: inForce,
                history: try PromotionHistory.read(config: trusted.rules.config, repository: repository),
                repository: repository
            ).map(\.description)
        }
        let deployPolicies = trusted.rules.deployPolicies
        if !deployPolicies.isEmpty {
            let files = try manifests().filter { $0.path.hasPrefix("deploy/\(subject.environment)/") }
            problems += try DeployRules.evaluate(deployPolicies, environment: subject.environment, files: files)
                .filter { $0.suppressed == nil && $0.severity == .error }.map(\.description)
        }
        return problems
    }
}
