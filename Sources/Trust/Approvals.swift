import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// Approvals in git: `gitops-ml approve` writes a note on the source commit under
/// `refs/notes/gitops-ml-approvals`, in a notes commit that states what it approves in its trailers and is
/// signed by the reviewer. An approval counts when that signature verifies against the environment's
/// allowed approvers; the note's text is for people (`git notes --ref gitops-ml-approvals show`).
public enum Approvals {
    public static let ref = "refs/notes/gitops-ml-approvals"
    static let environmentTrailer = "Gitops-Ml-Approve-Environment"
    static let modelTrailer = "Gitops-Ml-Approve-Model"
    static let sourceTrailer = "Gitops-Ml-Approve-Source-Commit"

    /// The notes commit's message for an approval of `source` (model, environment).
    public static func message(model: String, environment: String, source: ObjectID, reviewer: String) -> String {
        "approve(\(model)): \(source.short) for \(environment) by \(reviewer)\n\n"
            + "\(environmentTrailer): \(environment)\n\(modelTrailer): \(model)\n\(sourceTrailer): \(source.hex)\n"
    }

    /// The note's text after adding one approval line.
    public static func noteText(existing: String?, model: String, environment: String, reviewer: String, at: Date)
        -> String
    {
        let line = "approved \(model) for \(environment) by \(reviewer) at \(ISO8601DateFormatter().string(from: at))"
        return (existing.map { $0.hasSuffix("\n") ? $0 : $0 + "\n" } ?? "") + line + "\n"
    }

    /// One approval found in the approvals history: who (the verified signer) approved what.
    public struct Approval: Sendable, Equatable {
        public var commit: ObjectID
        public var signer: String
    }

    /// The distinct allowed signers who approved `model` at `source` for `environment` (read from the
    /// approvals ref; fetch `refs/notes/*` into a clone first): all three must be what the signed commit
    /// states. With the reasons other approval commits for it did not count.
    public static func verified(
        model: String, source: ObjectID, environment: String, in repository: Repository, allowedSigners: [UInt8]
    ) throws -> (approvals: [Approval], rejected: [String]) {
        guard let tip = try repository.referenceTarget(ref) else { return ([], []) }
        var approvals: [Approval] = []
        var rejected: [String] = []
        for commit in try repository.history(from: tip.hex, limit: 10_000) {
            guard CommitTrailers.value(sourceTrailer, in: commit.message) == source.hex,
                CommitTrailers.value(environmentTrailer, in: commit.message) == environment,
                CommitTrailers.value(modelTrailer, in: commit.message) == model
            else { continue }
            do {
                let signer = try CommitVerifier.verify(
                    commit.id, in: repository, allowedSignersContents: allowedSigners
                ).signer
                if !approvals.contains(where: { $0.signer == signer }) {
                    approvals.append(Approval(commit: commit.id, signer: signer))
                }
            } catch let failure as VerificationFailure {
                rejected.append(failure.description)
            }
        }
        return (approvals, rejected)
    }
}
