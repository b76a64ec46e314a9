import Foundation

/// Delays after failures in a row: `initial` seconds after the first, doubled for each further one, capped
/// at `maximum`. Server restarts and failed passes both wait this way.
public struct Backoff: Sendable, Equatable {
    public var initial: Double
    public var maximum: Double

    public init(initial: Double = 1, maximum: Double = 30) {
        self.initial = initial
        self.maximum = maximum
    }

    public func delay(afterFailures failures: Int) -> Double {
        min(maximum, initial * pow(2, Double(min(max(0, failures - 1), 62))))
    }
}

/// When the agent's next pass runs: every `interval` seconds with ±`jitter` (a fraction, so that many
/// agents do not fetch in step), sooner after a failure (backoff from `retry`, never later than the
/// interval), and at once on a webhook — but never two passes closer than `minimumGap`, so a burst of
/// pushes costs one pass. Plain arithmetic on times the loop passes in: tested without sleeping.
public struct PassSchedule: Sendable, Equatable {
    public var interval: Double
    public var jitter: Double
    public var retry: Backoff
    public var minimumGap: Double
    public private(set) var failuresInARow = 0
    /// Monotonic seconds at which the next pass is due.
    public private(set) var due: Double
    private var lastStart: Double?
    private var running = false
    /// A webhook during a pass: that pass may have fetched before the push, so another one follows.
    private var triggeredWhileRunning = false
    /// No pass before this (a server's Retry-After), webhooks included.
    private var earliest = -Double.infinity

    public init(
        interval: Double, jitter: Double = 0.1, retry: Backoff = Backoff(initial: 5, maximum: 300),
        minimumGap: Double = 0.25, now: Double
    ) {
        self.interval = interval
        self.jitter = jitter
        self.retry = retry
        self.minimumGap = minimumGap
        due = now  // the first pass runs at start
    }

    public mutating func started(at now: Double) {
        lastStart = now
        running = true
    }

    /// `random` is uniform in [0, 1): the loop's generator, a fixed one in tests. `notBefore`: seconds a
    /// server asked to wait (Retry-After), which no backoff or webhook shortens.
    public mutating func finished(at now: Double, succeeded: Bool, random: Double, notBefore: Double? = nil) {
        failuresInARow = succeeded ? 0 : failuresInARow + 1
        let base = succeeded ? interval : min(interval, retry.delay(afterFailures: failuresInARow))
        due = now + base * (1 + jitter * (2 * random - 1))
        if let notBefore {
            due = max(due, now + notBefore)
            earliest = now + notBefore
        }
        running = false
        if triggeredWhileRunning {
            triggeredWhileRunning = false
            triggered(at: now)
        }
    }

    /// A webhook: the next pass as soon as the minimum gap after the last one allows.
    public mutating func triggered(at now: Double) {
        if running {
            triggeredWhileRunning = true
            return
        }
        due = min(due, max(now, (lastStart ?? -Double.infinity) + minimumGap, earliest))
    }

    /// Seconds to wait from `now` (zero when due).
    public func wait(from now: Double) -> Double { max(0, due - now) }
}
