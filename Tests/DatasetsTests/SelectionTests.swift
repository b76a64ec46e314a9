import GitOpsMLCore
import TestSupport
import Testing

@testable import Datasets

/// The fast paths of the expectations agree with the plain definitions.
@Suite struct SelectionTests {
    @Test func quantilesBySelectionEqualSortedQuantiles() {
        var generator = SeededRandom(seed: 11)  // seeded: a failure reproduces
        for size in [1, 2, 3, 10, 101, 1000, 4096, 200_000] {
            for duplicates in [false, true] {
                let values = (0..<size).map { _ in
                    duplicates
                        ? Double(Int.random(in: 0..<7, using: &generator))
                        : Double.random(in: -5...5, using: &generator)
                }
                let qs = [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1]
                let sorted = values.sorted()
                let expected = qs.map { DriftStatistics.quantile(sorted, $0) }
                #expect(DriftStatistics.quantiles(of: values, qs) == expected, "n = \(size)")
                // Nulls (NaN) are left out; a narrow range still splits into buckets.
                #expect(DriftStatistics.quantiles(of: values + [.nan, .nan], qs) == expected, "n = \(size)")
                let narrow = values.map { 1000 + $0 / 1e9 }
                #expect(
                    DriftStatistics.quantiles(of: narrow, qs)
                        == qs.map { DriftStatistics.quantile(narrow.sorted(), $0) })
            }
        }
        #expect(DriftStatistics.quantiles(of: [], [0.5])[0].isNaN)
    }

    @Test func repeatedIntegersMatchesCounting() {
        let values: [Double] = [3, 7, .nan, 3, -2, 9, 7, 1e6]
        #expect(Expectations.repeatedIntegers(values) == [true, true, false, true, false, false, true, false])
        #expect(Expectations.repeatedIntegers([3, 7, .nan, -2]) == [], "nothing repeats")
        #expect(Expectations.repeatedIntegers([1.5, 2]) == nil, "not whole numbers")
        #expect(Expectations.repeatedIntegers([0, 1e9]) == nil, "too wide a range")
    }
}
