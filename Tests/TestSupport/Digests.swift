import Crypto
import GitOpsMLCore

/// The digests tests expect, as lowercase hex (swift-crypto's, the library the sources use).
public enum Digests {
    public static func sha256(_ bytes: [UInt8]) -> String { Hex.string(SHA256.hash(data: bytes)) }
    public static func md5(_ bytes: [UInt8]) -> String { Hex.string(Insecure.MD5.hash(data: bytes)) }
}
