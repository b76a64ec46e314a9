import Foundation

/// How a rollout is stepped and judged: the challenger's share of traffic at each step, how many of its
/// requests a step needs before it may advance, the budget, and the rules (`SequentialRule`).
public struct RolloutPlan: Sendable, Equatable, Codable {
    public enum Ending: String, Sendable, Codable {
        case rollBack = "roll-back"
        case promote
    }

    /// Percent of requests the challenger gets at each step; the rollout is complete when it reaches the
    /// last (100 for a canary). A shadow rollout has one step, 0: the challenger only answers copies.
    public var steps: [Double]
    /// Observations of the challenger (pairs in a shadow rollout) a step needs before it may advance.
    public var minimumRequests: Int
    /// The budget: all requests of the rollout, and seconds since its first request.
    public var maximumRequests: Int?
    public var maximumDuration: Double?
    /// What happens when the budget is spent before the rules decide.
    public var onBudgetExhausted: Ending
    public var rules: [SequentialRule]

    public init(
        steps: [Double], minimumRequests: Int, maximumRequests: Int? = nil, maximumDuration: Double? = nil,
        onBudgetExhausted: Ending = .rollBack, rules: [SequentialRule]
    ) {
        self.steps = steps
        self.minimumRequests = minimumRequests
        self.maximumRequests = maximumRequests
        self.maximumDuration = maximumDuration
        self.onBudgetExhausted = onBudgetExhausted
        self.rules = rules
    }

    /// A shadow plan: the challenger answers copies, its rules are paired.
    public var isShadow: Bool { rules.contains { $0.paired } }
}

/// One request's outcome as the analysis sees it: which version answered (`pair` in a shadow rollout,
/// where both did), when (seconds, any origin), and a value per signal (0/1 for rates). A signal without a
/// value was not observed for this request (a label that has not arrived).
public struct RolloutObservation: Sendable, Equatable, Codable {
    public enum Version: String, Sendable, Codable { case champion, challenger, pair }

    public var version: Version
    public var time: Double
    public var values: [String: Double]
    /// A label that arrived for a request observed before: evidence, not another request of the step.
    public var feedback: Bool?

    public init(version: Version, time: Double, values: [String: Double], feedback: Bool = false) {
        self.version = version
        self.time = time
        self.values = values
        self.feedback = feedback ? true : nil
    }
}

/// A decision of the analysis, with the evidence it was taken on.
public struct RolloutEvent: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        /// Every rule shows the challenger not worse and the step has its requests: next step.
        case advance
        /// The last step is reached: the challenger serves everything (or, in a shadow, has passed).
        case complete
        /// A rule shows the challenger worse by more than its margin.
        case rollBack = "roll-back"
        /// The budget was spent undecided: the plan's default was taken.
        case budgetRollBack = "budget-roll-back"
        case budgetPromote = "budget-promote"
    }

    public var action: Action
    /// The challenger's share before and after, in percent.
    public var from: Double
    public var to: Double
    /// The number of observations read when it was decided (1-based), and their time.
    public var observation: Int
    public var time: Double
    public var judgements: [SequentialRule.Judgement]

    public var isFinal: Bool { action != .advance }

    /// One line: `request 4,210: roll back at 5 %: errors: challenger …, worse by more than the margin 0`.
    public var summary: String {
        let what: String
        switch action {
        case .advance: what = "advance from \(percent(from)) to \(percent(to))"
        case .complete: what = to == 0 ? "shadow passed" : "complete at \(percent(to))"
        case .rollBack: what = "roll back at \(percent(from))"
        case .budgetRollBack: what = "budget spent undecided at \(percent(from)): roll back"
        case .budgetPromote: what = "budget spent undecided at \(percent(from)): promote"
        }
        let evidence = action == .rollBack ? judgements.filter { $0.verdict == .worse } : judgements
        return "observation \(observation): \(what); " + evidence.map(\.summary).joined(separator: "; ")
    }

    private func percent(_ value: Double) -> String { GateEvaluator.format(value) + " %" }
}

/// The live analysis of a rollout, fed one observation at a time and decided after every one (the
/// confidence sequences stay valid however often they are looked at). Evidence accumulates over the
/// steps; a step advances only once it has its own minimum of challenger requests. Replaying the same
/// observations gives the same events: `rollout analyze` audits a decision from the recorded outcomes.
public struct RolloutAnalysis: Sendable {
    public let plan: RolloutPlan
    public private(set) var step = 0
    public private(set) var events: [RolloutEvent] = []
    public private(set) var observations = 0
    private var challenger: [String: RunningMean] = [:]
    private var champion: [String: RunningMean] = [:]
    private var stepRequests = 0
    private var start: Double?

    public init(plan: RolloutPlan) { self.plan = plan }

    /// The challenger's share of traffic now, in percent.
    public var percent: Double { plan.steps.isEmpty ? 100 : plan.steps[min(step, plan.steps.count - 1)] }
    public var finished: RolloutEvent? { events.last.flatMap { $0.isFinal ? $0 : nil } }

    public var judgements: [SequentialRule.Judgement] {
        plan.rules.map {
            $0.judge(challenger: challenger[$0.signal] ?? RunningMean(), champion: champion[$0.signal] ?? RunningMean())
        }
    }

    /// Reads one observation; returns the decision it led to, if any. Ignored once the rollout is over.
    @discardableResult
    public mutating func observe(_ observation: RolloutObservation) -> RolloutEvent? {
        guard finished == nil else { return nil }
        observations += 1
        start = start ?? observation.time
        for (signal, value) in observation.values where value.isFinite {
            if observation.version == .champion {
                champion[signal, default: RunningMean()].add(value)
            } else {
                challenger[signal, default: RunningMean()].add(value)
            }
        }
        if observation.version != .champion, observation.feedback != true { stepRequests += 1 }

        let judgements = self.judgements
        let from = percent
        func record(_ action: RolloutEvent.Action, to: Double) -> RolloutEvent {
            let event = RolloutEvent(
                action: action, from: from, to: to, observation: observations, time: observation.time,
                judgements: judgements)
            events.append(event)
            return event
        }
        if judgements.contains(where: { $0.verdict == .worse }) { return record(.rollBack, to: 0) }
        if stepRequests >= plan.minimumRequests, !judgements.isEmpty,
            judgements.allSatisfy({ $0.verdict == .notWorse })
        {
            step += 1
            stepRequests = 0
            let last = step >= plan.steps.count - 1
            return record(last ? .complete : .advance, to: last ? (plan.steps.last ?? 100) : percent)
        }
        let spentRequests = plan.maximumRequests.map { observations >= $0 } ?? false
        let spentTime = plan.maximumDuration.map { observation.time - (start ?? observation.time) >= $0 } ?? false
        if spentRequests || spentTime { return expire(at: observation.time) }
        return nil
    }

    /// The budget is spent without a decision (the time ran out, perhaps with no traffic at all): the
    /// plan's default, on the evidence so far. Nothing when the rollout is already decided.
    @discardableResult
    public mutating func expire(at time: Double) -> RolloutEvent? {
        guard finished == nil else { return nil }
        let promote = plan.onBudgetExhausted == .promote
        let event = RolloutEvent(
            action: promote ? .budgetPromote : .budgetRollBack, from: percent,
            to: promote ? (plan.steps.last ?? 100) : 0,
            observation: observations, time: time, judgements: judgements)
        events.append(event)
        return event
    }
}
