import Foundation
import GitOpsMLCore
import GitStore

/// The agent's rollback in git: a commit on the environment branch, on top of the commit whose rollout
/// failed, whose tree is the last healthy commit's tree. Git then names what runs again, and the agent does
/// not re-apply the bad version in a loop. It moves the branch only from the failed commit: if someone
/// promoted since, that newer commit is what the agent should try next, and it is left alone.
public struct RollbackCommit: Sendable {
    public var environment: String
    public var branch: String
    public var failed: ObjectID
    public var restored: ObjectID
    /// The failed checks, `name: reason`, one per line of the body.
    public var reasons: [String]
    /// The check that fails a release refused before it started (a bad record, an artifact's digest).
    public static let releaseCheck = "release"

    public init(environment: String, branch: String, failed: ObjectID, restored: ObjectID, reasons: [String]) {
        self.environment = environment
        self.branch = branch
        self.failed = failed
        self.restored = restored
        self.reasons = reasons
    }

    /// The message: what was rolled back and why, with the trailers `lineage` and `audit` read. The model
    /// and version come from the failed promotion's own trailers when it has them.
    public func message(failedMessage: String) -> String {
        let model = CommitTrailers.value(Trailer.model, in: failedMessage)
        let version = CommitTrailers.value(Trailer.version, in: failedMessage)
        let what = [model, version].compactMap { $0 }.joined(separator: " ")
        // A release refused before it started (its record, its artifact's digest) never had a health check.
        let neverStarted = !reasons.isEmpty && reasons.allSatisfy { $0.hasPrefix(Self.releaseCheck + ": ") }
        var lines = [
            "Roll back \(what.isEmpty ? failed.short : what) in \(environment): "
                + (neverStarted ? "the release could not be started" : "health checks failed"), "",
            neverStarted
                ? "The release at \(failed.short) was refused before it started; \(restored.short) is running again."
                : "The rollout of \(failed.short) failed; \(restored.short) is running again.",
        ]
        if !reasons.isEmpty { lines += [""] + reasons.map { "- " + $0.replacingOccurrences(of: "\n", with: " ") } }
        lines += [
            "", Trailer.line(Trailer.environment, environment), Trailer.line(Trailer.rollbackOf, failed.hex),
        ]
        if let model { lines.append(Trailer.line(Trailer.model, model)) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the commit and moves the branch from `failed`; nil when the branch already has the restored
    /// tree. Throws `GitError` `.referenceMoved` when the branch is no longer at `failed`.
    @discardableResult
    public func write(in repository: Repository, author: GitSignature? = nil, signer: CommitSigner? = nil) throws
        -> ObjectID?
    {
        let failedMessage = try repository.commit(failed.hex).message
        return try repository.commit(
            on: branch, restoringTreeOf: restored, message: message(failedMessage: failedMessage), author: author,
            expectedTip: failed, sign: signer.map { signer in { try signer.sign($0) } })
    }
}
