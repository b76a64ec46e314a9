import Crypto
import Foundation
import GitOpsMLCore

/// GitHub's push webhook: verified with HMAC-SHA256 over the raw body (`X-Hub-Signature-256: sha256=<hex>`,
/// compared in constant time by swift-crypto), then read only to decide whether a pass should run now.
/// Nothing in the payload says what to apply: the pass fetches the followed branch from the configured
/// remote and verifies its tip, so a replayed or forged-but-signed delivery can at most cause an early pass.
public struct GitHubWebhook: Sendable {
    /// Bytes, not a `SymmetricKey`: swift-crypto 3 does not mark keys Sendable.
    private let secret: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: secret) }
    /// Branch names (not refs) the agent follows.
    public var branches: Set<String>

    /// A webhook without a secret would let anyone trigger passes: refused.
    public init(secret: String, branches: Set<String>) throws {
        guard !secret.isEmpty else {
            throw GitOpsMLError.configuration("the webhook secret is empty", at: SourceLocation(file: "agent.yaml"))
        }
        self.secret = Array(secret.utf8)
        self.branches = branches
    }

    /// What the endpoint answers, and whether a pass runs.
    public struct Decision: Sendable, Equatable {
        public var status: Int
        public var message: String
        /// The followed branch that moved, when a pass should run now.
        public var trigger: String?
    }

    /// `headers` by name in any case; `body` exactly as received (the signature covers its bytes).
    public func handle(headers: [String: String], body: [UInt8]) -> Decision {
        let header = { (name: String) in headers.first { $0.key.lowercased() == name }?.value }
        guard let signature = header("x-hub-signature-256") else {
            return Decision(status: 401, message: "missing X-Hub-Signature-256")
        }
        guard verify(signature: signature, body: body) else {
            return Decision(status: 401, message: "the signature does not match the body")
        }
        switch header("x-github-event") ?? "" {
        case "ping":
            return Decision(status: 200, message: "pong")
        case "push":
            return push(body)
        case let other:
            return Decision(status: 202, message: "ignored: \(other.isEmpty ? "no" : other) event")
        }
    }

    /// True only for `sha256=` and 64 hex digits that are the HMAC of `body`.
    public func verify(signature: String, body: [UInt8]) -> Bool {
        guard signature.hasPrefix("sha256="), let digest = Hex.bytes(signature.dropFirst(7)),
            digest.count == Crypto.SHA256.byteCount
        else { return false }
        return HMAC<Crypto.SHA256>.isValidAuthenticationCode(digest, authenticating: body, using: key)
    }

    /// The signature GitHub would send for `body` (for tests and for `agent` self-checks).
    public func signature(of body: [UInt8]) -> String {
        "sha256=" + Hex.string(Array(HMAC<Crypto.SHA256>.authenticationCode(for: body, using: key)))
    }

    private func push(_ body: [UInt8]) -> Decision {
        guard let event = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let ref = event["ref"] as? String
        else { return Decision(status: 400, message: "a push event without a ref") }
        guard ref.hasPrefix("refs/heads/"), branches.contains(String(ref.dropFirst(11))) else {
            return Decision(status: 202, message: "ignored: \(ref) is not followed")
        }
        let branch = String(ref.dropFirst(11))
        if event["deleted"] as? Bool == true {
            return Decision(status: 202, message: "ignored: \(branch) was deleted (the agent keeps what runs)")
        }
        return Decision(status: 202, message: "pass triggered for \(branch)", trigger: branch)
    }
}
