import Config
import Datasets
import Foundation
import Gates
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
                findings += try ModelSuites.run(name: name, model: model, context: context)
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

/// params and metrics files parse at the head, dvc.lock is not stale there; params changes from base to
/// head are reported.
enum ConfigSuite {
    static func run(_ context: CheckContext) throws -> [Finding] {
        var findings: [Finding] = []
        for kind in [TrackedFiles.Kind.params, .metrics] {
            let label = kind == .params ? "params" : "metrics"
            let targets = try TrackedFiles.targets(kind, in: context.head.files, config: context.config)
            for target in targets {
                let id = "config/\(label)/\(target.path)"
                do {
                    let values = try TrackedFiles.values(
                        kind, of: [target], in: ResolvedFiles(context.head.files, stores: context.stores))
                    let missing = values[target.path] == .missing
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: missing ? .skip : .pass,
                            message: missing
                                ? "\(target.path) does not exist at \(context.head.name)" : "\(target.path) parses",
                            location: SourceLocation(file: target.path)))
                } catch let error as GitOpsMLError where error.category == .configuration {
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: .fail, message: error.message,
                            location: error.location))
                } catch let error as GitOpsMLError where error.notPulled {
                    // Not pulled: this finding cannot be judged (it says what to pull); the others go on.
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: .error, message: error.message,
                            location: SourceLocation(file: target.path)))
                }
            }
        }
        findings += try pipeline(context)
        guard let base = context.base else { return findings }
        let oldTargets = try TrackedFiles.targets(.params, in: base.files, config: context.config)
        let newTargets = try TrackedFiles.targets(.params, in: context.head.files, config: context.config)
        guard
            let old = try? TrackedFiles.values(.params, of: oldTargets, in: base.files),
            let new = try? TrackedFiles.values(.params, of: newTargets, in: context.head.files)
        else { return findings }
        let changes = ValueDiff.compare(old: old, new: new)
        let summary = changes.prefix(5).map { "\($0.key) \(cell($0.old)) → \(cell($0.new))" }.joined(separator: ", ")
        findings.append(
            Finding(
                id: "config/params-diff", suite: .config, check: "params-diff", status: .pass,
                message: changes.isEmpty
                    ? "params unchanged from \(base.name)"
                    : "\(changes.count) params changed from \(base.name): \(summary)\(changes.count > 5 ? ", …" : "")",
                details: ValueDiff.json(changes, withDiff: false)))
        return findings
    }

    /// dvc.lock at the head must match the code, params and data beside it (no forgotten `dvc repro`).
    static func pipeline(_ context: CheckContext) throws -> [Finding] {
        guard let judgement = try StalePipeline.check(context.head.files) else { return [] }
        if let reason = judgement.unjudged {
            return [
                Finding(
                    id: "config/dvc.lock", suite: .config, check: "stale-pipeline", status: .skip,
                    message: "dvc.lock not judged: \(reason)", location: SourceLocation(file: "dvc.lock"))
            ]
        }
        let stale = judgement.stale
        guard !stale.isEmpty else {
            return [
                Finding(
                    id: "config/dvc.lock", suite: .config, check: "stale-pipeline", status: .pass,
                    message:
                        "dvc.lock (\(judgement.format ?? "DVC")) matches the code, params, data and outputs at \(context.head.name)",
                    location: SourceLocation(file: "dvc.lock"))
            ]
        }
        return stale.map {
            Finding(
                id: "config/dvc.lock/\($0.stage)/\($0.dependency)", suite: .config, check: "stale-pipeline",
                status: .fail, message: $0.message, observed: $0.actual.map(StructuredValue.string) ?? .null,
                expected: .string($0.recorded), location: SourceLocation(file: "dvc.lock"))
        }
    }

    static func cell(_ value: StructuredValue?) -> String {
        switch value {
        case nil: return "(none)"
        case .string(let text)?: return text
        case let other?: return other.json()
        }
    }
}

/// The model suite (requirements on the head alone) and the gate suite (head against the champion).
enum ModelSuites {
    static func run(name: String, model: ProjectConfig.Model, context: CheckContext) throws -> [Finding] {
        let policies = context.gatePolicies.filter { $0.model == nil || $0.model == name }
        var findings: [Finding] = []
        let sliceBy = policies.compactMap(\.sliceBy).first
        let headFiles = try ModelVersion.read(
            model, config: context.config, at: context.head, stores: context.stores, sliceBy: sliceBy)
        let baseFiles = try context.base.map {
            try ModelVersion.read(model, config: context.config, at: $0, stores: context.stores)
        }
        let (head, base) = try ModelVersion.parse(headFiles, baseFiles)
        if context.suites.contains(.model) {
            findings += try ArtifactCheck.run(
                name: name, model: model, revision: context.head, stores: context.stores,
                rules: policies.compactMap(\.artifact).first)
            if let problem = head.predictionsProblem {
                findings.append(
                    Finding(
                        id: "model/\(name)/predictions", suite: .model, check: "predictions", status: .error,
                        message: problem, location: model.predictions.map { SourceLocation(file: $0) }))
            }
        }
        let pairing = base.flatMap {
            ModelVersion.paired(champion: $0, challenger: head, minOverlap: context.config.checks.minOverlap)
        }
        if context.suites.contains(.model), let summary = MetricsSummary.finding(model: name, version: head) {
            findings.append(summary)
        }

        for policy in policies {
            for gate in policy.gates {
                let id = "\(name)/\(gate.metric)"
                let challenger: (value: Double, source: String)
                switch try head.value(of: gate.metric) {
                case .value(let value, let source): challenger = (value, source)
                case .unavailable(let reason):
                    findings.append(
                        Finding(
                            id: "model/\(id)", suite: .model, check: "metric", status: .error,
                            message: "\(gate.metric) cannot be computed at \(context.head.name): \(reason)",
                            location: gate.location))
                    continue
                case .missing:
                    findings.append(
                        Finding(
                            id: "model/\(id)", suite: .model, check: "metric", status: .error,
                            message:
                                "metric \"\(gate.metric)\" is neither computable from the predictions nor in the metrics files at \(context.head.name)",
                            location: gate.location))
                    continue
                }
                if context.suites.contains(.model), let threshold = gate.threshold {
                    let ok = gate.greaterIsBetter ? challenger.value >= threshold : challenger.value <= threshold
                    let value = GateEvaluator.format(challenger.value)
                    let limit = GateEvaluator.format(threshold)
                    findings.append(
                        Finding(
                            id: "model/\(id)/threshold", suite: .model, check: "threshold", status: ok ? .pass : .fail,
                            message: ok
                                ? "\(gate.metric) = \(value) meets the threshold \(limit)"
                                : "\(gate.metric) = \(value) is \(gate.greaterIsBetter ? "below" : "above") the threshold \(limit)",
                            observed: .double(challenger.value),
                            expected: .object([(gate.greaterIsBetter ? "min" : "max", .double(threshold))]),
                            location: gate.location, details: .object([("source", .string(challenger.source))])))
                }
                guard context.suites.contains(.gate), hasComparison(gate) else { continue }
                findings.append(
                    try gateFinding(
                        id: id, gate: gate, challenger: challenger, base: base, pairing: pairing, context: context))
            }
        }
        if context.suites.contains(.model), let sliceBy, let slices = head.slices, let predictions = head.classification
        {
            let metrics = policies.flatMap { $0.gates.map(\.metric) }
            findings += SliceReport.findings(
                model: name, column: sliceBy, slices: slices, predictions: predictions, metrics: metrics)
        }
        return findings
    }

    static func hasComparison(_ gate: GatePolicy.Gate) -> Bool {
        gate.minAbsoluteChange != nil || gate.minRelativeChange != nil || gate.significance != nil
            || gate.nonInferiorityMargin != nil
    }

    static func gateFinding(
        id: String, gate: GatePolicy.Gate, challenger: (value: Double, source: String), base: ModelVersion?,
        pairing: Result<PairedData, ModelVersion.PairingProblem>?, context: CheckContext
    ) throws -> Finding {
        var spec = GateSpec(metric: gate.metric, greaterIsBetter: gate.greaterIsBetter)
        spec.minAbsoluteChange = gate.minAbsoluteChange
        spec.minRelativeChange = gate.minRelativeChange
        spec.nonInferiorityMargin = gate.nonInferiorityMargin
        if let significance = gate.significance {
            switch significance.test {
            case .bootstrap: spec.test = .bootstrap
            case .mcnemar: spec.test = .mcnemar
            case .delong: spec.test = .delong
            }
            spec.alpha = significance.alpha
            spec.resamples = significance.resamples
            spec.seed = UInt64(truncatingIfNeeded: significance.seed)
            switch significance.onInsignificant {
            case .pass: spec.onInsignificant = .pass
            case .warn: spec.onInsignificant = .warn
            case .fail: spec.onInsignificant = .fail
            }
        }
        func error(_ message: String) -> Finding {
            Finding(
                id: "gate/\(id)", suite: .gate, check: "champion-challenger", status: .error,
                message: "\(gate.metric): \(message)", location: gate.location,
                details: .object([("metric", .string(gate.metric)), ("base", .string(context.base?.name ?? "none"))]))
        }
        var champion: Double?
        switch try base?.value(of: gate.metric) {
        case .value(let value, _)?: champion = value
        case .unavailable(let reason)?:
            return error("the champion's value cannot be computed at \(context.base?.name ?? "the base"): \(reason)")
        case .missing?, nil: champion = nil
        }
        var challengerValue = challenger.value
        var paired: PairedData?
        switch pairing {
        case .failure(let problem)?:
            if champion != nil, challenger.source == "predictions" { return error(problem.message) }
        case .success(let data)?:
            paired = data
            // Both sides on the shared ids, so the difference and its test describe the same examples.
            if let values = pairedValues(gate.metric, data) { (champion, challengerValue) = values }
        case nil: break
        }

        let firstDeployment = Finding.Status(rawValue: context.config.checks.firstDeployment.rawValue) ?? .warn
        let outcome = GateEvaluator.evaluate(
            spec, champion: champion, challenger: challengerValue, paired: paired, firstDeployment: firstDeployment)
        var details: [(key: String, value: StructuredValue)] = [
            ("metric", .string(gate.metric)), ("greater_is_better", .bool(gate.greaterIsBetter)),
            ("direction", .string(gate.directionIsExplicit ? "policy" : "metric name")),
            ("source", .string(challenger.source)),
            ("champion", outcome.champion.map(StructuredValue.double) ?? .null),
            ("challenger", .double(outcome.challenger)),
            ("difference", outcome.difference.map(StructuredValue.double) ?? .null),
        ]
        if let interval = outcome.interval, let confidence = outcome.confidence {
            details.append(("interval", .array([.double(interval.lowerBound), .double(interval.upperBound)])))
            details.append(("confidence", .double(confidence)))
        }
        if let p = outcome.pValue { details.append(("p_value", .double(p))) }
        if let floor = outcome.pValueFloor { details.append(("p_value_floor", .double(floor))) }
        if let method = outcome.method {
            details.append(("test", .string(method.test)))
            details.append(
                (
                    "method",
                    .object(
                        [("description", .string(method.description)), ("interval", .string(method.interval))]
                            + method.details)
                ))
        }
        if let reason = outcome.undefined { details.append(("undefined", .string(reason))) }
        if let n = outcome.n { details.append(("n", .int(n))) }
        details.append(("base", .string(context.base?.name ?? "none")))
        return Finding(
            id: "gate/\(id)", suite: .gate, check: "champion-challenger", status: outcome.status,
            message: outcome.message,
            observed: .double(challengerValue), expected: champion.map { .object([("champion", .double($0))]) },
            location: gate.location, details: .object(details))
    }

    /// The metric on the paired examples, champion and challenger, when the predictions give it.
    static func pairedValues(_ metric: String, _ data: PairedData) -> (champion: Double, challenger: Double)? {
        switch data {
        case .classification(let a, let b):
            guard let x = try? ClassificationMetrics.metric(metric, a),
                let y = try? ClassificationMetrics.metric(metric, b)
            else { return nil }
            return (x, y)
        case .regression(let truth, let a, let b):
            guard let x = RegressionMetrics.metric(metric, truth: truth, predicted: a),
                let y = RegressionMetrics.metric(metric, truth: truth, predicted: b)
            else { return nil }
            return (x, y)
        }
    }
}
