import Foundation

/// One signal of a rollout judged continuously: is the challenger worse than the champion by more than
/// `margin`, or shown not to be? Outcomes of the two versions come from different requests (a canary);
/// in a shadow rollout both answer the same request and the rule judges the per-request values
/// directly (`paired`: disagreement, or the difference of two predictions).
public struct SequentialRule: Sendable, Equatable, Codable {
    public enum Worse: String, Sendable, Codable {
        /// More is worse (errors, latency misses, disagreement).
        case higher
        /// Less is worse (correct answers once labels arrive).
        case lower
        /// Either way is worse (the difference in mean prediction of a shadow pair).
        case either
    }

    public enum Verdict: String, Sendable, Codable {
        /// Worse than the champion by more than the margin, with confidence 1 − α.
        case worse
        /// Not worse by more than the margin, with confidence 1 − α.
        case notWorse = "not-worse"
        case undecided
    }

    /// The signal's name: `errors`, `latency`, `disagreement`, `prediction`, or a gate metric's name.
    public var signal: String
    public var kind: ConfidenceSequence.Kind
    public var worse: Worse
    public var margin: Double
    public var alpha: Double
    /// τ of the mixing distribution: the size of difference the test is tuned to find fastest. The margin
    /// when it is positive, else 0.01 (one percentage point of a rate).
    public var mixing: Double
    public var paired: Bool
    /// Below this many observations per stream the rule stays undecided whatever the interval says: a
    /// sample variance of a few numbers is not yet a variance (rates have a prior instead and need none).
    public var minimumObservations: Int

    public init(
        signal: String, kind: ConfidenceSequence.Kind, worse: Worse, margin: Double, alpha: Double,
        mixing: Double? = nil, paired: Bool = false
    ) {
        self.signal = signal
        self.kind = kind
        self.worse = worse
        self.margin = margin
        self.alpha = alpha
        self.mixing = mixing ?? (margin > 0 ? margin : 0.01)
        self.paired = paired
        minimumObservations = kind == .mean ? 30 : 1
    }

    /// The method in words, for notes, reports and `rollout analyze`.
    public var method: String {
        let what = paired ? "mean of the paired \(signal)" : "difference in \(signal) (challenger − champion)"
        return
            "mixture SPRT, always-valid \(GateEvaluator.percent(1 - alpha, digits: 0)) confidence sequence on the \(what)"
            + ", normal mixture τ = \(GateEvaluator.format(mixing)), margin \(GateEvaluator.format(margin))"
    }

    /// The judgement of the streams so far (`champion` is ignored for a paired rule).
    public func judge(challenger: RunningMean, champion: RunningMean) -> Judgement {
        let enough =
            challenger.count >= minimumObservations && (paired || champion.count >= minimumObservations)
        let interval =
            paired
            ? ConfidenceSequence.mean(of: challenger, kind: kind, alpha: alpha, mixing: mixing)
            : ConfidenceSequence.difference(challenger, champion, kind: kind, alpha: alpha, mixing: mixing)
        guard enough, let interval else {
            return Judgement(
                rule: self, verdict: .undecided, interval: interval, challenger: challenger, champion: champion)
        }
        let verdict: Verdict
        switch worse {
        case .higher:
            verdict = interval.lower > margin ? .worse : interval.upper < margin ? .notWorse : .undecided
        case .lower:
            verdict = interval.upper < -margin ? .worse : interval.lower > -margin ? .notWorse : .undecided
        case .either:
            verdict =
                interval.lower > margin || interval.upper < -margin
                ? .worse : (interval.lower > -margin && interval.upper < margin) ? .notWorse : .undecided
        }
        return Judgement(rule: self, verdict: verdict, interval: interval, challenger: challenger, champion: champion)
    }

    public struct Judgement: Sendable, Equatable, Codable {
        public var rule: SequentialRule
        public var verdict: Verdict
        public var interval: ConfidenceSequence?
        public var challenger: RunningMean
        public var champion: RunningMean

        /// The always-valid p-value of "no worse than the margin" (the boundary the rule tests).
        public var pValue: Double? {
            guard let interval else { return nil }
            switch rule.worse {
            case .higher: return interval.estimate > rule.margin ? interval.pValue(at: rule.margin) : 1
            case .lower: return interval.estimate < -rule.margin ? interval.pValue(at: -rule.margin) : 1
            case .either:
                return abs(interval.estimate) > rule.margin
                    ? interval.pValue(at: interval.estimate > 0 ? rule.margin : -rule.margin) : 1
            }
        }

        /// `errors: challenger 3.1 % (n = 1,204) vs champion 1.0 % (n = 22,871), difference +2.1 pp
        /// [+0.4, +3.8], worse by more than the margin 0`.
        public var summary: String {
            let ratePercent = rule.kind == .rate
            func value(_ stream: RunningMean) -> String {
                let mean = stream.mean
                return (ratePercent ? GateEvaluator.percent(mean, digits: 2) : GateEvaluator.format(mean))
                    + " (n = \(stream.count))"
            }
            var text = "\(rule.signal): "
            text +=
                rule.paired
                ? "mean \(value(challenger))" : "challenger \(value(challenger)) vs champion \(value(champion))"
            if let interval {
                text += ", \(rule.paired ? "mean" : "difference") \(GateEvaluator.signed(interval.estimate))"
                text += " [\(GateEvaluator.signed(interval.lower)), \(GateEvaluator.signed(interval.upper))]"
            }
            switch verdict {
            case .worse: text += ", worse by more than the margin \(GateEvaluator.format(rule.margin))"
            case .notWorse: text += ", not worse by more than the margin \(GateEvaluator.format(rule.margin))"
            case .undecided: text += ", undecided"
            }
            return text
        }
    }
}
