/// Sorting of doubles in O(n): a least-significant-digit radix sort of their bits mapped to
/// order-preserving unsigned keys (negative numbers flipped, −0 as 0). NaN sorts last.
public enum RadixSort {
    /// The values, ascending.
    public static func sorted(_ values: [Double]) -> [Double] {
        // Already in order (a caller sorted it once for several statistics): shared, not copied.
        if isSorted(values) { return values }
        var result = values
        sortInPlace(&result)
        return result
    }

    /// Ascending, with no NaN (NaN sorts last, so a NaN anywhere but the end means "not sorted").
    static func isSorted(_ values: [Double]) -> Bool {
        values.withUnsafeBufferPointer { buffer in
            guard buffer.count > 1 else { return !(buffer.first?.isNaN ?? false) }
            for index in 1..<buffer.count where !(buffer[index - 1] <= buffer[index]) { return false }
            return true
        }
    }

    /// Sorts in place with one scratch buffer: the doubles become their keys where they are, are sorted
    /// between that memory and the scratch, and become doubles again.
    public static func sortInPlace(_ values: inout [Double]) {
        let count = values.count
        guard count > 1 else { return }
        var scratch = [UInt64](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { doubles in
            doubles.withMemoryRebound(to: UInt64.self) { keys in
                for position in 0..<count { keys[position] = key(Double(bitPattern: keys[position])) }
                scratch.withUnsafeMutableBufferPointer { other in
                    var source = keys
                    var target = other
                    sortPasses(count: count, keyAt: { keys[$0] }) { shift, offsets in
                        for position in 0..<count {
                            let digit = Int((source[position] >> shift) & mask)
                            target[offsets[digit]] = source[position]
                            offsets[digit] += 1
                        }
                        swap(&source, &target)
                    }
                    // The sorted keys are in `source`: back to doubles, in `values`' memory.
                    for position in 0..<count { keys[position] = value(source[position]).bitPattern }
                }
            }
        }
    }

    /// The indices that order the values (ties in index order, as a stable sort).
    public static func sortedIndices(_ values: [Double]) -> [Int] {
        let count = values.count
        var keys = values.map(key)
        var order = Array(0..<count)
        guard count > 1 else { return order }
        var nextKeys = [UInt64](repeating: 0, count: count)
        var nextOrder = [Int](repeating: 0, count: count)
        values.withUnsafeBufferPointer { values in
            sortPasses(count: count, keyAt: { key(values[$0]) }) { shift, offsets in
                keys.withUnsafeBufferPointer { keys in
                    nextKeys.withUnsafeMutableBufferPointer { nextKeys in
                        order.withUnsafeBufferPointer { order in
                            nextOrder.withUnsafeMutableBufferPointer { nextOrder in
                                for position in 0..<count {
                                    let digit = Int((keys[position] >> shift) & mask)
                                    let target = offsets[digit]
                                    offsets[digit] = target + 1
                                    nextKeys[target] = keys[position]
                                    nextOrder[target] = order[position]
                                }
                            }
                        }
                    }
                }
                swap(&keys, &nextKeys)
                swap(&order, &nextOrder)
            }
        }
        return order
    }

    static let radixBits = 11
    static let buckets = 1 << radixBits
    static let mask = UInt64(buckets - 1)
    static let passes = (64 + radixBits - 1) / radixBits

    /// The least-significant-digit passes over `count` keys: every pass's histogram in one read, then for
    /// each pass whose digit is not the same for all keys, `scatter(shift, offsets)` with each digit's
    /// first place (advanced by the scatter as it places keys).
    private static func sortPasses(
        count: Int, keyAt: (Int) -> UInt64, _ scatter: (UInt64, inout UnsafeMutableBufferPointer<Int>) -> Void
    ) {
        var histograms = [Int](repeating: 0, count: passes * buckets)
        histograms.withUnsafeMutableBufferPointer { histograms in
            for position in 0..<count {
                let key = keyAt(position)
                for pass in 0..<passes {
                    histograms[pass * buckets + Int((key >> UInt64(pass * radixBits)) & mask)] += 1
                }
            }
        }
        var offsets = [Int](repeating: 0, count: buckets)
        for pass in 0..<passes {
            let base = pass * buckets
            if histograms[base..<(base + buckets)].contains(count) { continue }  // nothing moves
            var running = 0
            for bucket in 0..<buckets {
                offsets[bucket] = running
                running += histograms[base + bucket]
            }
            offsets.withUnsafeMutableBufferPointer { offsets in scatter(UInt64(pass * radixBits), &offsets) }
        }
    }

    @inline(__always)
    static func key(_ value: Double) -> UInt64 {
        let bits = (value == 0 ? 0 : value).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    @inline(__always)
    static func value(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }
}
