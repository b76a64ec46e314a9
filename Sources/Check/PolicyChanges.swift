import Config
import GitOpsMLCore

/// What a change does to the rules it is judged by: the files of gitops-ml.yaml, policies/ and templates/
/// it edits, and the effective gates before and after (added, removed, loosened, tightened). The change is
/// judged by the trusted rules; this finding shows a reviewer what merging it would change. It warns, or
/// fails with `checks.policy_changes: fail` (read from the trusted rules).
public enum PolicyChanges {
    public static func finding(trusted: RuleSet, proposed: Result<RuleSet?, Error>, proposedName: String) -> Finding? {
        let status: Finding.Status = trusted.config.checks.policyChanges == .fail ? .fail : .warn
        let proposal: RuleSet?
        switch proposed {
        case .success(let rules): proposal = rules
        case .failure(let error):
            return Finding(
                id: "policy/changes", suite: .policy, check: "rules", status: .fail,
                message:
                    "the rules at \(proposedName) do not load, so merging would break every later check: \(error); this check used the rules of \(trusted.source)",
                details: .object([("trusted", .string(trusted.source))]))
        }
        let after = proposal?.files ?? [:]
        let edited = Set(trusted.files.keys).union(after.keys).filter { trusted.files[$0] != after[$0] }.sorted()
        guard !edited.isEmpty else { return nil }
        let changes = describe(from: trusted, to: proposal)
        let summary = changes.isEmpty ? "no gate or check changes its effect" : changes.joined(separator: "; ")
        return Finding(
            id: "policy/changes", suite: .policy, check: "rules", status: status,
            message:
                "the change edits the rules (\(edited.prefix(8).joined(separator: ", "))\(edited.count > 8 ? ", …" : "")): \(summary). It was judged by the rules of \(trusted.source); its own take effect once merged",
            observed: .object(effectiveGates(proposal)), expected: .object(effectiveGates(trusted)),
            details: .object([
                ("trusted", .string(trusted.source)), ("files", .array(edited.map(StructuredValue.string))),
                ("changes", .array(changes.map(StructuredValue.string))),
            ]))
    }

    /// Each gate as `model/metric` → its rules in words, for the report's before and after.
    static func effectiveGates(_ rules: RuleSet?) -> [(key: String, value: StructuredValue)] {
        guard let rules else { return [] }
        return rules.gatePolicies.flatMap { policy in
            policy.gates.map { gate in ("\(policy.model ?? "*")/\(gate.metric)", .string(words(gate))) }
        }
    }

    static func words(_ gate: GatePolicy.Gate) -> String {
        var parts = [gate.greaterIsBetter ? "higher is better" : "lower is better"]
        if let value = gate.threshold { parts.append("threshold \(value)") }
        if let value = gate.minAbsoluteChange { parts.append("min_absolute_change \(value)") }
        if let value = gate.minRelativeChange { parts.append("min_relative_change \(value)") }
        if let value = gate.nonInferiorityMargin { parts.append("non_inferiority_margin \(value)") }
        if let test = gate.significance {
            parts.append("\(test.test) at α = \(test.alpha), \(test.onInsignificant) when not significant")
        }
        return parts.joined(separator: ", ")
    }

    /// The changes in words, loosening first.
    static func describe(from old: RuleSet, to new: RuleSet?) -> [String] {
        guard let new else { return ["gitops-ml.yaml removed: nothing would be checked"] }
        var loosened: [String] = []
        var other: [String] = []
        func key(_ policy: GatePolicy, _ gate: GatePolicy.Gate) -> String { "\(policy.model ?? "*")/\(gate.metric)" }
        let before = Dictionary(
            old.gatePolicies.flatMap { policy in policy.gates.map { (key(policy, $0), $0) } },
            uniquingKeysWith: { a, _ in a })
        let after = Dictionary(
            new.gatePolicies.flatMap { policy in policy.gates.map { (key(policy, $0), $0) } },
            uniquingKeysWith: { a, _ in a })
        for name in before.keys.sorted() {
            guard let was = before[name] else { continue }
            guard let now = after[name] else {
                loosened.append("gate \(name) removed")
                continue
            }
            let (weaker, changed) = compare(was, now)
            loosened += weaker.map { "gate \(name) loosened: \($0)" }
            other += changed.map { "gate \(name): \($0)" }
        }
        other += after.keys.sorted().filter { before[$0] == nil }.map { "gate \($0) added" }
        for model in old.config.models.keys.sorted() where new.config.models[model] == nil {
            loosened.append("model \(model) removed")
        }
        other += new.config.models.keys.sorted().filter { old.config.models[$0] == nil }.map { "model \($0) added" }
        for (name, dataset) in old.config.datasets.sorted(by: { $0.key < $1.key }) {
            guard let now = new.config.datasets[name] else {
                loosened.append("dataset \(name) removed")
                continue
            }
            if dataset.path != now.path { other.append("dataset \(name): \(dataset.path) → \(now.path)") }
        }
        other += new.config.datasets.keys.sorted().filter { old.config.datasets[$0] == nil }.map {
            "dataset \($0) added"
        }
        for (model, config) in old.config.models.sorted(by: { $0.key < $1.key }) {
            guard let now = new.config.models[model] else { continue }
            if config.artifact != now.artifact {
                other.append("model \(model): artifact \(config.artifact ?? "none") → \(now.artifact ?? "none")")
            }
            if config.predictions != now.predictions {
                other.append(
                    "model \(model): predictions \(config.predictions ?? "none") → \(now.predictions ?? "none")")
            }
            if config.metrics != now.metrics {
                other.append("model \(model): metrics \(config.metrics ?? "none") → \(now.metrics ?? "none")")
            }
        }
        let oldChecks = old.config.checks
        let newChecks = new.config.checks
        if oldChecks.policies != newChecks.policies {
            loosened.append("checks.policies \(oldChecks.policies) → \(newChecks.policies)")
        }
        if rank(newChecks.firstDeployment) < rank(oldChecks.firstDeployment) {
            loosened.append(
                "checks.first_deployment \(oldChecks.firstDeployment.rawValue) → \(newChecks.firstDeployment.rawValue)")
        }
        if newChecks.minOverlap < oldChecks.minOverlap {
            loosened.append("checks.min_overlap \(oldChecks.minOverlap) → \(newChecks.minOverlap)")
        }
        if rank(newChecks.policyChanges) < rank(oldChecks.policyChanges) {
            loosened.append("checks.policy_changes fail → warn")
        }
        for check in oldChecks.code where !newChecks.code.contains(check) {
            loosened.append("code check \(check.name) removed or changed")
        }
        let oldExpectations = old.dataPolicies.reduce(0) { $0 + $1.expectations.count }
        let newExpectations = new.dataPolicies.reduce(0) { $0 + $1.expectations.count }
        if newExpectations < oldExpectations {
            loosened.append("\(oldExpectations - newExpectations) data expectations fewer")
        } else if newExpectations > oldExpectations {
            other.append("\(newExpectations - oldExpectations) data expectations more")
        }
        let driftBefore = old.dataPolicies.contains { $0.drift != nil }
        let driftAfter = new.dataPolicies.contains { $0.drift != nil }
        if driftBefore && !driftAfter { loosened.append("drift checks removed") }
        if driftAfter && !driftBefore { other.append("drift checks added") }
        loosened += promotionLoosening(from: old.promotionPolicies, to: new.promotionPolicies)
        loosened += deployLoosening(from: old.deployPolicies, to: new.deployPolicies)
        return loosened + other
    }

    static func rank(_ verdict: ProjectConfig.Checks.Verdict) -> Int {
        switch verdict {
        case .pass: return 0
        case .warn: return 1
        case .fail: return 2
        }
    }

    /// How a gate changed: (what makes it easier to pass, anything else).
    static func compare(_ was: GatePolicy.Gate, _ now: GatePolicy.Gate) -> (weaker: [String], changed: [String]) {
        var weaker: [String] = []
        var changed: [String] = []
        if was.greaterIsBetter != now.greaterIsBetter {
            weaker.append("direction flipped to \(now.greaterIsBetter ? "higher" : "lower") is better")
        }
        func bound(_ name: String, _ a: Double?, _ b: Double?, looser: (Double, Double) -> Bool) {
            guard a != b else { return }
            switch (a, b) {
            case (let a?, nil): weaker.append("\(name) \(a) removed")
            case (nil, let b?): changed.append("\(name) \(b) added")
            case (let a?, let b?):
                if looser(a, b) { weaker.append("\(name) \(a) → \(b)") } else { changed.append("\(name) \(a) → \(b)") }
            default: break
            }
        }
        // A threshold is a minimum when higher is better, a maximum otherwise.
        bound("threshold", was.threshold, now.threshold, looser: { was.greaterIsBetter ? $1 < $0 : $1 > $0 })
        bound("min_absolute_change", was.minAbsoluteChange, now.minAbsoluteChange, looser: { $1 < $0 })
        bound("min_relative_change", was.minRelativeChange, now.minRelativeChange, looser: { $1 < $0 })
        bound("non_inferiority_margin", was.nonInferiorityMargin, now.nonInferiorityMargin, looser: { $1 > $0 })
        switch (was.significance, now.significance) {
        case (let a?, nil): weaker.append("significance test \(a.test) removed")
        case (nil, let b?): changed.append("significance test \(b.test) added")
        case (let a?, let b?):
            if b.alpha > a.alpha { weaker.append("alpha \(a.alpha) → \(b.alpha)") }
            if rank(b.onInsignificant) < rank(a.onInsignificant) {
                weaker.append("on_insignificant \(a.onInsignificant) → \(b.onInsignificant)")
            }
            if a.test != b.test { changed.append("test \(a.test) → \(b.test)") }
        default: break
        }
        return (weaker, changed)
    }
}
