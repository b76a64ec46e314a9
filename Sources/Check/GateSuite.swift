import Config
import Gates
import GitOpsMLCore

/// The gate suite: one model's champion-vs-challenger comparisons (minimum changes, significance,
/// non-inferiority) on the values and paired predictions the model suite read.
enum GateSuite {
    static func hasComparison(_ gate: GatePolicy.Gate) -> Bool {
        gate.minAbsoluteChange != nil || gate.minRelativeChange != nil || gate.significance != nil
            || gate.nonInferiorityMargin != nil
    }

    static func finding(
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
