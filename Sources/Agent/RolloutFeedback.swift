import Config
import Foundation
import Gates
import GitOpsMLCore

/// The answers of a rollout's recent requests, by request id, until their label arrives: at most
/// `capacity`, the oldest forgotten first (a label that comes after is unknown, and counted as such).
struct RecentRequests {
    let capacity: Int
    private var records: [String: OutcomeRecord] = [:]
    private var order: [String] = []
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func remember(_ id: String, _ record: OutcomeRecord) {
        if records.updateValue(record, forKey: id) != nil { return }
        order.append(id)
        if order.count - head > capacity {
            records[order[head]] = nil
            head += 1
        }
        // The forgotten ids' slots are reclaimed in one move once they are half of the list.
        if head > capacity {
            order.removeFirst(head)
            head = 0
        }
    }

    /// The answers given to `id`, once: a second label for the same request is not evidence twice.
    mutating func take(_ id: String) -> OutcomeRecord? { records.removeValue(forKey: id) }
}

/// Labels that arrive after the answers (`POST /feedback/<environment>` on the agent's endpoints): each is
/// joined with what the rollout's versions predicted for that request, and judged by the `labels` rule.
extension RolloutProxy {
    /// Requests remembered for their labels at most.
    static let maximumAwaitingLabels = 200_000

    /// The header naming requests when the rollout under way judges labels; nil otherwise.
    var labelHeader: String? {
        state.withLock { state in
            guard state.analysis?.finished == nil, let settings = state.settings, settings.labelsMargin != nil else {
                return nil
            }
            return settings.requestID
        }
    }

    func remember(_ id: String?, _ record: OutcomeRecord) {
        guard let id else { return }
        state.withLock { state in
            guard state.settings?.labelsMargin != nil, state.analysis?.finished == nil else { return }
            if state.awaitingLabels == nil {
                state.awaitingLabels = RecentRequests(capacity: Self.maximumAwaitingLabels)
            }
            state.awaitingLabels?.remember(id, record)
        }
    }

    /// Labels (`request_id`, `label`) for requests of the rollout under way: how many met a request it
    /// remembers and how many did not (unknown, forgotten, answered before the rollout, or labelled twice).
    public func feedback(_ labels: [(id: String, label: String)]) -> (matched: Int, unknown: Int) {
        var matched = 0
        for (id, label) in labels {
            guard var record = state.withLock({ $0.awaitingLabels?.take(id) }) else { continue }
            record.time = Date().timeIntervalSince1970
            record.label = label
            matched += 1
            self.record(record)
        }
        return (matched, labels.count - matched)
    }

    /// The labels of a `/feedback` body: one JSON object `{"request_id": "…", "label": …}`, a list of them or
    /// JSON Lines; a label is any JSON scalar, kept as canonical JSON. nil with the reason when it is not.
    public static func labels(in body: [UInt8]) -> Result<[(id: String, label: String)], GitOpsMLError> {
        var objects: [Any] = []
        if let whole = try? JSONSerialization.jsonObject(with: Data(body)) {
            objects = (whole as? [Any]) ?? [whole]
        } else {
            for (index, line) in body.split(separator: UInt8(ascii: "\n")).enumerated()
            where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) else {
                    return .failure(.configuration("line \(index + 1) is not JSON"))
                }
                objects.append(object)
            }
        }
        var labels: [(id: String, label: String)] = []
        for (index, object) in objects.enumerated() {
            guard let entry = object as? [String: Any], let id = entry["request_id"] as? String, !id.isEmpty,
                let label = entry["label"], !(label is NSNull), !(label is [Any]), !(label is [String: Any]),
                let data = try? JSONSerialization.data(withJSONObject: label, options: [.fragmentsAllowed])
            else {
                return .failure(
                    .configuration("entry \(index + 1) is not {\"request_id\": \"…\", \"label\": <a JSON scalar>}"))
            }
            labels.append((id, String(decoding: data, as: UTF8.self)))
        }
        return .success(labels)
    }
}
