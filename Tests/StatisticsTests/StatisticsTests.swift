import Foundation
import Testing

@testable import Statistics

@Suite("Statistics: radix sort, parallel map")
struct StatisticsTests {
    @Test func radixSortMatchesTheStandardSort() {
        var state: UInt64 = 5
        func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(Int64(bitPattern: state) >> 11) / 1e9
        }
        var values: [Double] = []
        for index in 0..<50_000 {
            if index % 7 == 0 {
                values.append(Double(index % 5))
            } else if index % 11 == 0 {
                values.append(-0.0)
            } else {
                values.append(next())
            }
        }
        values += [-Double.infinity, Double.infinity, 0, -1e-300, 1e300]
        let standard: [Double] = values.sorted()
        #expect(RadixSort.sorted(values) == standard)
        let order = RadixSort.sortedIndices(values)
        let expected: [Int] = values.indices.sorted { (a: Int, b: Int) -> Bool in
            values[a] != values[b] ? values[a] < values[b] : a < b
        }
        #expect(order == expected)

        // Decimal data sorts as scaled integers: six places with negatives and zeros, whole numbers, and a
        // value with more places far from the start (found by the full check, not the sample: bit sort).
        let decimals = (0..<50_000).map { _ in Double(Int(next() * 1e6) % 9_000_000) / 1e6 } + [-0.0, 0, -4.5]
        var longer = decimals
        longer[40_000] = 0.1234567891234
        for case let sample in [decimals, decimals.map { ($0 * 1e3).rounded() }, longer] {
            var sorted = sample
            RadixSort.sortInPlace(&sorted)
            #expect(sorted == sample.sorted())
        }
    }

    @Test func parallelMapKeepsIndexOrderAndThrowsTheFirstErrorByIndex() {
        for count in [0, 1, 2, 7, 1000, 100_003] {
            #expect(Parallel.map(count) { $0 * 3 } == (0..<count).map { $0 * 3 })
        }
        struct Failed: Error, Equatable { let index: Int }
        // Items 5, 500 and 90,000 fail; whichever worker finishes first, the error reported is item 5's.
        for _ in 0..<20 {
            #expect(throws: Failed(index: 5)) {
                _ = try Parallel.map(100_000) { (index: Int) throws(Failed) -> Int in
                    if [5, 500, 90_000].contains(index) { throw Failed(index: index) }
                    return index
                }
            }
        }
    }
}
