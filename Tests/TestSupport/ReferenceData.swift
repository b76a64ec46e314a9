import Foundation
import Gates

/// Seeded data shared with `Tests/Reference/refgen.py`: integer arithmetic only (SplitMix64, floor
/// division), values as integer / 10^decimals, so that Swift and Python build the same values and the
/// committed fixtures need to hold only the specs and the expected results.
public enum ReferenceData {
    /// Gates' SplitMix64, with the bounded draw `refgen.py` makes (a modulo, not SplitMix64's multiply-shift).
    public struct Generator {
        var random: SplitMix64
        public init(seed: UInt64) { random = SplitMix64(seed: seed) }

        public mutating func next() -> UInt64 { random.next() }
        public mutating func below(_ bound: Int) -> Int { Int((next() >> 11) % UInt64(bound)) }
    }

    static func floorDivide(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    static func int(_ spec: [String: Any], _ key: String, _ fallback: Int = 0) -> Int {
        (spec[key] as? NSNumber)?.intValue ?? fallback
    }

    /// `refgen.numeric`: nil for a null.
    public static func numeric(_ spec: [String: Any]) -> [Double?] {
        var rng = Generator(seed: UInt64(int(spec, "seed")))
        let scale = pow(10, Double(int(spec, "decimals")))
        let nullEvery = int(spec, "null_every")
        return (0..<int(spec, "n")).map { i in
            let units: Int
            if let constant = (spec["constant"] as? NSNumber)?.intValue {
                units = constant
            } else {
                let sum = (0..<12).reduce(0) { total, _ in total + rng.below(1_000_000) } - 6_000_000
                units = int(spec, "mean") + floorDivide(sum * int(spec, "sd"), 1_000_000)
            }
            return nullEvery > 0 && i % nullEvery == 0 ? nil : Double(units) / scale
        }
    }

    /// `refgen.categorical`: nil for a null.
    public static func categorical(_ spec: [String: Any]) -> [String?] {
        var rng = Generator(seed: UInt64(int(spec, "seed")))
        let categories = spec["categories"] as? [String] ?? []
        let weights = (spec["weights"] as? [NSNumber])?.map(\.intValue) ?? []
        let total = weights.reduce(0, +)
        let nullEvery = int(spec, "null_every")
        return (0..<int(spec, "n")).map { i in
            var u = rng.below(total)
            var chosen = categories.last ?? ""
            for (category, weight) in zip(categories, weights) {
                if u < weight {
                    chosen = category
                    break
                }
                u -= weight
            }
            return nullEvery > 0 && i % nullEvery == 0 ? nil : chosen
        }
    }

    /// `refgen.identifiers`: id{offset}, id{offset+1}, …
    public static func identifiers(_ spec: [String: Any]) -> [String?] {
        (0..<int(spec, "n")).map { "id\(int(spec, "offset") + $0)" }
    }

    /// `refgen.classification`: class indices, each side's predicted index and per-class probabilities.
    public static func classification(_ spec: [String: Any]) -> (
        truth: [Int], predicted: [String: [Int]], probabilities: [String: [[Double]]]
    ) {
        var rng = Generator(seed: UInt64(int(spec, "seed")))
        let k = (spec["classes"] as? [Any])?.count ?? 2
        var truth: [Int] = []
        var predicted: [String: [Int]] = ["a": [], "b": []]
        var probabilities: [String: [[Double]]] = ["a": [], "b": []]
        for _ in 0..<int(spec, "n") {
            let label: Int
            if let share = (spec["positive_share"] as? NSNumber)?.intValue {
                label = rng.below(1000) < share ? 1 : 0
            } else {
                label = rng.below(k)
            }
            truth.append(label)
            for side in ["a", "b"] {
                var weights = (0..<k).map { _ in 1 + rng.below(1000) }
                weights[label] += int(spec, "separation_" + side)
                let total = weights.reduce(0, +)
                var thousandths = weights.map { $0 * 1000 / total }
                thousandths[label] += 1000 - thousandths.reduce(0, +)
                probabilities[side, default: []].append(thousandths.map { Double($0) / 1000 })
                let right = rng.below(1000) < int(spec, "accuracy_" + side)
                predicted[side, default: []].append(right ? label : (label + 1 + rng.below(k - 1)) % k)
            }
        }
        return (truth, predicted, probabilities)
    }
}

/// A JSON object committed as a reference fixture (`Fixtures/NAME.json` of the test target whose `bundle`
/// is given: `Bundle.module` there); empty when it is missing, which the tests that read it then fail on.
public func referenceFixture(_ name: String, in bundle: Bundle) -> [String: Any] {
    guard let url = bundle.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
        let data = try? Data(contentsOf: url),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    return object
}
