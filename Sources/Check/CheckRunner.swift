import Config
import GitOpsMLCore

/// Runs the planned suites and collects their findings. Only I/O and configuration problems throw.
public enum CheckRunner {
    public static func run(_ context: CheckContext, progress: (String) -> Void = { _ in }) throws -> [Finding] {
        var findings: [Finding] = []
        if context.suites.contains(.config) {
            progress("config")
            findings += try ConfigSuite.run(context)
        }
        if context.suites.contains(.data) {
            progress("data")
            findings += try DataSuite.run(context)
        }
        if context.suites.contains(.model) || context.suites.contains(.gate) {
            for (name, model) in context.config.models.sorted(by: { $0.key < $1.key }) {
                progress("model \(name)")
                findings += try ModelSuite.run(name: name, model: model, context: context)
            }
        }
        if context.suites.contains(.deploy) {
            findings += try DeploySuite.run(context)
        }
        if context.suites.contains(.code) {
            for check in context.config.checks.code {
                progress("code \(check.name)")
                findings += CodeSuite.run(check, workTree: context.workTree)
            }
        }
        if let empty = nothingChecked(context, findings) { findings.append(empty) }
        return findings
    }

    /// A run whose data, model, gate, code and deploy checks were all skipped (or never planned) judged
    /// nothing: that is a failure that says what to configure, never an empty pass — for the whole run and
    /// for a run of one suite (`--suite deploy` with no DeployPolicy) alike.
    static func nothingChecked(_ context: CheckContext, _ findings: [Finding]) -> Finding? {
        let judging: [CheckContext.Suite] = [.data, .model, .gate, .code, .deploy]
        let asked = judging.filter(context.suites.contains)
        guard !asked.isEmpty,
            !findings.contains(where: { finding in
                asked.contains { $0.rawValue == finding.suite.rawValue } && finding.status != .skip
            })
        else { return nil }
        let skipped = findings.filter { finding in asked.contains { $0.rawValue == finding.suite.rawValue } }.map(
            \.message)
        let modelled = asked.filter { [.data, .model, .gate].contains($0) }
        var advice = [String]()
        func has(_ kind: (Policy) -> Bool) -> Bool { context.policies.contains(where: kind) }
        if !modelled.isEmpty {
            if context.config.models.isEmpty { advice.append("declare a model under models: in gitops-ml.yaml") }
            for (name, model) in context.config.models.sorted(by: { $0.key < $1.key })
            where model.metrics == nil && model.predictions == nil && context.config.metrics.isEmpty {
                advice.append("give models.\(name).metrics or .predictions")
            }
            if !has({ if case .gate = $0 { true } else { false } }) {
                advice.append("add a GatePolicy (extends: builtin:gates/binary-classification, see docs/policies.md)")
            }
            if !context.config.datasets.isEmpty && !has({ if case .data = $0 { true } else { false } }) {
                advice.append("add a DataPolicy for the datasets")
            }
        }
        if asked.contains(.code) && context.config.checks.code.isEmpty {
            advice.append("add test commands under checks.code in gitops-ml.yaml")
        }
        if asked.contains(.deploy) && !has({ if case .deploy = $0 { true } else { false } }) {
            advice.append(
                "add a DeployPolicy (extends: builtin:deploy/default) and deploy/<env>/ manifests (gitops-ml generate)")
        }
        let names = (modelled.isEmpty ? asked : modelled).map(\.rawValue)
        let list =
            names.count > 1 ? names.dropLast().joined(separator: ", ") + " and " + (names.last ?? "") : names.joined()
        return Finding(
            id: "config/nothing-checked", suite: .config, check: "nothing-checked", status: .fail,
            message: "nothing checked: every \(list) check was skipped"
                + (skipped.isEmpty ? "" : " (\(skipped.prefix(3).joined(separator: "; ")))")
                + (advice.isEmpty ? "" : "; to check something: " + advice.joined(separator: "; ")))
    }
}
