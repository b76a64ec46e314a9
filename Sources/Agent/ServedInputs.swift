import Foundation
import Gates

/// A uniform sample of the inputs a model was sent (Vitter's algorithm R): at most `capacity` rows of all
/// the requests since the last `take`, each row one JSON object as a line, its keys sorted. Memory stays
/// bounded however much is served.
struct ServedInputs {
    let capacity: Int
    private(set) var rows: [String] = []
    private(set) var seen = 0
    private var random: SplitMix64

    init(capacity: Int, seed: UInt64 = UInt64(UInt32.random(in: 0...UInt32.max))) {
        self.capacity = capacity
        random = SplitMix64(seed: seed)
        rows.reserveCapacity(min(capacity, 1024))
    }

    /// The rows of a prediction request's JSON body: `{"instances": [{…}, …]}` (KServe's and TensorFlow
    /// Serving's v1), `{"inputs": …}`, a list of objects, or one object of feature values. Only scalar
    /// features are kept; a body that is none of these gives no row.
    static func rows(in body: [UInt8]) -> [[String: Any]] {
        guard !body.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(body)) else { return [] }
        var candidates: [Any]
        if let map = object as? [String: Any], let list = (map["instances"] ?? map["inputs"]) as? [Any] {
            candidates = list
        } else if let list = object as? [Any] {
            candidates = list
        } else {
            candidates = [object]
        }
        return candidates.compactMap { candidate in
            guard let map = candidate as? [String: Any] else { return nil }
            let scalars = map.filter { $0.value is String || $0.value is NSNumber || $0.value is NSNull }
            return scalars.isEmpty ? nil : scalars
        }
    }

    /// The rows of `body` as JSON lines, keys sorted (computed before the lock that `add` is called under).
    static func lines(in body: [UInt8]) -> [String] {
        rows(in: body).compactMap { row in
            (try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])).map {
                String(decoding: $0, as: UTF8.self)
            }
        }
    }

    mutating func add(_ lines: [String]) {
        for line in lines {
            seen += 1
            if rows.count < capacity {
                rows.append(line)
            } else {
                let slot = Int(random.next() % UInt64(seen))
                if slot < capacity { rows[slot] = line }
            }
        }
    }

    /// The sample as JSON Lines when it holds at least `minimum` rows, and a new interval begins; nil (and
    /// the sample kept) below it.
    mutating func take(minimum: Int) -> (lines: [String], seen: Int)? {
        guard rows.count >= minimum else { return nil }
        defer {
            rows = []
            seen = 0
        }
        return (rows, seen)
    }
}
