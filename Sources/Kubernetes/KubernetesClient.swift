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
    let transport: HTTPTransport
    let timeout: Double

    public init(
        access: KubernetesAccess, timeout: Double = 30,
        transport: @escaping HTTPTransport = { try HTTPClient.perform($0) }
    ) {
        self.access = access
        self.timeout = timeout
        self.transport = transport
    }

    /// What the API server serves, read as needed (see `Discovery`); shared by copies of this client.
    let discovery = Discovery()

    /// `/api/v1/namespaces/ns/services/name` or `/apis/apps/v1/namespaces/ns/deployments/name`, from the
    /// server's discovery of `apiVersion`: a kind it does not serve is a fault (a CRD not installed yet).
    func path(apiVersion: String, kind: String, namespace: String?, name: String?) throws -> String {
        let resource = try resource(apiVersion: apiVersion, kind: kind)
        var path = Discovery.prefix(apiVersion)
        if resource.namespaced {
            guard let namespace else { throw GitOpsMLError.environment("\(kind) \(name ?? "") has no namespace") }
            path += "/namespaces/\(Self.escape(namespace))"
        }
        path += "/\(resource.plural)"
        if let name { path += "/\(Self.escape(name))" }
        return path
    }

    /// The resource that serves `kind` in `apiVersion`.
    public func resource(apiVersion: String, kind: String) throws -> APIResource {
        try discovery.resource(apiVersion: apiVersion, kind: kind) { groupVersion in
            let response = try transport(try request("GET", Discovery.prefix(groupVersion)))
            if response.status == 404 { return nil }
            guard (200...299).contains(response.status) else {
                throw Failure(response, what: "discover \(groupVersion)")
            }
            return try Discovery.resources(in: response.body, groupVersion: groupVersion)
        }
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
    func applyRequest(_ object: KubernetesObject, dryRun: Bool = false) throws -> HTTPRequest {
        let path =
            try path(
                apiVersion: object.apiVersion, kind: object.kind, namespace: object.namespace, name: object.name)
            + "?fieldManager=\(Self.fieldManager)&force=true" + (dryRun ? "&dryRun=All" : "")
        return try request("PATCH", path, body: object.json, contentType: "application/apply-patch+yaml")
    }

    /// Server-side apply; returns the object as the server has it now. With `dryRun`, the server validates
    /// and answers what the object would become (admission included), and stores nothing.
    @discardableResult
    public func apply(_ object: KubernetesObject, dryRun: Bool = false) throws -> [String: Any] {
        try send(
            applyRequest(object, dryRun: dryRun), what: (dryRun ? "dry run of " : "apply ") + object.reference) ?? [:]
    }

    /// The object, nil when it does not exist.
    public func get(apiVersion: String, kind: String, namespace: String?, name: String) throws -> [String: Any]? {
        let path = try path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
        return try send(request("GET", path), what: "get \(kind)/\(name)", absentIsNil: true)
    }

    /// The objects of a kind in a namespace carrying `selector` (`key=value`); none when the kind is not
    /// installed (404). A 403 (the agent may not list the kind) is thrown, for the caller to say.
    public func list(apiVersion: String, kind: String, namespace: String?, selector: String) throws -> [[String: Any]] {
        let path =
            try path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: nil)
            + "?labelSelector=\(Self.escape(selector))"
        let response = try transport(try request("GET", path))
        guard response.status != 404 else { return [] }
        guard (200...299).contains(response.status) else { throw Failure(response, what: "list \(kind)") }
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        return object?["items"] as? [[String: Any]] ?? []
    }

    /// Deletes an object, only if it is still the one listed: the API compares `uid` and `resourceVersion`
    /// (DeleteOptions preconditions) and answers 409 when the object changed or was created again since.
    /// False when it was gone already or has changed.
    @discardableResult
    public func delete(
        apiVersion: String, kind: String, namespace: String?, name: String, uid: String? = nil,
        resourceVersion: String? = nil
    ) throws -> Bool {
        let path = try path(apiVersion: apiVersion, kind: kind, namespace: namespace, name: name)
        var preconditions: [String: String] = [:]
        preconditions["uid"] = uid
        preconditions["resourceVersion"] = resourceVersion
        let options: [String: Any] = [
            "apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background",
            "preconditions": preconditions,
        ]
        let body = Array(try JSONSerialization.data(withJSONObject: options, options: [.sortedKeys]))
        do {
            return
                try send(
                    request("DELETE", path, body: body, contentType: "application/json"),
                    what: "delete \(kind)/\(name)", absentIsNil: true) != nil
        } catch let failure as Failure where failure.status == 409 {
            return false
        }
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
