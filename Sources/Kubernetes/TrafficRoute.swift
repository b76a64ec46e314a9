import Foundation
import GitOpsMLCore

/// A model's Gateway API HTTPRoute between its two tracks, as `generate manifests` renders it for a canary,
/// blue-green or shadow rollout (labelled `gitops-ml.dev/rollout`): the agent sets its weights and mirror at
/// each step of the live analysis, by server-side apply of the whole route under its own field manager.
///
/// Git holds the route at the first step. Once the agent has accepted a release its route is *settled*
/// (every request to the new track, no mirror), and that is what the agent applies again for it — as the
/// release that serves, as the fallback of the next one, when it corrects drift — so that git's first step
/// never sends traffic back to a version the rollout already left.
public struct TrafficRoute: Sendable {
    public static let rolloutLabel = "gitops-ml.dev/rollout"
    public static let modelLabel = "gitops-ml.dev/model"

    public let object: KubernetesObject
    public let model: String
    /// The rollout the route was rendered for (canary, blue-green, shadow).
    public let strategy: String

    /// The routes among `objects`.
    public static func routes(in objects: [KubernetesObject]) -> [TrafficRoute] {
        objects.compactMap { object in
            guard object.kind == "HTTPRoute", let labels = Self.labels(of: object),
                let strategy = labels[rolloutLabel], let model = labels[modelLabel]
            else { return nil }
            return TrafficRoute(object: object, model: model, strategy: strategy)
        }
    }

    /// `objects` with every route settled: the new track takes all requests, nothing is mirrored.
    public static func settled(_ objects: [KubernetesObject]) throws -> [KubernetesObject] {
        try objects.map { object in
            guard let route = routes(in: [object]).first else { return object }
            return try route.routing(canary: 100, mirror: false)
        }
    }

    /// The route sending `percent` of requests to the new (canary) track and the rest to the stable one,
    /// and, with `mirror`, a copy of every request to the new track (whose answers the gateway discards).
    /// Weights are percent, or per mille for a step that is not a whole percent.
    public func routing(canary percent: Double, mirror: Bool) throws -> KubernetesObject {
        guard var root = try JSONSerialization.jsonObject(with: Data(object.json)) as? [String: Any],
            var spec = root["spec"] as? [String: Any], var rules = spec["rules"] as? [[String: Any]]
        else { throw malformed("no spec.rules") }
        let scale = percent == percent.rounded() ? 1.0 : 10.0
        let canaryWeight = Int((percent * scale).rounded())
        let stableWeight = Int(100 * scale) - canaryWeight
        for index in rules.indices {
            var rule = rules[index]
            var filters = rule["filters"] as? [[String: Any]] ?? []
            let mirrored = filters.compactMap {
                ($0["requestMirror"] as? [String: Any])?["backendRef"] as? [String: Any]
            }
            let backends = rule["backendRefs"] as? [[String: Any]] ?? []
            let canary = backends.first(where: Self.isCanary) ?? mirrored.first(where: Self.isCanary)
            guard let canary, let stable = backends.first(where: { !Self.isCanary($0) }) else {
                throw malformed("rule \(index) has no stable and canary backends (Services named *-canary)")
            }
            func reference(_ backend: [String: Any], weight: Int) -> [String: Any] {
                var reference = backend.filter { ["group", "kind", "name", "namespace", "port"].contains($0.key) }
                reference["weight"] = weight
                return reference
            }
            rule["backendRefs"] = [reference(stable, weight: stableWeight), reference(canary, weight: canaryWeight)]
            filters.removeAll { $0["type"] as? String == "RequestMirror" }
            if mirror {
                var target = reference(canary, weight: 0)
                target["weight"] = nil
                filters.append(["type": "RequestMirror", "requestMirror": ["backendRef": target]])
            }
            rule["filters"] = filters.isEmpty ? nil : filters
            rules[index] = rule
        }
        spec["rules"] = rules
        root["spec"] = spec
        var routed = object
        routed.json = Array(try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
        return routed
    }

    /// The weights of the stable and the canary track in a live or applied route (nil: not found).
    public static func weights(_ route: [String: Any]) -> (stable: Int, canary: Int, mirror: Bool)? {
        guard let rule = ((route["spec"] as? [String: Any])?["rules"] as? [[String: Any]])?.first else { return nil }
        let backends = rule["backendRefs"] as? [[String: Any]] ?? []
        let mirror = (rule["filters"] as? [[String: Any]] ?? []).contains { $0["type"] as? String == "RequestMirror" }
        let canary = backends.first(where: isCanary).flatMap { $0["weight"] as? Int } ?? 0
        let stable = backends.first(where: { !isCanary($0) }).flatMap { $0["weight"] as? Int } ?? 0
        return (stable, canary, mirror)
    }

    /// The model an object belongs to (its `gitops-ml.dev/model` label).
    public static func model(of object: KubernetesObject) -> String? { labels(of: object)?[modelLabel] }

    static func isCanary(_ backend: [String: Any]) -> Bool {
        (backend["name"] as? String)?.hasSuffix("-canary") == true
    }

    static func labels(of object: KubernetesObject) -> [String: String]? {
        guard let root = try? JSONSerialization.jsonObject(with: Data(object.json)) as? [String: Any] else {
            return nil
        }
        return (root["metadata"] as? [String: Any])?["labels"] as? [String: String]
    }

    private func malformed(_ what: String) -> GitOpsMLError {
        .configuration("\(object.reference): \(what): not a route gitops-ml rendered", at: nil)
    }
}
