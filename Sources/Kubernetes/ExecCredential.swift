import Foundation
import GitOpsMLCore
import Processes
import Synchronization

/// A kubeconfig user's `exec` credential plugin (client.authentication.k8s.io), as kubectl runs it: the
/// command with its arguments and extra environment, `KUBERNETES_EXEC_INFO` describing a non-interactive
/// call, and an `ExecCredential` on standard output whose `status.token` is the bearer token. EKS
/// (`aws eks get-token`), GKE (`gke-gcloud-auth-plugin`) and AKS (`kubelogin`) configure users this way.
/// The token is kept until a minute before its `expirationTimestamp` (or for the call when it has none).
public struct ExecCredential: Sendable, Equatable {
    public var apiVersion: String
    public var command: String
    public var arguments: [String]
    public var environment: [String: String]

    public init(apiVersion: String, command: String, arguments: [String] = [], environment: [String: String] = [:]) {
        self.apiVersion = apiVersion
        self.command = command
        self.arguments = arguments
        self.environment = environment
    }

    private static let cache = Mutex<[ExecCredential: (token: String, expires: Date?)]>([:])

    /// The token: from the cache while it is valid, else from running the plugin.
    public func token(now: Date = Date()) throws -> String {
        if let cached = Self.cache.withLock({ $0[self] }), let expires = cached.expires,
            now < expires.addingTimeInterval(-60)
        {
            return cached.token
        }
        let info = #"{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        var environment = ProcessInfo.processInfo.environment.merging(self.environment) { _, plugin in plugin }
        environment["KUBERNETES_EXEC_INFO"] = info
        let output = try Subprocess.run([command] + arguments, environment: environment, timeout: 60)
        guard output.status == 0 else {
            throw GitOpsMLError.environment(
                "the kubeconfig's credential plugin \(command) exited \(output.status): "
                    + Redaction.oneLine(String(output.stderrText.prefix(300))))
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(output.stdout))) as? [String: Any]
        guard object?["kind"] as? String == "ExecCredential",
            let status = object?["status"] as? [String: Any], let token = status["token"] as? String, !token.isEmpty
        else {
            throw GitOpsMLError.environment(
                "the kubeconfig's credential plugin \(command) printed no ExecCredential with a status.token")
        }
        let expires = (status["expirationTimestamp"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) }
        Self.cache.withLock { $0[self] = (token, expires) }
        return token
    }
}

extension ExecCredential: Hashable {}
