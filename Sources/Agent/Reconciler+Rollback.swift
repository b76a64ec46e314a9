import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Kubernetes
import Promotion
import Synchronization
import Trust

/// Rollback: what ran before put back, and a commit that says so pushed, so that git names what runs.
extension Reconciler {
    func failWithoutStarting(_ environment: AgentConfig.Environment, tip: ObjectID, reason: String) throws
        -> Result
    {
        let name = environment.name
        let check = CheckOutcome(
            name: RollbackCommit.releaseCheck, status: HealthStatus.degraded.description, reason: reason)
        guard state.environments[name]?.lastApplied != nil else {
            update(name) {
                $0.lastAttempted = tip.hex
                $0.lastFailed = tip.hex
                $0.unpublished.append(self.deploymentRecord(environment, tip, Date(), .failed, [check], restored: nil))
            }
            publishRecords(name)
            return .stopped(step: .desiredState, reason: reason, stop: .stalled)
        }
        update(name) { $0.lastAttempted = tip.hex }
        return try rolledBack(environment, failed: tip, started: Date(), checks: [check])
    }

    /// The last healthy commit runs again: recorded, then the revert commit pushed (or kept for later).
    func rolledBack(
        _ environment: AgentConfig.Environment, failed: ObjectID, started: Date, checks: [CheckOutcome]
    ) throws -> Result {
        let name = environment.name
        guard let restored = state.environments[name]?.lastApplied else {
            return .stopped(step: .rollback, reason: "nothing healthy to go back to", stop: .stalled)
        }
        let reasons = checks.filter { $0.status != HealthStatus.healthy.description }.map { "\($0.name): \($0.reason)" }
        let pending = AgentState.PendingRollback(failed: failed.hex, restored: restored, reasons: reasons)
        let record = deploymentRecord(environment, failed, started, .failed, checks, restored: restored)
        update(name) {
            $0.inFlight = nil
            $0.lastFailed = failed.hex
            $0.health = HealthStatus.healthy.description
            $0.pendingRollback = pending
            $0.unpublished.append(record)
        }
        publishRecords(name)
        if let stopped = try pushRollback(environment, pending, tip: failed) { return stopped }
        return .rolledBack(failed: failed.hex, restored: restored)
    }

    /// A restart after the agent was killed while putting the last healthy commit back.
    func finishRollback(_ environment: AgentConfig.Environment, failed: ObjectID, reasons: [String]) throws
        -> Result
    {
        let name = environment.name
        guard let restored = state.environments[name]?.lastApplied else {
            update(name) {
                $0.inFlight = nil
                $0.lastFailed = failed.hex
            }
            return .stopped(step: .rollback, reason: "nothing healthy to go back to", stop: .stalled)
        }
        let report = try restore(environment, ObjectID(hex: restored))
        guard report.status == .healthy else {
            return .stopped(
                step: .rollback,
                reason: "\(restored.prefix(12)) failed too: \(report.failedReasons.joined(separator: "; "))",
                stop: .waiting(after: nil))
        }
        let checks = reasons.map { CheckOutcome(name: "before restart", status: "Degraded", reason: $0) }
        return try rolledBack(environment, failed: failed, started: Date(), checks: checks)
    }

    /// Writes the revert commit on the failed tip and pushes it by compare-and-swap. Nil when pushed (or no
    /// longer needed: someone promoted on top, and that newer commit is what to try next).
    func pushRollback(
        _ environment: AgentConfig.Environment, _ pending: AgentState.PendingRollback, tip: ObjectID
    )
        throws -> Result?
    {
        let name = environment.name
        let failed = ObjectID(hex: pending.failed)
        guard tip == failed else {
            update(name) { $0.pendingRollback = nil }
            return nil
        }
        let branch = "refs/heads/" + environment.branch
        let restored = ObjectID(hex: pending.restored)
        do {
            // Back to before the failed release, not to what ran: newer promotions never tried stay.
            let commit = RollbackCommit(
                environment: name, branch: branch, failed: failed, restored: restored,
                target: try RollbackCommit.target(environment: name, failed: failed, restored: restored, in: mirror),
                reasons: pending.reasons)
            try mirror.updateReference(branch, to: failed, expected: try mirror.referenceTarget(branch))
            let written = try commit.write(in: mirror, author: author(), signer: options.signer)
            if let revert = written {
                try mirror.pushCompareAndSwap(
                    options.remote, localRef: branch, remoteRef: branch, expected: failed,
                    credentials: options.credentials)
                try mirror.updateReference("refs/remotes/origin/" + environment.branch, to: revert, expected: failed)
            }
        } catch let error as GitError where error.code == .nonFastForward {
            update(name) { $0.pendingRollback = nil }
            return nil
        } catch {
            return .stopped(
                step: .rollback, reason: "the revert commit is not pushed yet (\(error)); retried next pass",
                stop: .waiting(after: nil))
        }
        update(name) { $0.pendingRollback = nil }
        return nil
    }

    /// Pushes the deployment records not yet on the remote, oldest first; they stay in the state otherwise.
    /// Best effort: a record that cannot be pushed now stays in the state and goes with a later pass; it
    /// never holds up applying, restoring or the revert commit.
    func publishRecords(_ name: String) {
        while let record = state.environments[name]?.unpublished.first {
            do {
                try DeploymentNotes.publish(
                    record, remote: options.remote, in: mirror, author: author(), signer: options.signer,
                    credentials: options.credentials)
            } catch {
                Log.warning("deployment record not published yet", ["environment": name, "error": "\(error)"])
                return
            }
            update(name) { $0.unpublished.removeFirst() }
        }
    }
}
