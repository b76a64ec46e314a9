import Foundation
import GitOpsMLCore
import GitStore

extension Promoter {
    /// Promotes onto the remote's environment branch by compare-and-swap: fetch the tip, plan and commit on
    /// it, push. When the push is refused because another promotion landed first, fetch again; if that
    /// promotion touched none of the files this one owns, plan again on the new tip and retry (bounded,
    /// with backoff); if it did, fail with nothing written. With `propose`, push to
    /// `Promoter.proposalBranch(…)` instead (it must not exist yet), for a pull-request flow. `judge` sees
    /// each attempt's fresh copy of the environment branch before anything is written there (the rules that
    /// count what the branch already holds, such as promotions per day, are judged on it) and throws to refuse.
    ///
    /// Each attempt works in a fresh temporary bare repository holding only the environment branch: the
    /// user's repository is never touched, and every fetch is a complete one (libgit2 1.5's negotiation
    /// against a repository that took part in concurrent pushes could leave a fetched tip without its tree).
    public func promote(
        _ request: PromotionRequest, pushTo remote: String, propose: Bool = false, attempts: Int = 8,
        credentials: RemoteCredentials = .fromEnvironment(), judge: ((Repository) throws -> Void)? = nil
    ) throws -> Outcome {
        let branch = try self.branch(of: request.environment)
        let url = try repository.remoteURL(remote)
        var previousTip: ObjectID?
        var previousPlan: Plan?
        for attempt in 1...attempts {
            let folder = FileManager.default.temporaryDirectory.path + "/gitops-ml-promote-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let store = try Repository.createBare(at: folder)
            let advertised = try store.remoteReferences(url, credentials: credentials)
            if advertised.contains("refs/heads/\(branch)") {
                try store.fetch(
                    url, refspecs: ["+refs/heads/\(branch):refs/heads/\(branch)"], credentials: credentials)
            }
            let tip = try store.referenceTarget("refs/heads/\(branch)")
            if let previousPlan, let tip {
                // The previous tip is normally an ancestor of the new one; after a rewrite, compare with nothing.
                let moved =
                    try (try? store.changedPaths(from: previousTip, to: tip)) ?? store.changedPaths(from: nil, to: tip)
                let overlap = moved.filter(previousPlan.owns).sorted()
                if !overlap.isEmpty {
                    throw PromotionFailure.conflict(paths: overlap, environment: request.environment)
                }
            }
            try judge?(store)
            let plan = try self.plan(request, tip: tip, in: store)
            let proposalBranch =
                propose
                ? Self.proposalBranch(
                    environment: request.environment, model: request.model, version: plan.record.version)
                : nil
            guard
                let commit = try store.writeCommit(
                    parent: tip, changes: plan.changes, message: plan.message, author: author,
                    sign: signer.map { signer in { try signer.sign($0) } })
            else { return .unchanged(plan.previous ?? plan.record) }
            let outgoing = "refs/gitops-ml/outgoing"
            try store.updateReference(outgoing, to: commit, expected: nil)
            if attempt == 1 { try beforeFirstPush?() }
            do {
                if let proposalBranch, advertised.contains("refs/heads/\(proposalBranch)") {
                    throw PromotionFailure.branchExists(proposalBranch)
                }
                try store.pushCompareAndSwap(
                    url, localRef: outgoing, remoteRef: "refs/heads/" + (proposalBranch ?? branch),
                    expected: proposalBranch == nil ? tip : nil, credentials: credentials)
                return .committed(commit: commit, plan: plan, attempts: attempt)
            } catch let error as GitError where error.code == .nonFastForward || error.code == .locked {
                guard proposalBranch == nil else { throw PromotionFailure.branchExists(proposalBranch ?? "") }
                Log.info("push refused, retrying", ["attempt": "\(attempt)", "branch": branch])
                // previousTip must stay readable in the next attempt's fresh store: it is the parent of the
                // tip we will fetch there, or a conflict check against the root.
                previousTip = tip
                previousPlan = plan
                // Exponential backoff with jitter: 20 ms, 40 ms, … (at most ~1.3 s) plus up to 50 %.
                let delay = 0.02 * pow(2, Double(min(attempt - 1, 6)))
                Thread.sleep(forTimeInterval: delay * (1 + Double.random(in: 0..<0.5)))
            }
        }
        throw PromotionFailure.tooManyAttempts(attempts)
    }

    /// The branch a proposed promotion is pushed to: `gitops-ml/promote/ENV/MODEL-VERSION`.
    public static func proposalBranch(environment: String, model: String, version: String) -> String {
        "gitops-ml/promote/\(environment)/\(model)-\(version)"
    }
}
