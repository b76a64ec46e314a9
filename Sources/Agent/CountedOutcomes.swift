import Config
import Foundation
import Gates
import GitOpsMLCore
import HTTPClient

/// Requests a track of a model has answered, as counters: all, 5xx, slower than the latency objective.
public struct TrackCounts: Sendable, Equatable, Codable {
    public var requests = 0.0
    public var errors = 0.0
    public var slow = 0.0

    public init(requests: Double = 0, errors: Double = 0, slow: Double = 0) {
        self.requests = requests
        self.errors = errors
        self.slow = slow
    }
}

/// The outcomes of a routed rollout on a cluster, read from Prometheus: the model servers' counters (the
/// series the generated alerts use) summed per track (`track_label`) in the environment's namespace.
struct PrometheusOutcomes {
    let query: AgentConfig.OutcomeQuery
    let namespace: String
    let transport: HealthAssessment.Transport

    /// The counters of `model`'s tracks now (`stable`, `canary`); `objective` (seconds) adds the requests
    /// slower than it, from the latency histogram's bucket at the objective (or the largest below it: a
    /// bucket that is not exactly the objective counts more requests as slow on both tracks alike).
    func counts(model: String, objective: Double?) throws -> [String: TrackCounts] {
        var selector = "model=\(Self.quoted(model))"
        if !query.namespaceLabel.isEmpty { selector += ",\(query.namespaceLabel)=\(Self.quoted(namespace))" }
        let track = query.trackLabel
        var counts: [String: TrackCounts] = [:]
        for (labels, value) in try vector("sum by (\(track), code) (gitops_ml_requests_total{\(selector)})") {
            guard let name = labels[track] else { continue }
            counts[name, default: TrackCounts()].requests += value
            if labels["code"]?.hasPrefix("5") == true { counts[name, default: TrackCounts()].errors += value }
        }
        guard let objective else { return counts }
        var buckets: [String: [(le: Double, count: Double)]] = [:]
        for (labels, value) in try vector(
            "sum by (\(track), le) (gitops_ml_request_duration_seconds_bucket{\(selector)})")
        {
            guard let name = labels[track], let le = labels["le"].flatMap(Self.bound) else { continue }
            buckets[name, default: []].append((le, value))
        }
        for (name, bounds) in buckets {
            let all = bounds.first(where: { $0.le == .infinity })?.count ?? counts[name]?.requests ?? 0
            let fast = bounds.filter { $0.le <= objective + 1e-12 }.max { $0.le < $1.le }?.count ?? 0
            counts[name, default: TrackCounts()].slow = max(0, all - fast)
        }
        return counts
    }

    /// An instant query's vector: each series' labels and value.
    func vector(_ expression: String) throws -> [([String: String], Double)] {
        let encoded = expression.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let base = query.url.hasSuffix("/") ? String(query.url.dropLast()) : query.url
        var request = HTTPRequest(
            "GET", "\(base)/api/v1/query?query=\(encoded)", timeout: 10, maxResponseBytes: 8 << 20)
        if let variable = query.tokenVariable, let token = ProcessSecrets.value(variable) {
            request.headers.append((name: "Authorization", value: "Bearer \(token)"))
        }
        let response = try transport(request)
        guard response.status == 200,
            let root = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            root["status"] as? String == "success", let data = root["data"] as? [String: Any],
            let result = data["result"] as? [[String: Any]]
        else {
            let reason = response.status == 200 ? "an answer that is not a query result" : "HTTP \(response.status)"
            throw GitOpsMLError.environment("Prometheus at \(base) answered \(reason) to \(expression)")
        }
        return result.compactMap { series in
            guard let value = series["value"] as? [Any], value.count == 2, let text = value[1] as? String,
                let number = Double(text), number.isFinite
            else { return nil }
            return (series["metric"] as? [String: String] ?? [:], number)
        }
    }

    static func quoted(_ value: String) -> String {
        "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func bound(_ text: String) -> Double? {
        text == "+Inf" ? .infinity : Double(text)
    }
}

/// The counters of two tracks turned into the analysis's observations: what each track answered since the
/// last read, one observation per request. Counts carry no order, so the two tracks' requests are
/// interleaved in proportion and each track's errors and slow requests spread evenly among its own: no
/// order that would bring a decision sooner than the evidence does.
public struct CountedOutcomes: Sendable {
    /// Observations one read gives at most.
    static let maximumPerRead = 50_000
    private var last: [String: TrackCounts]?

    public init() {}

    public mutating func observations(_ counts: [String: TrackCounts], time: Double, latency: Bool)
        -> [RolloutObservation]
    {
        defer { last = counts }
        guard let last else { return [] }
        func since(_ track: String) -> TrackCounts {
            let now = counts[track] ?? TrackCounts()
            let before = last[track] ?? TrackCounts()
            // A counter that went down was reset (a pod restarted): all it counts now is new.
            let base = now.requests < before.requests ? TrackCounts() : before
            return TrackCounts(
                requests: now.requests - base.requests, errors: now.errors - base.errors, slow: now.slow - base.slow)
        }
        let deltas = [since("stable"), since("canary")]
        // At most `maximumPerRead` observations a read: a busier interval is taken at the same rates, both
        // tracks scaled alike (less evidence, never other evidence), so memory and time stay bounded.
        let total = deltas.map { $0.requests.isFinite ? max(0, $0.requests) : 0 }.reduce(0, +)
        let scale = total > Double(Self.maximumPerRead) ? Double(Self.maximumPerRead) / total : 1
        func scaled(_ value: Double, upTo limit: Int) -> Int {
            value.isFinite ? min(limit, max(0, Int((value * scale).rounded()))) : 0
        }
        let streams: [(RolloutObservation.Version, (requests: Int, errors: Int, slow: Int))] = zip(
            [RolloutObservation.Version.champion, .challenger], deltas
        ).map { version, delta in
            let requests = scaled(delta.requests, upTo: Self.maximumPerRead)
            return (
                version,
                (requests, scaled(delta.errors, upTo: requests), scaled(delta.slow, upTo: requests))
            )
        }
        var merged: [(position: Double, observation: RolloutObservation)] = []
        for (version, counted) in streams where counted.requests > 0 {
            let n = counted.requests
            for index in 0..<n {
                // Spread: request `index` is an error when it carries the count past the next whole number.
                func spread(_ total: Int) -> Double { Double((index + 1) * total / n - index * total / n) }
                var values = ["errors": spread(counted.errors)]
                if latency { values["latency"] = spread(counted.slow) }
                merged.append(
                    (
                        (Double(index) + 0.5) / Double(n),
                        RolloutObservation(version: version, time: time, values: values)
                    ))
            }
        }
        return merged.sorted { $0.position < $1.position }.map(\.observation)
    }
}
