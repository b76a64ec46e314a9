import Foundation
import Gates

/// The product's SplitMix64, seeded, with the draws test data needs: a failing seed replays. A
/// `RandomNumberGenerator`, so `Int.random(in:using:)` takes it.
public struct SeededRandom: RandomNumberGenerator {
    private var generator: SplitMix64
    public init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    public mutating func next() -> UInt64 { generator.next() }
    public mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / Double(1 << 53) }
    public mutating func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
}
