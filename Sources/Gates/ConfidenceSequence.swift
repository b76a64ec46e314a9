import Foundation

/// The running count, sum and sum of squares of one stream of outcomes (one version's error flags,
/// latency-objective misses, correct-or-not labels, or the per-request differences of a shadow pair).
public struct RunningMean: Sendable, Equatable, Codable {
    public var count = 0
    public var sum = 0.0
    public var sumOfSquares = 0.0

    public init() {}

    public mutating func add(_ value: Double) {
        count += 1
        sum += value
        sumOfSquares += value * value
    }

    public var mean: Double { count == 0 ? .nan : sum / Double(count) }

    /// The variance of the mean. For 0/1 outcomes it is p̃(1 − p̃)/n with p̃ = (x + 1)/(n + 2) (Laplace's
    /// estimate): a stream with no error yet (or nothing but errors) still has a variance, so that one
    /// early error cannot look like certainty. For other outcomes the sample variance over n (NaN
    /// below 2 observations).
    public func varianceOfMean(_ kind: ConfidenceSequence.Kind) -> Double {
        let n = Double(count)
        switch kind {
        case .rate:
            guard count > 0 else { return .nan }
            let smoothed = (sum + 1) / (n + 2)
            return smoothed * (1 - smoothed) / n
        case .mean:
            guard count > 1 else { return .nan }
            let variance = max(0, (sumOfSquares - sum * sum / n) / (n - 1))
            return variance / n
        }
    }
}

/// An always-valid confidence sequence from the mixture sequential probability ratio test (Robbins 1970;
/// Johari, Koomen, Pekelis and Walsh, "Always valid inference", 2017/2022), for a mean or a difference
/// of two means whose estimate θ̂ is approximately normal with variance V. With the normal mixing
/// distribution N(θ₀, τ²) the likelihood ratio is
///
///     Λ(θ₀) = √(V/(V+τ²)) · exp(τ²(θ̂ − θ₀)² / (2V(V+τ²)))
///
/// and the θ₀ with Λ(θ₀) < 1/α form the interval θ̂ ± √(V(V+τ²)/τ² · log((V+τ²)/(V α²))). Λ is a
/// martingale under θ₀ (Ville's inequality), so the chance that the interval *ever* excludes the truth,
/// however often it is looked at, is at most α: a rollout may be judged after every request.
public struct ConfidenceSequence: Sendable, Equatable, Codable {
    /// `rate`: 0/1 outcomes (errors, misses of a latency objective, disagreements, wrong answers);
    /// `mean`: any number (a prediction's difference).
    public enum Kind: String, Sendable, Codable { case rate, mean }

    public var estimate: Double
    /// The variance of the estimate the interval was computed with.
    public var variance: Double
    public var lower: Double
    public var upper: Double
    public var alpha: Double
    /// τ, the standard deviation of the normal mixing distribution.
    public var mixing: Double

    public init(estimate: Double, variance: Double, alpha: Double, mixing: Double) {
        self.estimate = estimate
        self.variance = variance
        self.alpha = alpha
        self.mixing = mixing
        let tau2 = mixing * mixing
        let radius =
            variance > 0
            ? (variance * (variance + tau2) / tau2 * log((variance + tau2) / (variance * alpha * alpha))).squareRoot()
            : 0
        lower = estimate - radius
        upper = estimate + radius
    }

    /// The always-valid p-value of θ = θ₀: min(1, 1/Λ(θ₀)), computed in logs (Λ overflows long before
    /// the evidence stops growing).
    public func pValue(at theta0: Double) -> Double {
        guard variance > 0 else { return estimate == theta0 ? 1 : 0 }
        let tau2 = mixing * mixing
        let logLambda =
            0.5 * log(variance / (variance + tau2)) + tau2 * (estimate - theta0) * (estimate - theta0)
            / (2 * variance * (variance + tau2))
        return min(1, exp(-logLambda))
    }

    /// The difference of two independent streams' means, `treatment − control`; nil while either has too
    /// little data for a variance.
    public static func difference(
        _ treatment: RunningMean, _ control: RunningMean, kind: Kind, alpha: Double, mixing: Double
    ) -> ConfidenceSequence? {
        let variance = treatment.varianceOfMean(kind) + control.varianceOfMean(kind)
        guard variance.isFinite else { return nil }
        let estimate = treatment.mean - control.mean
        return ConfidenceSequence(estimate: estimate, variance: variance, alpha: alpha, mixing: mixing)
    }

    /// The mean of one stream (paired differences, disagreements); nil while it has too little data.
    public static func mean(of stream: RunningMean, kind: Kind, alpha: Double, mixing: Double) -> ConfidenceSequence? {
        let variance = stream.varianceOfMean(kind)
        guard variance.isFinite else { return nil }
        return ConfidenceSequence(estimate: stream.mean, variance: variance, alpha: alpha, mixing: mixing)
    }
}
