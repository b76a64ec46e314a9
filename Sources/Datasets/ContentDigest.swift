import Crypto
import GitOpsMLCore

/// How records name content: `sha256:` and the lowercase hex SHA-256 of the bytes (swift-crypto's). Release
/// records, lineage, audits and the printed gate report all name data, parameters and reports this way.
public enum ContentDigest {
    public static func sha256(_ bytes: [UInt8]) -> String { "sha256:" + Hex.string(SHA256.hash(data: bytes)) }
}
