import Config
import Gates
import GitOpsMLCore

/// The model suite: one model's requirements on the head alone (artifact, predictions, metric thresholds,
/// slices); it reads both versions once and hands each comparison to the gate suite.
enum ModelSuite {
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
                guard context.suites.contains(.gate), GateSuite.hasComparison(gate) else { continue }
                findings.append(
                    try GateSuite.finding(
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
}
