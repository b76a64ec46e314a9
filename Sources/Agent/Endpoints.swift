import Crypto
import Foundation
import GitOpsMLCore
import Hummingbird
import Logging
import Synchronization

/// The agent's HTTP endpoints on Hummingbird: `/healthz` (the process answers), `/readyz` (a first pass
/// has finished), `/status` (JSON), `/metrics` (Prometheus text) and `/webhook` (GitHub push events,
/// HMAC-verified; 404 when agent.yaml configures no secret) and `/feedback/<environment>` (labels for a
/// rollout's requests, with the environment's bearer token; 404 when it has none).
public enum Endpoints {
    private static let bodiesInFlight = Atomic<Int>(0)

    /// Webhook bodies larger than this are refused before they are read whole (GitHub caps at 25 MB;
    /// push events are a few kilobytes).
    static let maximumWebhookBytes = 1 << 20
    /// Webhook bodies read at once: past it, 503 before reading (1,000 slow clients with 1 MB bodies took
    /// the agent to 1.31 GB; now at most this many megabytes are ever buffered).
    static let maximumConcurrentBodies = 8
    /// A connection with nothing read or written for this long is closed (a client that opens and waits).
    static let idleSeconds: Int64 = 30

    public static func router(service: AgentService, webhook: GitHubWebhook?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("healthz") { _, _ in text(.ok, "ok") }
        router.get("readyz") { _, _ in
            service.status.ready ? text(.ok, "ready") : text(.serviceUnavailable, "no pass has finished yet")
        }
        router.get("status") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: service.status.json())))
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: service.exposition())))
        }
        router.post("webhook") { request, context in
            guard let webhook else {
                return text(.notFound, "no webhook is configured (agent.yaml webhook.secret_env)")
            }
            // Nothing is read from a request that cannot be verified, and only so many bodies at once.
            guard request.headers.contains(where: { $0.name.canonicalName == "x-hub-signature-256" }) else {
                context.logger.info(
                    "webhook", metadata: ["status": "401", "decision": "no X-Hub-Signature-256 header: not read"])
                return text(.unauthorized, "no X-Hub-Signature-256 header: not read", close: true)
            }
            return await withBody(of: request) { body in
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let decision = webhook.handle(headers: headers, body: Array(body.readableBytesView))
                context.logger.info(
                    "webhook",
                    metadata: [
                        "status": "\(decision.status)", "decision": "\(decision.message)",
                        "delivery": "\(headers["x-github-delivery"] ?? "")",
                    ])
                if decision.trigger != nil { service.trigger() }
                return text(HTTPResponse.Status(code: decision.status), decision.message)
            }
        }
        router.post("feedback/:environment") { request, context in
            let name = context.parameters.get("environment") ?? ""
            guard let (proxy, token) = service.feedback(name) else {
                return text(.notFound, "no feedback endpoint for \(name) (agent.yaml: proxy and feedback.token_env)")
            }
            let given = request.headers[.authorization].map { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : "" }
            // Digests compare in constant time: the token is not guessed byte by byte from response times.
            guard let given, SHA256.hash(data: Data(given.utf8)) == SHA256.hash(data: Data(token.utf8)) else {
                return text(.unauthorized, "a bearer token is needed (agent.yaml feedback.token_env)", close: true)
            }
            return await withBody(of: request) { body in
                switch RolloutProxy.labels(in: Array(body.readableBytesView)) {
                case .failure(let error):
                    return text(.badRequest, "not read: \(error.message)")
                case .success(let labels):
                    let (matched, unknown) = proxy.feedback(labels)
                    return Response(
                        status: .ok, headers: [.contentType: "application/json"],
                        body: .init(
                            byteBuffer: ByteBuffer(string: #"{"matched": \#(matched), "unknown": \#(unknown)}"#)))
                }
            }
        }
        return router
    }

    /// `handle` with the request's body, read whole within the limits (at most `maximumConcurrentBodies`
    /// bodies at once, each at most `maximumWebhookBytes`), or the answer that refuses it.
    static func withBody(of request: Request, _ handle: (ByteBuffer) async -> Response) async -> Response {
        guard bodiesInFlight.wrappingAdd(1, ordering: .relaxed).newValue <= maximumConcurrentBodies else {
            bodiesInFlight.wrappingSubtract(1, ordering: .relaxed)
            return text(.serviceUnavailable, "too many bodies at once; retry", close: true)
        }
        defer { bodiesInFlight.wrappingSubtract(1, ordering: .relaxed) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: maximumWebhookBytes)
        } catch {
            return text(.contentTooLarge, "the body is over \(maximumWebhookBytes) bytes")
        }
        return await handle(body)
    }

    /// A plain-text answer; `close`: the connection ends after it, so an unread body is not drained.
    static func text(_ status: HTTPResponse.Status, _ message: String, close: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "text/plain; charset=utf-8"]
        if close { headers[.connection] = "close" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: message + "\n")))
    }
}

/// The agent as a process: its service and endpoints in one Hummingbird application, which runs them in
/// a swift-service-lifecycle group and shuts them down gracefully on SIGTERM and SIGINT.
public enum AgentApplication {
    public static func run(service: AgentService, host: String, port: Int, webhook: GitHubWebhook?, logger: Logger)
        async throws
    {
        let application = Application(
            router: Endpoints.router(service: service, webhook: webhook),
            server: .http1(configuration: .init(idleTimeout: .seconds(Endpoints.idleSeconds))),
            configuration: .init(address: .hostname(host, port: port), serverName: "gitops-ml-agent"),
            services: [service], logger: logger)
        do {
            try await application.runService()
        } catch {
            throw GitOpsMLError.environment("the agent's endpoints on \(host):\(port) failed: \(error)")
        }
    }
}
