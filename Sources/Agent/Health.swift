import Config
import Foundation
import GitOpsMLCore
import HTTPClient

/// An HTTP probe, as Kubernetes' readiness probes: a GET whose status must be in `expected`, every
/// `period` seconds, healthy after `successThreshold` passes in a row, failed after `failureThreshold`
/// failures in a row.
public struct HTTPProbe: Sendable, Equatable {
    public var name: String
    public var url: String
    public var expected: ClosedRange<Int> = 200...299
    public var timeout: Double = 2
    public var period: Double = 1
    public var successThreshold = 1
    public var failureThreshold = 3

    public init(name: String, url: String) {
        self.name = name
        self.url = url
    }
}

/// A smoke prediction: `body` POSTed to `url`; the answer must be 2xx JSON holding every dotted path of
/// `requiredFields` (`predictions.0.churn_probability`) within `latencyBudget` seconds.
public struct SmokePrediction: Sendable, Equatable {
    public var url: String
    public var body: [UInt8]
    public var requiredFields: [String]
    public var latencyBudget: Double
    public var timeout: Double

    public init(url: String, body: [UInt8], requiredFields: [String], latencyBudget: Double = 1, timeout: Double = 5) {
        self.url = url
        self.body = body
        self.requiredFields = requiredFields
        self.latencyBudget = latencyBudget
        self.timeout = timeout
    }
}

/// Runs probes, then the smoke prediction, within one deadline for the whole rollout.
public struct HealthAssessment: Sendable {
    public typealias Transport = HTTPTransport

    public var probes: [HTTPProbe]
    public var smoke: SmokePrediction?
    /// Seconds from the start for everything.
    public var deadline: Double
    public var clock: any HealthClock
    public var transport: Transport

    public init(
        probes: [HTTPProbe], smoke: SmokePrediction?, deadline: Double, clock: any HealthClock = SystemClock(),
        transport: @escaping Transport = { try HTTPClient.perform($0) }
    ) {
        self.probes = probes
        self.smoke = smoke
        self.deadline = deadline
        self.clock = clock
        self.transport = transport
    }

    public func run() -> HealthReport {
        let end = clock.now() + deadline
        var checks = probes.map { probe(_: $0, until: end) }
        if let smoke {
            checks.append(
                checks.allSatisfy { $0.status == .healthy }
                    ? prediction(smoke, until: end)
                    : HealthCheckResult(name: "smoke prediction", status: .unknown, reason: "not tried: a probe failed")
            )
        }
        return HealthReport(checks: checks)
    }

    func probe(_ probe: HTTPProbe, until end: Double) -> HealthCheckResult {
        var passes = 0
        var failures = 0
        var last = "no answer yet"
        while true {
            let remaining = end - clock.now()
            guard remaining > 0 else {
                return HealthCheckResult(
                    name: probe.name, status: .degraded,
                    reason: "not healthy within the deadline of \(format(deadline)) s (last: \(last))")
            }
            let request = HTTPRequest(
                "GET", probe.url, connectTimeout: min(probe.timeout, remaining), timeout: min(probe.timeout, remaining))
            do {
                let response = try transport(request)
                if probe.expected.contains(response.status) {
                    passes += 1
                    failures = 0
                    last = "HTTP \(response.status)"
                    if passes >= probe.successThreshold {
                        return HealthCheckResult(name: probe.name, status: .healthy, reason: last)
                    }
                } else {
                    (passes, failures, last) = (0, failures + 1, "HTTP \(response.status), expected \(probe.expected)")
                }
            } catch {
                (passes, failures, last) = (0, failures + 1, "\(error)")
            }
            if failures >= probe.failureThreshold {
                return HealthCheckResult(
                    name: probe.name, status: .degraded, reason: "\(failures) failures in a row (last: \(last))")
            }
            clock.sleep(min(probe.period, max(0, end - clock.now())))
        }
    }

    func prediction(_ smoke: SmokePrediction, until end: Double) -> HealthCheckResult {
        let name = "smoke prediction"
        func degraded(_ reason: String) -> HealthCheckResult {
            HealthCheckResult(name: name, status: .degraded, reason: reason)
        }
        let remaining = end - clock.now()
        guard remaining > 0 else { return degraded("no time left before the deadline") }
        let request = HTTPRequest(
            "POST", smoke.url, headers: [("Content-Type", "application/json")], body: smoke.body,
            connectTimeout: min(smoke.timeout, remaining), timeout: min(smoke.timeout, remaining),
            maxResponseBytes: 1 << 20)
        let response: HTTPResponse
        do {
            response = try transport(request)
        } catch {
            return degraded("\(error)")
        }
        guard (200...299).contains(response.status) else {
            return degraded("HTTP \(response.status): \(String(response.text.prefix(200)))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(response.body)) else {
            return degraded("the answer is not JSON: \(String(response.text.prefix(200)))")
        }
        if let missing = smoke.requiredFields.first(where: { Self.value(at: $0, in: object) == nil }) {
            return degraded("the answer has no \(missing)")
        }
        guard response.duration <= smoke.latencyBudget else {
            return degraded(
                "answered in \(format(response.duration)) s, over the budget of \(format(smoke.latencyBudget)) s")
        }
        return HealthCheckResult(name: name, status: .healthy, reason: "answered in \(format(response.duration)) s")
    }

    /// The value at a dotted path of objects and array indices, nil when any step is missing.
    static func value(at path: String, in root: Any) -> Any? {
        var current: Any? = root
        for step in path.split(separator: ".") {
            if let object = current as? [String: Any] {
                current = object[String(step)]
            } else if let array = current as? [Any], let index = Int(step), array.indices.contains(index) {
                current = array[index]
            } else {
                return nil
            }
        }
        return current is NSNull ? nil : current
    }

    func format(_ seconds: Double) -> String { String(format: "%.3g", seconds) }
}

extension HealthAssessment {
    /// The checks an environment of `agent.yaml` asks for, against the server at `base`
    /// (`http://127.0.0.1:8080`): its probes, or else the model's `healthPath` with the default thresholds;
    /// then, when it names a sample, the smoke prediction POSTing `sample` to the model's `predictPath`.
    public init(
        _ settings: AgentConfig.Health, base: String, healthPath: String, predictPath: String, sample: [UInt8]?,
        clock: any HealthClock = SystemClock(), transport: @escaping Transport = { try HTTPClient.perform($0) }
    ) {
        let configured = settings.probes.isEmpty ? [AgentConfig.Health.Probe(path: healthPath)] : settings.probes
        let probes = configured.map { setting in
            var probe = HTTPProbe(name: setting.path, url: base + setting.path)
            probe.period = setting.period
            probe.timeout = setting.timeout
            probe.successThreshold = setting.successThreshold
            probe.failureThreshold = setting.failureThreshold
            return probe
        }
        let smoke = settings.smoke.flatMap { smoke in
            sample.map {
                SmokePrediction(
                    url: base + predictPath, body: $0, requiredFields: smoke.requiredFields,
                    latencyBudget: smoke.latencyBudget, timeout: smoke.timeout)
            }
        }
        self.init(probes: probes, smoke: smoke, deadline: settings.deadline, clock: clock, transport: transport)
    }
}
