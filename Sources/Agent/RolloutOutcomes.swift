import Config
import Foundation
import Gates
import GitOpsMLCore

/// What one version answered to one request, as the rollout proxy saw it.
public struct ServedAnswer: Sendable, Equatable, Codable {
    /// The HTTP status; 0 when nothing answered (refused, reset, timed out).
    public var status: Int
    /// Seconds from the request's arrival to the end of the answer.
    public var latency: Double
    /// The answer's prediction field as canonical JSON (sorted keys), nil when the answer had none.
    public var prediction: String?
    /// A 2xx answer without the prediction field the rollout names.
    public var invalid: Bool?

    public init(status: Int, latency: Double, prediction: String?, invalid: Bool = false) {
        self.status = status
        self.latency = latency
        self.prediction = prediction
        self.invalid = invalid ? true : nil
    }

    /// An error of the model's: no answer, a 5xx, a 2xx without the prediction field named, or a 4xx that judges
    /// the input (400, 422: a model that refuses what the champion accepts is the regression a canary is
    /// for; requests are split at random, so clients' own mistakes fall on both versions alike).
    public var isError: Bool {
        status == 0 || status >= 500 || invalid == true
            || ((400..<500).contains(status) && !Self.notTheModels.contains(status))
    }

    /// 4xx answers about the route, the caller or the rate, not the input: they count for neither version.
    static let notTheModels: Set<Int> = [401, 403, 404, 405, 406, 408, 411, 413, 414, 415, 429]

    /// The prediction when it is one number (a probability, a regression output).
    public var number: Double? {
        guard let prediction else { return nil }
        if let value = Double(prediction) { return value }
        // A list of one number (`[0.73]`), as many servers answer for a batch of one.
        guard prediction.hasPrefix("["), prediction.hasSuffix("]") else { return nil }
        return Double(prediction.dropFirst().dropLast().trimmingCharacters(in: .whitespaces))
    }

    /// The prediction field of a JSON answer (a dotted path: `predictions.0.churn_probability`),
    /// canonical; nil when the body is not JSON holding it.
    public static func prediction(in body: [UInt8], field: String) -> String? {
        guard var value = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return nil
        }
        for part in field.split(separator: ".") {
            if let dictionary = value as? [String: Any], let next = dictionary[String(part)] {
                value = next
            } else if let list = value as? [Any], let index = Int(part), list.indices.contains(index) {
                value = list[index]
            } else {
                return nil
            }
        }
        guard !(value is NSNull),
            let data = try? JSONSerialization.data(
                withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One line of a rollout's outcomes file (JSON Lines, `rollout-<environment>.jsonl` in the state
/// directory): the request's time and, for a split request, the version that answered; for a mirrored one,
/// both answers. `gitops-ml rollout analyze` replays a file like it to the same decisions.
public struct OutcomeRecord: Sendable, Equatable, Codable {
    public var time: Double
    public var version: RolloutObservation.Version
    public var answer: ServedAnswer?
    public var champion: ServedAnswer?
    public var challenger: ServedAnswer?
    /// A label that arrived later (`/feedback`) for the request these answers were given to, as canonical
    /// JSON: the line is then evidence on the predictions, not another request.
    public var label: String?
    /// On a cluster: the counters Prometheus gave for `model`'s tracks at `time` (no answers, no version:
    /// the requests since the previous such line are the observations, as the agent derived them).
    public var model: String?
    public var counts: [String: TrackCounts]?

    public static func counted(time: Double, model: String, counts: [String: TrackCounts]) -> OutcomeRecord {
        OutcomeRecord(time: time, version: .pair, model: model, counts: counts)
    }

    public static func split(time: Double, version: RolloutObservation.Version, answer: ServedAnswer) -> OutcomeRecord {
        OutcomeRecord(time: time, version: version, answer: answer)
    }

    public static func pair(time: Double, champion: ServedAnswer, challenger: ServedAnswer) -> OutcomeRecord {
        OutcomeRecord(time: time, version: .pair, champion: champion, challenger: challenger)
    }

    /// One JSON line, keys sorted.
    public var line: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The records of an outcomes file; an unreadable line is an error naming it.
    public static func read(_ bytes: [UInt8], file: String) throws -> [OutcomeRecord] {
        let decoder = JSONDecoder()
        var records: [OutcomeRecord] = []
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated()
        where !line.isEmpty {
            do {
                records.append(try decoder.decode(OutcomeRecord.self, from: Data(line)))
            } catch {
                throw GitOpsMLError.configuration(
                    "not an outcome record (\(Self.reason(error)))", at: SourceLocation(file: file, line: index + 1))
            }
        }
        return records
    }

    private static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: return "no \(key.stringValue)"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            return context.codingPath.map(\.stringValue).joined(separator: ".").isEmpty
                ? "not JSON" : "bad \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: return "not JSON"
        }
    }
}

extension RolloutSettings {
    /// The analysis these settings ask for: the steps, the budget and one rule per signal.
    public var plan: RolloutPlan { plan(paired: strategy == .shadow) }

    /// The analysis on per-request pairs (a shadow behind the agent's proxy, which sees both answers to
    /// the same request) or on two independent streams (a canary; any rollout whose outcomes are counts).
    public func plan(paired: Bool) -> RolloutPlan {
        var rules: [SequentialRule] = []
        if paired {
            // Both versions answered the same request: the rules judge the per-request differences.
            rules.append(
                SequentialRule(
                    signal: "errors", kind: .mean, worse: .higher, margin: errorsMargin, alpha: alpha, paired: true))
            rules.append(
                SequentialRule(
                    signal: "disagreement", kind: .rate, worse: .higher, margin: disagreementMargin, alpha: alpha,
                    paired: true))
            if let predictionMargin {
                rules.append(
                    SequentialRule(
                        signal: "prediction", kind: .mean, worse: .either, margin: predictionMargin, alpha: alpha,
                        paired: true))
            }
            if let labelsMargin {
                rules.append(
                    SequentialRule(
                        signal: "labels", kind: .mean, worse: .higher, margin: labelsMargin, alpha: alpha, paired: true
                    ))
            }
        } else {
            rules.append(
                SequentialRule(signal: "errors", kind: .rate, worse: .higher, margin: errorsMargin, alpha: alpha))
            if let latency {
                rules.append(
                    SequentialRule(signal: "latency", kind: .rate, worse: .higher, margin: latency.margin, alpha: alpha)
                )
            }
            if let labelsMargin {
                rules.append(
                    SequentialRule(signal: "labels", kind: .mean, worse: .higher, margin: labelsMargin, alpha: alpha))
            }
        }
        return RolloutPlan(
            steps: steps, minimumRequests: minimumRequests, maximumRequests: maximumRequests,
            maximumDuration: maximumDuration, onBudgetExhausted: onBudget == .promote ? .promote : .rollBack,
            rules: rules)
    }

    /// The values the plan's rules read from one record (nil: a record the analysis cannot use: an answer
    /// about the route, the caller or the rate, `ServedAnswer.notTheModels`).
    public func observation(_ record: OutcomeRecord) -> RolloutObservation? {
        if let label = record.label { return feedback(record, label: label) }
        switch record.version {
        case .pair:
            guard let champion = record.champion, let challenger = record.challenger,
                !ServedAnswer.notTheModels.contains(champion.status)
            else { return nil }
            var values: [String: Double] = [
                "errors": (challenger.isError ? 1 : 0) - (champion.isError ? 1 : 0),
                "disagreement": champion.isError || challenger.isError
                    ? (champion.isError == challenger.isError ? 0 : 1)
                    : (champion.prediction == challenger.prediction ? 0 : 1),
            ]
            if let a = champion.number, let b = challenger.number { values["prediction"] = b - a }
            return RolloutObservation(version: .pair, time: record.time, values: values)
        case .champion, .challenger:
            guard let answer = record.answer, !ServedAnswer.notTheModels.contains(answer.status) else { return nil }
            var values: [String: Double] = ["errors": answer.isError ? 1 : 0]
            if let latency { values["latency"] = answer.latency > latency.objective ? 1 : 0 }
            return RolloutObservation(version: record.version, time: record.time, values: values)
        }
    }

    /// A label against the prediction(s) the request got: the squared error (for numbers: the Brier score of
    /// a probability against a 0/1 label, the squared error of a regression) or 0/1 (a class); for a pair,
    /// the challenger's less the champion's. nil: no labels rule, or no prediction to compare.
    func feedback(_ record: OutcomeRecord, label: String) -> RolloutObservation? {
        guard labelsMargin != nil else { return nil }
        func loss(_ answer: ServedAnswer?) -> Double? {
            guard let answer, let prediction = answer.prediction else { return nil }
            if let predicted = answer.number,
                let truth = ServedAnswer(status: 200, latency: 0, prediction: label).number
            {
                return (predicted - truth) * (predicted - truth)
            }
            return prediction == label ? 0 : 1
        }
        let value: Double?
        switch record.version {
        case .pair: value = loss(record.challenger).flatMap { b in loss(record.champion).map { b - $0 } }
        case .champion, .challenger: value = loss(record.answer)
        }
        return value.map {
            RolloutObservation(version: record.version, time: record.time, values: ["labels": $0], feedback: true)
        }
    }
}
