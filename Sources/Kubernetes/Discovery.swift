import Foundation
import GitOpsMLCore
import Synchronization

/// A kind as the API server serves it.
public struct APIResource: Sendable, Equatable {
    public var groupVersion: String
    public var kind: String
    /// The path segment (`deployments`).
    public var plural: String
    public var namespaced: Bool
}

/// Kind → resource from the API server's discovery documents (`/api/v1`, `/apis/<group>/<version>`), as
/// client-go's deferred RESTMapper does: a group version is read when first needed and kept; a kind missing
/// from what was kept makes it read again (a CustomResourceDefinition applied since), and a kind still
/// missing is a fault of the cluster, not of the release — the CRD may be installed later. No table of
/// kinds: CRDs (ServiceMonitor, InferenceService, anything) work as the built-in kinds do.
public final class Discovery: Sendable {
    private let known = Mutex<[String: [String: APIResource]]>([:])

    public init() {}

    /// `fetch` reads a group version's resources; nil when the server does not serve it (404).
    func resource(
        apiVersion: String, kind: String, fetch: (String) throws -> [String: APIResource]?
    ) throws -> APIResource {
        if let resource = known.withLock({ $0[apiVersion]?[kind] }) { return resource }
        let served = try fetch(apiVersion)
        known.withLock { $0[apiVersion] = served ?? [:] }
        guard let resource = served?[kind] else {
            throw GitOpsMLError.environment(
                served == nil
                    ? "the API server does not serve \(apiVersion) (for \(kind)): is its CustomResourceDefinition installed?"
                    : "the API server serves no kind \(kind) in \(apiVersion)")
        }
        return resource
    }

    /// Forgets what was read: kinds are discovered again (after a CRD changed).
    public func reset() { known.withLock { $0 = [:] } }

    /// `/api/v1` for the core group, `/apis/<group>/<version>` for the others.
    static func prefix(_ apiVersion: String) -> String {
        apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
    }

    /// An `APIResourceList`'s resources by kind; subresources (`deployments/scale`) left out.
    static func resources(in body: [UInt8], groupVersion: String) throws -> [String: APIResource] {
        guard let list = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let resources = list["resources"] as? [[String: Any]]
        else {
            throw GitOpsMLError.environment("the API server's discovery of \(groupVersion) is not an APIResourceList")
        }
        var byKind: [String: APIResource] = [:]
        for resource in resources {
            guard let name = resource["name"] as? String, !name.contains("/"), let kind = resource["kind"] as? String
            else { continue }
            byKind[kind] = APIResource(
                groupVersion: groupVersion, kind: kind, plural: name,
                namespaced: resource["namespaced"] as? Bool ?? false)
        }
        return byKind
    }
}
