import Foundation
import GitOpsMLCore
import GitStore

/// The agent's rollback in git: a commit on the environment branch, on top of the commit whose rollout
/// failed, that puts the environment's own folders (`environments/<env>/`, `deploy/<env>/`) back as they
/// were before the failed release — other environments kept on the branch keep their newer promotions.
/// Git then names what is wanted, and the agent does not re-apply the bad version in a loop. It moves the
/// branch only from the failed commit: if someone promoted since, that newer commit is what the agent
/// should try next, and it is left alone.
public struct RollbackCommit: Sendable {
    public var environment: String
    public var branch: String
    public var failed: ObjectID
    /// What runs again (the last healthy release the agent applied).
    public var restored: ObjectID
    /// The commit whose environment folders the revert puts back: the failed commit's parent, unless that
    /// is itself a failed or reverted release (see `target`); `restored` when nil.
    public var target: ObjectID?
    /// The failed checks, `name: reason`, one per line of the body.
    public var reasons: [String]
    /// The check that fails a release refused before it started (a bad record, an artifact's digest).
    public static let releaseCheck = "release"

    public init(
        environment: String, branch: String, failed: ObjectID, restored: ObjectID, target: ObjectID? = nil,
        reasons: [String]
    ) {
        self.environment = environment
        self.branch = branch
        self.failed = failed
        self.restored = restored
        self.target = target
        self.reasons = reasons
    }

    /// The environment's own folders on the branch.
    public var paths: [String] { ["environments/\(environment)/", "deploy/\(environment)/"] }

    /// Where the revert takes the environment: down the first parents of `failed`, the first commit that
    /// is neither reverted by a later commit nor holds the failed commit's environment folders (a release
    /// already shown bad), and never further back than `restored`. Promotions made after `restored` that
    /// were never tried stay on the branch, to be tried next.
    public static func target(
        environment: String, failed: ObjectID, restored: ObjectID, in repository: Repository
    ) throws -> ObjectID {
        let probe = RollbackCommit(
            environment: environment, branch: "", failed: failed, restored: restored, reasons: [])
        func sameFolders(_ a: ObjectID, _ b: ObjectID) throws -> Bool {
            try repository.changedPaths(from: a, to: b).allSatisfy { path in
                !probe.paths.contains { path.hasPrefix($0) }
            }
        }
        var reverted: Set<String> = []
        var current = try repository.commit(failed.hex)
        for _ in 0..<1000 {
            if let rolledBack = CommitTrailers.value(Trailer.rollbackOf, in: current.message) {
                reverted.insert(rolledBack)
            }
            guard let parent = current.parents.first, parent != restored,
                try repository.isAncestor(restored, of: parent)
            else { return restored }
            if !reverted.contains(parent.hex), try !sameFolders(parent, failed) { return parent }
            current = try repository.commit(parent.hex)
        }
        return restored
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
        if let target, target != restored {
            lines += [
                "",
                "\(environment)'s folders go back to \(target.short), before the failed release; the promotions "
                    + "since \(restored.short) that were not tried yet stay, to be tried next.",
            ]
        }
        if !reasons.isEmpty { lines += [""] + reasons.map { "- " + $0.replacingOccurrences(of: "\n", with: " ") } }
        lines += [
            "", Trailer.line(Trailer.environment, environment), Trailer.line(Trailer.rollbackOf, failed.hex),
        ]
        if let model { lines.append(Trailer.line(Trailer.model, model)) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the commit and moves the branch from `failed`; nil when the environment's folders are already
    /// as the target has them. Throws `GitError` `.referenceMoved` when the branch is no longer at `failed`.
    @discardableResult
    public func write(in repository: Repository, author: GitSignature? = nil, signer: CommitSigner? = nil) throws
        -> ObjectID?
    {
        let source = target ?? restored
        let changed = try repository.changedPaths(from: source, to: failed).filter { path in
            paths.contains { path.hasPrefix($0) }
        }
        let changes = try changed.sorted().map { path in
            FileChange(path: path, contents: try repository.read(path, at: .git(source.hex)))
        }
        let failedMessage = try repository.commit(failed.hex).message
        guard
            let commit = try repository.writeCommit(
                parent: failed, changes: changes, message: message(failedMessage: failedMessage), author: author,
                sign: signer.map { signer in { try signer.sign($0) } }, subject: branch)
        else { return nil }
        let refName = branch.hasPrefix("refs/") ? branch : "refs/heads/" + branch
        try repository.updateReference(
            refName, to: commit, expected: failed, logMessage: "gitops-ml: roll back \(failed.short) in \(environment)")
        return commit
    }
}
