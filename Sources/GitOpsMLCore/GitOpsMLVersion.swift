/// This build's version: printed by `gitops-ml version`, installed by the generated workflows.
public enum GitOpsMLVersion {
    public static let current = "0.1.0"
}
