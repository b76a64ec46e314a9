/// The trailer keys of promotion and rollback commits: the one spelling that `promote` writes and the
/// agent, `lineage` and `audit` read.
public enum Trailer {
    public static let model = "Gitops-Ml-Model"
    public static let version = "Gitops-Ml-Version"
    public static let environment = "Gitops-Ml-Environment"
    public static let sourceCommit = "Gitops-Ml-Source-Commit"
    public static let artifact = "Gitops-Ml-Artifact"
    public static let data = "Gitops-Ml-Data"
    public static let params = "Gitops-Ml-Params"
    public static let gateReport = "Gitops-Ml-Gate-Report"
    public static let previousVersion = "Gitops-Ml-Previous-Version"
    /// Written by the agent's revert commits: the promotion commit it rolls back.
    public static let rollbackOf = "Gitops-Ml-Rollback-Of"

    /// `Key: value`, one line.
    public static func line(_ key: String, _ value: String) -> String { "\(key): \(value)" }
}
