/// This build's version: printed by `gitops-ml version`, installed by the generated workflows.
public enum GitOpsMLVersion {
    public static let current = "0.1.0"

    /// The sha256 of each published release archive (version → machine → digest), copied from the
    /// release's `.sha256` files once it is published: `init` and `generate` pin the one of the version
    /// that generates the workflows. A version not listed (this one, before its release) is verified by
    /// the release's build-provenance attestation instead (`gh attestation verify`).
    public static let releaseChecksums: [String: [String: String]] = [:]
}
