import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Kubernetes

/// The routes `generate manifests` renders, as the agent moves them: a canary's weights, a shadow's mirror,
/// and the settled route of a release the agent accepted.
@Suite("HTTPRoute weights")
struct TrafficRouteTests {
    static func route(_ environment: String) throws -> TrafficRoute {
        let file = packageRoot + "/Tests/RenderTests/Golden/dvc/deploy/\(environment)/fraud-lite/httproute.yaml"
        let objects = try ManifestSet.parse(Array(try Data(contentsOf: URL(fileURLWithPath: file))), file: file)
        return try #require(TrafficRoute.routes(in: objects).first)
    }

    static func weights(_ object: KubernetesObject) throws -> (stable: Int, canary: Int, mirror: Bool)? {
        TrafficRoute.weights(try #require(try JSONSerialization.jsonObject(with: Data(object.json)) as? [String: Any]))
    }

    @Test func aCanaryRouteMovesItsWeightsAndKeepsEverythingElse() throws {
        let route = try Self.route("staging")
        #expect(route.model == "fraud-lite" && route.strategy == "canary")
        #expect(try Self.weights(route.object).map { [$0.stable, $0.canary] } == [90, 10])
        let half = try route.routing(canary: 50, mirror: false)
        #expect(try Self.weights(half).map { [$0.stable, $0.canary] } == [50, 50])
        // A step that is not a whole percent is weighed per mille.
        #expect(
            try Self.weights(route.routing(canary: 2.5, mirror: false)).map { [$0.stable, $0.canary] } == [975, 25])
        let before = try #require(try JSONSerialization.jsonObject(with: Data(route.object.json)) as? [String: Any])
        let after = try #require(try JSONSerialization.jsonObject(with: Data(half.json)) as? [String: Any])
        #expect((before["metadata"] as? NSDictionary) == (after["metadata"] as? NSDictionary))
        #expect(
            ((before["spec"] as? [String: Any])?["parentRefs"] as? NSArray)
                == ((after["spec"] as? [String: Any])?["parentRefs"] as? NSArray))
    }

    @Test func aShadowRouteGainsTheNewTrackWhenSettledAndLosesItsMirror() throws {
        let route = try Self.route("production")
        #expect(route.strategy == "shadow")
        let rendered = try #require(try Self.weights(route.object))
        #expect(rendered.stable == 100 && rendered.canary == 0 && rendered.mirror)
        let settledRoute = try #require(try TrafficRoute.settled([route.object]).first)
        let settled = try #require(try Self.weights(settledRoute))
        #expect(settled.stable == 0 && settled.canary == 100 && !settled.mirror)
        // Back to the stable track: no copy goes to the new one any more.
        let back = try #require(try Self.weights(route.routing(canary: 0, mirror: false)))
        #expect(back.stable == 100 && back.canary == 0 && !back.mirror)
    }

    @Test func aRouteWithoutTwoTracksIsRefusedByName() throws {
        let json = Array(
            #"{"apiVersion":"gateway.networking.k8s.io/v1","kind":"HTTPRoute","metadata":{"name":"m","namespace":"n","labels":{"gitops-ml.dev/model":"m","gitops-ml.dev/rollout":"canary"}},"spec":{"rules":[{"backendRefs":[{"name":"m","port":80}]}]}}"#
                .utf8)
        let object = KubernetesObject(
            apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", name: "m", namespace: "n", json: json)
        let route = try #require(TrafficRoute.routes(in: [object]).first)
        #expect(throws: GitOpsMLError.self) { try route.routing(canary: 10, mirror: false) }
        do {
            _ = try route.routing(canary: 10, mirror: false)
        } catch {
            #expect("\(error)".contains("HTTPRoute/n/m: rule 0 has no stable and canary backends"), "\(error)")
        }
    }
}
