import Config
import GitOpsMLCore
import GitStore

/// The promotion and rollback commits on the environment branches, read from their trailers (local branch,
/// else `origin/<branch>`). Lineage, the audit and the promotion rules read history through it.
public struct PromotionHistory: Sendable {
    public struct Entry: Sendable {
        public var model: String
        public var version: String
        public var sourceCommit: String
        public var artifact: String?
        public var data: [String: String]
        public var params: String?
        public var gateReport: String?
        public var previousVersion: String?
        public var commit: CommitInfo
        public var environment: String
        public var signed: Bool
    }

    public struct Rollback: Sendable {
        public var commit: CommitInfo
        public var environment: String
        /// The promotion commit it rolled back.
        public var rolledBack: String
    }

    public var promotions: [Entry] = []
    public var rollbacks: [Rollback] = []
    /// Branch name → its tip (local branch, else `origin/<branch>`).
    public var tips: [String: ObjectID] = [:]

    public static func read(config: ProjectConfig, repository: Repository) throws -> PromotionHistory {
        var result = PromotionHistory()
        var seen: Set<ObjectID> = []
        for branch in Set(config.environments.values.map(\.branch)).sorted() {
            guard let tip = (try? repository.resolve(branch)) ?? (try? repository.resolve("origin/\(branch)"))
            else { continue }
            result.tips[branch] = tip
            for commit in try repository.history(from: tip.hex) where seen.insert(commit.id).inserted {
                let message = commit.message
                guard let environment = CommitTrailers.value(Trailer.environment, in: message) else { continue }
                if let rolledBack = CommitTrailers.value(Trailer.rollbackOf, in: message) {
                    result.rollbacks.append(
                        Rollback(commit: commit, environment: environment, rolledBack: rolledBack))
                    continue
                }
                guard let model = CommitTrailers.value(Trailer.model, in: message),
                    let version = CommitTrailers.value(Trailer.version, in: message),
                    let source = CommitTrailers.value(Trailer.sourceCommit, in: message)
                else { continue }
                var data: [String: String] = [:]
                for pair in (CommitTrailers.value(Trailer.data, in: message) ?? "").split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1).map {
                        $0.trimmingCharacters(in: .whitespaces)
                    }
                    if parts.count == 2 { data[parts[0]] = parts[1] }
                }
                result.promotions.append(
                    Entry(
                        model: model, version: version, sourceCommit: source,
                        artifact: CommitTrailers.value(Trailer.artifact, in: message), data: data,
                        params: CommitTrailers.value(Trailer.params, in: message),
                        gateReport: CommitTrailers.value(Trailer.gateReport, in: message),
                        previousVersion: CommitTrailers.value(Trailer.previousVersion, in: message), commit: commit,
                        environment: environment, signed: try repository.commitSignature(commit.id) != nil))
            }
        }
        return result
    }
}
