import GitOpsMLCore

/// `rollout:` of a PromotionPolicy environment, copied by `promote` into the release record it writes (so
/// that the agent follows what the signed record says): how a new version takes over from the one that
/// serves, and the always-valid rules that judge it on live traffic.
///
///     rollout:
///       strategy: canary            # replace (default) | canary | blue-green | shadow
///       steps: [5, 25, 50, 100]     # canary: the challenger's percent of requests at each step
///       min_requests: 500           # challenger requests (pairs in a shadow) a step needs to advance
///       max_requests: 200000        # the budget: requests of the whole rollout …
///       max_duration: 30m           # … and its time
///       on_budget: roll-back        # or promote: what an undecided rollout does when the budget is spent
///       hold: 10m                   # blue-green: how long the old version is kept warm after the switch
///       alpha: 0.05
///       key: X-User-Id              # the request header hashed to choose a version (default: each request)
///       errors: 0.01                # margin on the difference in error rate (5xx, invalid answers)
///       latency: {objective: 250ms, margin: 0.02}  # margin on the rate of requests over the objective
///       field: predictions.0.churn  # the answer's field that holds the prediction (a dotted path): an
///                                   # answer without it is an error; shadows compare it
///       disagreement: 0.05          # shadow: margin on the rate of different predictions
///       prediction: 0.05            # shadow: margin on the difference in a numeric prediction
///       labels: 0.02                # labels sent later to the agent's /feedback (by request id): margin on
///                                   # the difference in the mean squared error of `field` against them
///                                   # (the Brier score for a probability, the error rate for a class)
///       request_id: X-Request-Id    # the header that names a request (the proxy sets it when absent)
public struct RolloutSettings: Sendable, Equatable {
    public enum Strategy: String, Sendable, CaseIterable {
        case replace, canary
        case blueGreen = "blue-green"
        case shadow
    }

    public enum Ending: String, Sendable, CaseIterable {
        case rollBack = "roll-back"
        case promote
    }

    public var strategy: Strategy = .replace
    public var steps: [Double] = [5, 25, 50, 100]
    public var minimumRequests = 500
    public var maximumRequests: Int?
    public var maximumDuration: Double? = 3600
    public var onBudget: Ending = .rollBack
    public var hold: Double = 600
    public var alpha = 0.05
    public var key: String?
    public var errorsMargin = 0.01
    /// The latency objective in seconds and the margin on the rate of requests slower than it.
    public var latency: (objective: Double, margin: Double)?
    public var disagreementMargin = 0.05
    public var predictionMargin: Double?
    /// The answer's field holding the prediction (dotted path); nil: answers are judged by status alone.
    public var field: String?
    /// The margin on the difference in mean squared error against labels that arrive later; nil: none.
    public var labelsMargin: Double?
    /// The request header naming a request, for the labels sent later.
    public var requestID = "X-Request-Id"

    public init(strategy: Strategy = .replace) { self.strategy = strategy }

    public static func == (a: RolloutSettings, b: RolloutSettings) -> Bool { a.yamlLines == b.yamlLines }

    public init(_ node: ConfigNode) throws {
        let map = try node.mapping()
        strategy = try map.required("strategy").choice()
        if let stepsNode = map.optional("steps") {
            steps = try stepsNode.list().map { try $0.double() }
            guard !steps.isEmpty, steps.allSatisfy({ $0 > 0 && $0 <= 100 }),
                zip(steps, steps.dropFirst()).allSatisfy(<),
                steps.last == 100
            else { throw stepsNode.error("steps must rise from above 0 to 100 (for example [5, 25, 50, 100])") }
        }
        if strategy == .blueGreen { steps = [100] }
        if strategy == .shadow { steps = [0] }
        if let node = map.optional("min_requests") {
            minimumRequests = try node.int()
            guard minimumRequests >= 1 else { throw node.error("min_requests must be 1 or more") }
        }
        if let node = map.optional("max_requests") {
            maximumRequests = try node.int()
            guard (maximumRequests ?? 0) >= minimumRequests else {
                throw node.error("max_requests must be at least min_requests (\(minimumRequests))")
            }
        }
        if let node = map.optional("max_duration") { maximumDuration = try Self.boundedDuration(node) }
        if let node = map.optional("on_budget") { onBudget = try node.choice() }
        if let node = map.optional("hold") { hold = try Self.boundedDuration(node) }
        if let node = map.optional("alpha") {
            alpha = try node.double()
            guard alpha > 0, alpha < 0.5 else { throw node.error("alpha must be between 0 and 0.5") }
        }
        if let node = map.optional("key") { key = try Self.header(node, "key", example: "X-User-Id") }
        if let node = map.optional("request_id") {
            requestID = try Self.header(node, "request_id", example: "X-Request-Id")
        }
        if let node = map.optional("labels") {
            // A squared error: a share for probabilities and classes, in the label's units² for a regression.
            labelsMargin = try node.double()
            guard let margin = labelsMargin, margin >= 0, margin.isFinite else {
                throw node.error("the labels margin is a squared error: 0 or more")
            }
        }
        if let node = map.optional("errors") { errorsMargin = try Self.margin(node) }
        if let node = map.optional("latency") {
            let latencyMap = try node.mapping()
            let objective = try Self.latencyObjective(try latencyMap.required("objective"))
            latency = (objective, try latencyMap.optional("margin").map(Self.margin) ?? 0.02)
            try latencyMap.finish()
        }
        if let node = map.optional("disagreement") { disagreementMargin = try Self.margin(node) }
        if let node = map.optional("prediction") {
            predictionMargin = try node.double()
            guard (predictionMargin ?? 0) > 0 else { throw node.error("the prediction margin must be above 0") }
        }
        if let node = map.optional("field") {
            let path = try node.string()
            guard !path.isEmpty,
                !path.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty)
            else { throw node.error("field must be a dotted path into the answer (predictions.0.label)") }
            field = path
        }
        if strategy == .shadow, field == nil, let node = map.optional("disagreement") ?? map.optional("prediction") {
            throw node.error("a shadow compares predictions: name the answer's field that holds them (field:)")
        }
        if field == nil, let node = map.optional("labels") {
            throw node.error("labels are compared with predictions: name the answer's field that holds them (field:)")
        }
        try map.finish()
    }

    static func header(_ node: ConfigNode, _ key: String, example: String) throws -> String {
        let name = try node.string()
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw node.error("\(key) must be a request header's name (for example \(example))")
        }
        return name
    }

    /// `250ms`, `0.25` (seconds) or a duration (`1s`): above 0, at most a minute.
    static func latencyObjective(_ node: ConfigNode) throws -> Double {
        let text = try node.string()
        let seconds =
            text.hasSuffix("ms")
            ? Double(text.dropLast(2)).map { $0 / 1000 } : (Double(text) ?? (try? PromotionPolicy.duration(node)))
        guard let seconds, seconds > 0, seconds <= 60 else {
            throw node.error("\"\(text)\" is not a latency objective (250ms, 0.25, 1s; at most a minute)")
        }
        return seconds
    }

    /// The agent's pass waits for a rollout's decision, so its time is bounded: from 1 s to a day (a record
    /// written by whoever can push the environment branch must not hold the agent for ever).
    static func boundedDuration(_ node: ConfigNode) throws -> Double {
        let seconds = try PromotionPolicy.duration(node)
        guard seconds >= 1, seconds <= 86_400 else { throw node.error("a rollout's time is from 1s to 24h") }
        return seconds
    }

    /// A margin on a rate: a share in [0, 1).
    static func margin(_ node: ConfigNode) throws -> Double {
        let value = try node.double()
        guard value >= 0, value < 1 else { throw node.error("a margin on a rate is a share between 0 and 1") }
        return value
    }

    /// The settings as the release record holds them (under `rollout:`, indented by the caller), keys in a
    /// fixed order so that the same settings always give the same bytes.
    public var yamlLines: [String] {
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : "\(value)"
        }
        var lines = ["strategy: \(strategy.rawValue)"]
        if strategy == .canary { lines.append("steps: [\(steps.map(number).joined(separator: ", "))]") }
        lines.append("min_requests: \(minimumRequests)")
        if let maximumRequests { lines.append("max_requests: \(maximumRequests)") }
        if let maximumDuration { lines.append("max_duration: \(number(maximumDuration))s") }
        lines.append("on_budget: \(onBudget.rawValue)")
        if strategy == .blueGreen { lines.append("hold: \(number(hold))s") }
        lines.append("alpha: \(number(alpha))")
        if let key { lines.append("key: \(YAMLText.scalar(key))") }
        lines.append("errors: \(number(errorsMargin))")
        if let latency {
            lines.append(
                "latency: {objective: \(number(latency.objective * 1000))ms, margin: \(number(latency.margin))}")
        }
        if strategy == .shadow {
            lines.append("disagreement: \(number(disagreementMargin))")
            if let predictionMargin { lines.append("prediction: \(number(predictionMargin))") }
        }
        if let field { lines.append("field: \(YAMLText.scalar(field))") }
        if let labelsMargin { lines.append("labels: \(number(labelsMargin))") }
        if requestID != "X-Request-Id" { lines.append("request_id: \(YAMLText.scalar(requestID))") }
        return lines
    }
}
