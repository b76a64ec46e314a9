import Config
import Foundation
import GitOpsMLCore

/// Where the Kubernetes API is and how to authenticate: the pod's service account when the agent runs in
/// a cluster, else a kubeconfig (`$KUBECONFIG` or `~/.kube/config`, its current context or a named one) with
/// a bearer token, a client certificate or an `exec` credential plugin, and the cluster's CA. Inline `*-data` fields are written to files
/// (0600) in a scratch folder, since libcurl reads certificates from files. Tokens are never logged.
public struct KubernetesAccess: Sendable, Equatable {
    public var server: String
    public var caFile: String?
    /// Read again for every request: service-account tokens are rotated on disk.
    public var tokenFile: String?
    public var token: String?
    public var clientCertificate: String?
    public var clientKey: String?
    /// A credential plugin the kubeconfig's user names (`exec`), run for the token.
    public var exec: ExecCredential?
    public var insecureSkipTLSVerify = false

    public init(server: String, caFile: String? = nil, token: String? = nil) {
        self.server = server
        self.caFile = caFile
        self.token = token
    }

    public static let serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// In the cluster (KUBERNETES_SERVICE_HOST set and a service-account token mounted), else the kubeconfig.
    public static func resolve(
        context: String? = nil, scratch: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccount: String = serviceAccount
    ) throws -> KubernetesAccess {
        if let host = environment["KUBERNETES_SERVICE_HOST"], context == nil,
            FileManager.default.fileExists(atPath: serviceAccount + "/token")
        {
            let port = environment["KUBERNETES_SERVICE_PORT"] ?? "443"
            var access = KubernetesAccess(server: "https://\(host.contains(":") ? "[\(host)]" : host):\(port)")
            access.tokenFile = serviceAccount + "/token"
            access.caFile = serviceAccount + "/ca.crt"
            return access
        }
        let path =
            environment["KUBECONFIG"]?.split(separator: ":").first.map(String.init)
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.kube/config"
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw GitOpsMLError.environment(
                "no Kubernetes credentials: not in a cluster (no service account) and no kubeconfig at \(path)")
        }
        return try kubeconfig(Array(bytes), file: path, context: context, scratch: scratch)
    }

    /// The access a kubeconfig gives for `context` (default: its current-context).
    public static func kubeconfig(_ bytes: [UInt8], file: String, context wanted: String?, scratch: String) throws
        -> KubernetesAccess
    {
        guard let root = try YAMLReader.compose(bytes, file: file) else {
            throw GitOpsMLError.configuration("the kubeconfig is empty", at: SourceLocation(file: file))
        }
        let config = try ConfigNode(root, file: file).mapping()
        let contextName = try wanted ?? config.required("current-context").string()
        func entry(_ list: String, _ name: String) throws -> ConfigMapping {
            for item in try config.optional(list)?.list() ?? [] {
                let map = try item.mapping()
                if try map.optional("name")?.string() == name, let body = map.optional(String(list.dropLast())) {
                    return try body.mapping()
                }
            }
            throw GitOpsMLError.configuration(
                "no \(list.dropLast()) named \(name.debugDescription)", at: SourceLocation(file: file))
        }
        let context = try entry("contexts", contextName)
        let cluster = try entry("clusters", try context.required("cluster").string())
        let user = try entry("users", try context.required("user").string())
        var access = KubernetesAccess(server: try cluster.required("server").string())
        guard access.server.hasPrefix("https://") || access.server.hasPrefix("http://") else {
            throw try cluster.required("server").error("server must be an https:// URL")
        }
        access.insecureSkipTLSVerify = try cluster.optional("insecure-skip-tls-verify")?.bool() ?? false
        let base = (file as NSString).deletingLastPathComponent
        func path(_ node: ConfigNode?) throws -> String? {
            guard let value = try node?.string() else { return nil }
            return value.hasPrefix("/") ? value : base + "/" + value
        }
        func data(_ node: ConfigNode?, _ name: String) throws -> String? {
            guard let node else { return nil }
            guard let bytes = Data(base64Encoded: try node.string(), options: .ignoreUnknownCharacters) else {
                throw node.error("not base64")
            }
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let target = scratch + "/" + name
            try OutputFile.write(Array(bytes), to: target, kind: OutputFile.check(target))
            chmod(target, 0o600)
            return target
        }
        access.caFile =
            try path(cluster.optional("certificate-authority"))
            ?? data(cluster.optional("certificate-authority-data"), "ca.crt")
        access.token = try user.optional("token")?.string()
        access.tokenFile = try path(user.optional("tokenFile"))
        access.clientCertificate =
            try path(user.optional("client-certificate"))
            ?? data(user.optional("client-certificate-data"), "client.crt")
        access.clientKey = try path(user.optional("client-key")) ?? data(user.optional("client-key-data"), "client.key")
        if let execNode = user.optional("exec") {
            let exec = try execNode.mapping()
            var environment: [String: String] = [:]
            for item in try exec.optional("env")?.list() ?? [] {
                let pair = try item.mapping()
                environment[try pair.required("name").string()] = try pair.required("value").string()
            }
            access.exec = ExecCredential(
                apiVersion: try exec.optional("apiVersion")?.string() ?? "client.authentication.k8s.io/v1",
                command: try exec.required("command").string(), arguments: try exec.optional("args")?.strings() ?? [],
                environment: environment)
        }
        if user.optional("auth-provider") != nil,
            access.token == nil && access.tokenFile == nil && access.clientCertificate == nil && access.exec == nil
        {
            throw GitOpsMLError.configuration(
                "user of context \(contextName) authenticates with an auth-provider plugin (removed from kubectl "
                    + "since 1.26), which the agent does not run: use an exec plugin, a token or a client certificate",
                at: SourceLocation(file: file))
        }
        return access
    }

    /// The bearer token for the next request, nil when the access has none.
    func bearer() throws -> String? {
        if let exec, token == nil, tokenFile == nil { return try exec.token() }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw GitOpsMLError.environment("cannot read the Kubernetes token file \(tokenFile)")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return token
    }
}
