import Testing

@testable import Agent

@Suite("When the next pass runs")
struct PassScheduleTests {
    /// Runs a pass from `now` lasting `seconds`; returns when it ended.
    func pass(_ schedule: inout PassSchedule, at now: Double, seconds: Double = 2, ok: Bool, random: Double = 0.5)
        -> Double
    {
        schedule.started(at: now)
        schedule.finished(at: now + seconds, succeeded: ok, random: random)
        return now + seconds
    }

    @Test func passesFollowTheIntervalWithJitterBothWays() {
        var schedule = PassSchedule(interval: 60, jitter: 0.1, now: 100)
        #expect(schedule.wait(from: 100) == 0, "the first pass runs at start")
        var end = pass(&schedule, at: 100, ok: true, random: 0.5)
        #expect(schedule.due == end + 60)
        end = pass(&schedule, at: schedule.due, ok: true, random: 0)
        #expect(schedule.due == end + 54)
        end = pass(&schedule, at: schedule.due, ok: true, random: 0.999_999)
        #expect(abs(schedule.due - (end + 66)) < 0.001)
        #expect(schedule.wait(from: end) > 65 && schedule.wait(from: end + 1000) == 0)
    }

    @Test func failuresRetrySoonerWithBackoffCappedByTheIntervalAndRecover() {
        var schedule = PassSchedule(interval: 60, jitter: 0, retry: Backoff(initial: 5, maximum: 300), now: 0)
        var waits: [Double] = []
        var now = 0.0
        for _ in 0..<6 {
            let end = pass(&schedule, at: now, seconds: 1, ok: false)
            waits.append(schedule.due - end)
            now = schedule.due
        }
        #expect(waits == [5, 10, 20, 40, 60, 60], "an unreachable remote: 5 s, doubling, never past the interval")
        #expect(schedule.failuresInARow == 6)
        let end = pass(&schedule, at: now, seconds: 1, ok: true)
        #expect(schedule.failuresInARow == 0 && schedule.due == end + 60, "recovered: back to the interval")
        _ = pass(&schedule, at: schedule.due, seconds: 1, ok: false)
        #expect(schedule.failuresInARow == 1)
    }

    @Test func aWebhookBringsThePassForwardButABurstCostsOnePass() {
        var schedule = PassSchedule(interval: 60, jitter: 0, minimumGap: 1, now: 0)
        let end = pass(&schedule, at: 0, seconds: 0.2, ok: true)
        #expect(schedule.due == end + 60)
        schedule.triggered(at: 0.5)
        #expect(schedule.due == 1, "not before the minimum gap after the last start")
        schedule.triggered(at: 0.7)
        schedule.triggered(at: 0.9)
        #expect(schedule.due == 1, "a burst of pushes: still one pass")
        schedule.triggered(at: 30)
        #expect(schedule.due == 1, "a trigger never delays a pass already due")
    }

    /// A server's Retry-After (a 429 from the Kubernetes API) holds the next pass back: neither the
    /// failure's backoff nor a webhook brings it sooner.
    @Test func retryAfterHoldsTheNextPassBack() {
        var schedule = PassSchedule(
            interval: 60, jitter: 0, retry: Backoff(initial: 5, maximum: 300), minimumGap: 1, now: 0)
        schedule.started(at: 0)
        schedule.finished(at: 1, succeeded: false, random: 0.5, notBefore: 30)
        #expect(schedule.due == 31, "not the 5 s backoff")
        schedule.triggered(at: 2)
        #expect(schedule.due == 31, "a webhook waits too")
        schedule.started(at: 31)
        schedule.finished(at: 32, succeeded: true, random: 0.5)
        schedule.triggered(at: 40)
        #expect(schedule.due == 40, "the next pass is free again")
    }

    @Test func aWebhookDuringAPassIsFollowedByAnotherPass() {
        var schedule = PassSchedule(interval: 60, jitter: 0, minimumGap: 1, now: 0)
        schedule.started(at: 0)
        schedule.triggered(at: 3)  // the pass may have fetched before this push
        schedule.finished(at: 5, succeeded: true, random: 0.5)
        #expect(schedule.due == 5, "runs again at once instead of waiting a whole interval")
        schedule.started(at: 5)
        schedule.finished(at: 6, succeeded: true, random: 0.5)
        #expect(schedule.due == 66)
    }
}
