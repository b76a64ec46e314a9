import AsyncHTTPClient
import Config
import Foundation
import Gates
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1

/// The proxy's request path: choose the server (or both), forward, record the outcome for the analysis.
extension RolloutProxy {
    enum Choice {
        case none
        case single(Int)
        case split(Int, RolloutObservation.Version)
        case mirror(champion: Int, challenger: Int)
    }

    func choose(_ request: Request) -> Choice {
        let key = state.withLock { $0.settings?.key }.flatMap { name in
            HTTPField.Name(name).flatMap { request.headers[$0] }
        }
        return state.withLock { state -> Choice in
            let choice = Self.choice(&state, key: key)
            switch choice {
            case .none: break
            case .single(let port), .split(let port, _): state.inFlight[port, default: 0] += 1
            case .mirror(let champion, let challenger):
                state.inFlight[champion, default: 0] += 1
                state.inFlight[challenger, default: 0] += 1
            }
            return choice
        }
    }

    private static func choice(_ state: inout State, key: String?) -> Choice {
        switch state.route {
        case .none: return .none
        case .single(let port): return .single(port)
        case .rollout(let champion, let challenger):
            guard let analysis = state.analysis, let settings = state.settings else { return .single(champion) }
            if let finished = analysis.finished {
                let toChallenger = [.complete, .budgetPromote].contains(finished.action)
                return .single(toChallenger ? challenger : champion)
            }
            if settings.strategy == .shadow || settings.strategy == .blueGreen {
                return .mirror(champion: champion, challenger: challenger)
            }
            // Percent in hundredths: a stable hash of the key, or a draw.
            let point = key.map { Int(fnv1a($0) % 10_000) } ?? Int(state.random.next() % 10_000)
            return point < Int(analysis.percent * 100) ? .split(challenger, .challenger) : .split(champion, .champion)
        }
    }

    func respond(to request: Request) async -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maximumBodyBytes)
        } catch {
            return Endpoints.text(.contentTooLarge, "the body is over \(Self.maximumBodyBytes) bytes", close: true)
        }
        if request.method == .post, body.readableBytes > 0, state.withLock({ $0.inputs != nil }) {
            let lines = ServedInputs.lines(in: Array(body.readableBytesView))
            state.withLock { $0.inputs?.add(lines) }
        }
        // With a labels rule, every request has an id (the client's, or one given here and returned) by
        // which its label can be sent later. Ids are remembered: a client's longer than 128 bytes is
        // replaced, so that the memory they take stays bounded with their number.
        let named = labelHeader.flatMap { name in
            HTTPField.Name(name).map { field in
                (field, request.headers[field].flatMap { $0.utf8.count <= 128 ? $0 : nil } ?? UUID().uuidString)
            }
        }
        switch choose(request) {
        case .none:
            return Endpoints.text(.serviceUnavailable, "no model server is serving yet")
        case .single(let upstream):
            return await forward(request, body: body, to: upstream).response
        case .split(let upstream, let version):
            var (response, answer) = await forward(request, body: body, to: upstream, named: named)
            let outcome = OutcomeRecord.split(time: Date().timeIntervalSince1970, version: version, answer: answer)
            record(outcome)
            remember(named?.1, outcome)
            if let (name, id) = named { response.headers[name] = id }
            return response
        case .mirror(let champion, let challenger):
            let time = Date().timeIntervalSince1970
            var (response, championAnswer) = await forward(request, body: body, to: champion, named: named)
            if let (name, id) = named { response.headers[name] = id }
            let admitted = state.withLock { state in
                guard state.mirrorsInFlight < Self.maximumMirrors else {
                    state.skippedMirrors += 1
                    state.inFlight[challenger, default: 0] -= 1
                    return false
                }
                state.mirrorsInFlight += 1
                return true
            }
            if admitted {
                Task(executorPreference: Self.executor) {
                    let (_, challengerAnswer) = await self.forward(request, body: body, to: challenger, named: named)
                    self.state.withLock { $0.mirrorsInFlight -= 1 }
                    let outcome = OutcomeRecord.pair(time: time, champion: championAnswer, challenger: challengerAnswer)
                    self.record(outcome)
                    self.remember(named?.1, outcome)
                }
            }
            return response
        }
    }

    func record(_ outcome: OutcomeRecord) {
        state.withLock { state in
            guard let settings = state.settings, state.analysis?.finished == nil else { return }
            if let observation = settings.observation(outcome) { state.analysis?.observe(observation) }
            if state.recorded < Self.maximumRecorded {
                state.recorded += 1
                state.pending.append(outcome.line)
            }
        }
    }

    /// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1).
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "host",
        "content-length",
    ]

    /// Sends the request to 127.0.0.1:`upstream`; the answer to return and what it was for the analysis.
    func forward(_ request: Request, body: ByteBuffer, to upstream: Int, named: (HTTPField.Name, String)? = nil)
        async -> (response: Response, answer: ServedAnswer)
    {
        // Counted in flight by `choose`, under the lock that picked the port (a drain cannot miss it).
        defer { state.withLock { $0.inFlight[upstream, default: 0] -= 1 } }
        let started = ContinuousClock.now
        var outgoing = HTTPClientRequest(url: "http://127.0.0.1:\(upstream)\(request.uri.description)")
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.hopByHop.contains(field.name.canonicalName) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        if let (name, id) = named { outgoing.headers.replaceOrAdd(name: name.rawName, value: id) }
        if body.readableBytes > 0 { outgoing.body = .bytes(body) }
        let field = state.withLock { $0.settings?.field }
        do {
            let answer = try await client.execute(outgoing, timeout: Self.upstreamTimeout)
            let bytes = try await answer.body.collect(upTo: Self.maximumBodyBytes)
            var headers = HTTPFields()
            for (name, value) in answer.headers where !Self.hopByHop.contains(name.lowercased()) {
                if let name = HTTPField.Name(name) { headers.append(HTTPField(name: name, value: value)) }
            }
            let status = Int(answer.status.code)
            let answered = (200..<300).contains(status)
            let prediction = field.flatMap {
                answered ? ServedAnswer.prediction(in: Array(bytes.readableBytesView), field: $0) : nil
            }
            let served = ServedAnswer(
                status: status, latency: Self.seconds(ContinuousClock.now - started), prediction: prediction,
                invalid: answered && field != nil && prediction == nil)
            return (
                Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: bytes)), served
            )
        } catch {
            let served = ServedAnswer(status: 0, latency: Self.seconds(ContinuousClock.now - started), prediction: nil)
            return (Endpoints.text(.badGateway, "the model server did not answer"), served)
        }
    }
}
