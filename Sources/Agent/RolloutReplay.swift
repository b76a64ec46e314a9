import Config
import Foundation
import Gates

/// `gitops-ml rollout analyze`: a rollout's analysis replayed from its recorded outcomes and its release
/// record's settings; the same observations in the same order give the decisions the agent took.
public struct RolloutReplay: Codable, Sendable {
    public var strategy: String
    public var plan: RolloutPlan
    /// Records read, and those the rules could use (a client's 4xx is neither version's).
    public var records: Int
    public var observations: Int
    public var events: [RolloutEvent]
    /// Every rule's standing after the last observation read (at the decision, when there was one).
    public var judgements: [SequentialRule.Judgement]

    /// `model`: on a cluster, whose counters to read (a release of several models records each's).
    public static func run(_ records: [OutcomeRecord], settings: RolloutSettings, model: String? = nil)
        -> RolloutReplay
    {
        // Counters from Prometheus carry no pairs: the cluster's analysis judges two streams.
        let counted = records.contains { $0.counts != nil }
        let plan = settings.plan(paired: !counted && settings.strategy == .shadow)
        var analysis = RolloutAnalysis(plan: plan)
        var counters = CountedOutcomes()
        for record in records where analysis.finished == nil {
            if let counts = record.counts {
                guard model == nil || record.model == model else { continue }
                for observation in counters.observations(counts, time: record.time, latency: settings.latency != nil) {
                    analysis.observe(observation)
                }
            } else if let observation = settings.observation(record) {
                analysis.observe(observation)
            }
        }
        return RolloutReplay(
            strategy: settings.strategy.rawValue, plan: plan, records: records.count,
            observations: analysis.observations, events: analysis.events,
            judgements: analysis.finished?.judgements ?? analysis.judgements)
    }

    /// `roll-back`, `complete`, …; `undecided` while no final decision was taken.
    public var decision: String { events.last.flatMap { $0.isFinal ? $0.action.rawValue : nil } ?? "undecided" }

    public var text: String {
        var lines = [
            "\(strategy) rollout: \(decision) after \(observations) observations (\(records) records read)"
        ]
        lines += events.map { "  " + $0.summary }
        lines.append("rules:")
        lines += judgements.map { "  \($0.summary)\n    \($0.rule.method)" }
        return lines.joined(separator: "\n") + "\n"
    }

    public var markdown: String {
        var lines = [
            "### \(strategy) rollout: \(decision)", "",
            "\(observations) observations (\(records) records read).", "",
            "| observation | decision |", "|---|---|",
        ]
        lines += events.map { "| \($0.observation) | \($0.summary.replacingOccurrences(of: "|", with: "\\|")) |" }
        lines += ["", "| rule | standing | method |", "|---|---|---|"]
        lines += judgements.map { "| \($0.rule.signal) | \($0.summary) | \($0.rule.method) |" }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }
}
