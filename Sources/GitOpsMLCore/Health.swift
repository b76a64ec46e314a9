import Foundation

/// gitops-engine's health vocabulary, ordered from best to worst: the health of several parts is the worst.
public enum HealthStatus: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case healthy, suspended, progressing, missing, degraded, unknown

    public static func < (a: HealthStatus, b: HealthStatus) -> Bool { a.rawValue < b.rawValue }

    public var description: String {
        switch self {
        case .healthy: return "Healthy"
        case .suspended: return "Suspended"
        case .progressing: return "Progressing"
        case .missing: return "Missing"
        case .degraded: return "Degraded"
        case .unknown: return "Unknown"
        }
    }
}

/// Time for health checks: real, or advanced by hand in tests (no test sleeps through a deadline).
public protocol HealthClock: Sendable {
    /// Seconds on a monotonic scale.
    func now() -> Double
    func sleep(_ seconds: Double)
}

public struct SystemClock: HealthClock {
    public init() {}
    public func now() -> Double { ProcessInfo.processInfo.systemUptime }
    public func sleep(_ seconds: Double) { if seconds > 0 { Thread.sleep(forTimeInterval: seconds) } }
}

/// One check's outcome, with the reason a person can act on.
public struct HealthCheckResult: Sendable, Equatable {
    public var name: String
    public var status: HealthStatus
    public var reason: String

    public init(name: String, status: HealthStatus, reason: String) {
        self.name = name
        self.status = status
        self.reason = reason
    }

    /// As recorded in the state, `/status` and deployment notes.
    public var outcome: CheckOutcome { CheckOutcome(name: name, status: status.description, reason: reason) }
}

public struct HealthReport: Sendable, Equatable {
    public var checks: [HealthCheckResult]

    public init(checks: [HealthCheckResult]) { self.checks = checks }

    /// The worst of the checks (unknown when there were none).
    public var status: HealthStatus { checks.map(\.status).max() ?? .unknown }
    public var failures: [HealthCheckResult] { checks.filter { $0.status != .healthy } }
}
