import Foundation
import GitOpsMLCore
import HTTPClient

/// One object of a manifest, as far as the API path needs it.
public struct KubernetesObject: Sendable, Equatable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var namespace: String?
    /// The whole object as JSON (which the apply-patch+yaml content type accepts).
    public var json: [UInt8]

    public var reference: String { "\(kind)/\(namespace.map { $0 + "/" } ?? "")\(name)" }

    /// The label by which an agent knows the objects it applied for an environment, and prunes only those:
    /// two environments (or agents) sharing a namespace never delete each other's objects.
    public static let environmentLabel = "gitops-ml.dev/environment"

    /// The object as this agent applies it for `environment`: `environmentLabel` set and, for a workload
    /// an autoscaler scales (`scaled`), no `spec.replicas` — the HorizontalPodAutoscaler owns that field,
    /// and a release must not take it back at every apply.
    public func owned(by environment: String, scaled: Bool = false) throws -> KubernetesObject {
        guard var object = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else { return self }
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        var labels = metadata["labels"] as? [String: Any] ?? [:]
        labels[Self.environmentLabel] = environment
        metadata["labels"] = labels
        object["metadata"] = metadata
        if scaled, var spec = object["spec"] as? [String: Any] {
            spec["replicas"] = nil
            object["spec"] = spec
        }
        var owned = self
        owned.json = Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        return owned
    }

    /// The workloads (`Kind/namespace/name`) that a HorizontalPodAutoscaler among `objects` scales.
    public static func scaledByAutoscaler(_ objects: [KubernetesObject]) -> Set<String> {
        Set(
            objects.filter { $0.kind == "HorizontalPodAutoscaler" }.compactMap { autoscaler in
                guard let object = try? JSONSerialization.jsonObject(with: Data(autoscaler.json)) as? [String: Any],
                    let target = (object["spec"] as? [String: Any])?["scaleTargetRef"] as? [String: Any],
                    let kind = target["kind"] as? String, let name = target["name"] as? String
                else { return nil }
                return KubernetesObject(
                    apiVersion: "", kind: kind, name: name, namespace: autoscaler.namespace, json: []
                ).reference
            })
    }
}

/// The Kubernetes API over the libcurl HTTPClient: server-side apply (`PATCH … application/apply-patch+yaml`,
/// field manager `gitops-ml`, conflicts forced: git is the truth), reads, lists by label and deletes.
public struct KubernetesClient: Sendable {
    public static let fieldManager = "gitops-ml"
    public let access: KubernetesAccess
    let transport: HealthAssessment.Transport
    let timeout: Double

    public init(
        access: KubernetesAccess, timeout: Double = 30,
        transport: @escaping HealthAssessment.Transport = { try HTTPClient.perform($0) }
    ) {
        self.access = access
        self.timeout = timeout
        self.transport = transport
    }

    /// The kinds the agent applies (those the rendered manifests use, the usual workloads and the
    /// Prometheus operator's): the API version listed when pruning, the path segment, and whether they live
    /// in a namespace. Not discovery: another kind is a fault the pass names.
    static let resources: [String: (apiVersion: String, plural: String, namespaced: Bool)] = [
        "Namespace": ("v1", "namespaces", false), "ServiceAccount": ("v1", "serviceaccounts", true),
        "ConfigMap": ("v1", "configmaps", true), "Secret": ("v1", "secrets", true),
        "Service": ("v1", "services", true), "Deployment": ("apps/v1", "deployments", true),
        "HorizontalPodAutoscaler": ("autoscaling/v2", "horizontalpodautoscalers", true),
        "PodDisruptionBudget": ("policy/v1", "poddisruptionbudgets", true),
        "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicies", true),
        "Role": ("rbac.authorization.k8s.io/v1", "roles", true),
        "RoleBinding": ("rbac.authorization.k8s.io/v1", "rolebindings", true),
        "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", false),
        "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", false),
        "InferenceService": ("serving.kserve.io/v1beta1", "inferenceservices", true),
        "StatefulSet": ("apps/v1", "statefulsets", true), "DaemonSet": ("apps/v1", "daemonsets", true),
        "Job": ("batch/v1", "jobs", true), "CronJob": ("batch/v1", "cronjobs", true),
        "Ingress": ("networking.k8s.io/v1", "ingresses", true),
        "PersistentVolumeClaim": ("v1", "persistentvolumeclaims", true),
        "ServiceMonitor": ("monitoring.coreos.com/v1", "servicemonitors", true),
        "PrometheusRule": ("monitoring.coreos.com/v1", "prometheusrules", true),
    ]

    /// `/api/v1/namespaces/ns/services/name` or `/apis/apps/v1/namespaces/ns/deployments/name`.
    static func path(apiVersion: String, kind: String, namespace: String?, name: String?) throws -> String {
        guard let resource = resources[kind] else {
            throw GitOpsMLError.environment("the kubernetes target does not know the kind \(kind)")
        }
        let group = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        var path = group
        if resource.namespaced {
            guard let namespace else { throw GitOpsMLError.environment("\(kind) \(name ?? "") has no namespace") }
            path += "/namespaces/\(escape(namespace))"
        }
        path += "/\(resource.plural)"
        if let name { path += "/\(escape(name))" }
        return path
    }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? segment
    }

    func request(_ method: String, _ path: String, body: [UInt8] = [], contentType: String? = nil) throws
        -> HTTPRequest
    {
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let token = try access.bearer() { headers.append(("Authorization", "Bearer \(token)")) }
        var request = HTTPRequest(
            method, access.server + path, headers: headers, body: body, connectTimeout: min(10, timeout),
            timeout: timeout, verifyTLS: !access.insecureSkipTLSVerify, caBundle: access.caFile)
        request.clientCertificate = access.clientCertificate
        request.clientKey = access.clientKey
        return request
    }

    /// The request `apply` sends (tested against a local HTTPS server).
    func applyRequest(_ object: KubernetesObject) throws -> HTTPRequest {
        let path =
            try Self.path(
                apiVersion: object.apiVersion, kind: object.kind, namespace: object.namespace, name: object.name)
            + "?fieldManager=\(Self.fieldManager)&force=true"
        return try request("PATCH", path, body: object.json, contentType: "application/apply-patch+yaml")
    }

    /// Server-side apply; returns the object as the server has it now.
    @discardableResult
    public func apply(_ object: KubernetesObject) throws -> [String: Any] {
        try send(applyRequest(object), what: "apply \(object.reference)") ?? [:]
    }

    /// The object, nil when it does not exist.
    public func get(apiVersion: String, kind: String, namespace: String?, name: String) throws -> [String: Any]? {
        let path = try Self.path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
        return try send(request("GET", path), what: "get \(kind)/\(name)", absentIsNil: true)
    }

    /// The objects of a kind in a namespace carrying `selector` (`key=value`); none when the kind is not
    /// installed (404) or the agent may not list it (403: its Role grants only the kinds it renders).
    public func list(apiVersion: String, kind: String, namespace: String?, selector: String) throws -> [[String: Any]] {
        let path =
            try Self.path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: nil)
            + "?labelSelector=\(Self.escape(selector))"
        let response = try transport(try request("GET", path))
        guard response.status != 404 && response.status != 403 else { return [] }
        guard (200...299).contains(response.status) else { throw Failure(response, what: "list \(kind)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        return object?["items"] as? [[String: Any]] ?? []
    }

    public func delete(apiVersion: String, kind: String, namespace: String?, name: String) throws {
        let path = try Self.path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
        _ = try send(request("DELETE", path), what: "delete \(kind)/\(name)", absentIsNil: true)
    }

    private func send(_ request: HTTPRequest, what: String, absentIsNil: Bool = false) throws -> [String: Any]? {
        let response = try transport(request)
        if response.status == 404 && absentIsNil { return nil }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        guard (200...299).contains(response.status) else { throw Failure(response, what: what) }
        return object ?? [:]
    }

    /// An error status from the API server. Only 400 (BadRequest) and 422 (Invalid) say that what was sent
    /// is wrong — the release itself; 409, 429, 5xx, 401 and 403 are the cluster's state or faults, which
    /// pass, and the next pass tries again.
    public struct Failure: CategorizedError {
        public var status: Int
        public var what: String
        public var message: String
        /// Seconds the server asked to wait (429, 503 with Retry-After).
        public var retryAfter: Double?

        init(_ response: HTTPResponse, what: String) {
            status = response.status
            self.what = what
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            message = object?["message"] as? String ?? String(response.text.prefix(200))
            retryAfter = response.headers["retry-after"].flatMap(Double.init)
        }

        public var isReleaseDefect: Bool { status == 400 || status == 422 }
        public var category: ErrorCategory { isReleaseDefect ? .configuration : .environment }
        public var description: String {
            "Kubernetes API: \(what): HTTP \(status): \(message)"
                + (retryAfter.map { " (retry after \(Int($0)) s)" } ?? "")
        }
    }
}
