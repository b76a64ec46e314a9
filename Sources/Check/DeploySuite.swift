import Config
import GitOpsMLCore

/// The deploy suite: the trusted rules' DeployPolicies over each environment's manifests at the head
/// (`deploy/<env>/`, as `generate` writes them and the agent applies them).
enum DeploySuite {
    static func run(_ context: CheckContext) throws -> [Finding] {
        let policies = context.policies.compactMap { policy -> DeployPolicy? in
            if case .deploy(let deploy) = policy { return deploy } else { return nil }
        }
        guard !policies.isEmpty else { return [] }
        var findings: [Finding] = []
        for environment in context.config.environments.keys.sorted() {
            let folder = "deploy/\(environment)"
            let paths = try context.head.files.list(folder, limit: RuleSet.fileLimit)
            guard !paths.isEmpty else {
                findings.append(
                    Finding(
                        id: "deploy/\(environment)", suite: .deploy, check: "manifests", status: .skip,
                        message: "no \(folder)/ at \(context.head.name) (gitops-ml generate manifests writes it)"))
                continue
            }
            var files: [(path: String, text: String)] = []
            for path in paths {
                guard let bytes = try context.head.files.read(path) else { continue }
                files.append((path, String(decoding: bytes, as: UTF8.self)))
            }
            let violations: [DeployRules.Violation]
            do {
                violations = try DeployRules.evaluate(policies, environment: environment, files: files)
            } catch let error as GitOpsMLError where error.category == .configuration {
                // A manifest that is not YAML is the change's fault: a failed finding, the report stands.
                findings.append(
                    Finding(
                        id: "deploy/\(environment)/parse", suite: .deploy, check: "manifests", status: .fail,
                        message: error.message, location: error.location))
                continue
            }
            for (index, violation) in violations.enumerated() {
                let status: Finding.Status =
                    violation.suppressed != nil ? .skip : violation.severity == .error ? .fail : .warn
                findings.append(
                    Finding(
                        id: "deploy/\(environment)/\(violation.rule)/\(index + 1)", suite: .deploy,
                        check: violation.rule, status: status,
                        message: "\(violation.object): \(violation.message)"
                            + (violation.suppressed.map { " (suppressed: \($0))" } ?? ""),
                        location: violation.location))
            }
            if violations.allSatisfy({ $0.suppressed != nil }) {
                findings.append(
                    Finding(
                        id: "deploy/\(environment)", suite: .deploy, check: "manifests", status: .pass,
                        message: "\(folder)/: \(files.count) files pass the DeployPolicy rules"))
            }
        }
        return findings
    }
}
