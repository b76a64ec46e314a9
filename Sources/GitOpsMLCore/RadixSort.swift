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
        let radixBits = 11
        let buckets = 1 << radixBits
        let mask = UInt64(buckets - 1)
        let passes = (64 + radixBits - 1) / radixBits
        values.withUnsafeMutableBufferPointer { doubles in
            doubles.withMemoryRebound(to: UInt64.self) { keys in
                scratch.withUnsafeMutableBufferPointer { other in
                    var histograms = [Int](repeating: 0, count: passes * buckets)
                    histograms.withUnsafeMutableBufferPointer { histograms in
                        for position in 0..<count {
                            let converted = key(Double(bitPattern: keys[position]))
                            keys[position] = converted
                            for pass in 0..<passes {
                                histograms[pass * buckets + Int((converted >> UInt64(pass * radixBits)) & mask)] += 1
                            }
                        }
                        var source = keys
                        var target = other
                        var offsets = [Int](repeating: 0, count: buckets)
                        for pass in 0..<passes {
                            let base = pass * buckets
                            if histograms[base..<(base + buckets)].contains(count) { continue }
                            var running = 0
                            for bucket in 0..<buckets {
                                offsets[bucket] = running
                                running += histograms[base + bucket]
                            }
                            let shift = UInt64(pass * radixBits)
                            offsets.withUnsafeMutableBufferPointer { offsets in
                                for position in 0..<count {
                                    let digit = Int((source[position] >> shift) & mask)
                                    target[offsets[digit]] = source[position]
                                    offsets[digit] += 1
                                }
                            }
                            swap(&source, &target)
                        }
                        // The sorted keys are in `source`: back to doubles, in `values`' memory.
                        for position in 0..<count { keys[position] = value(source[position]).bitPattern }
                    }
                }
            }
        }
    }

    /// The indices that order the values (ties in index order, as a stable sort).
    public static func sortedIndices(_ values: [Double]) -> [Int] {
        order(values, withIndices: true).indices
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

    static func order(_ values: [Double], withIndices: Bool) -> (keys: [UInt64], indices: [Int]) {
        let count = values.count
        var keys = values.map(key)
        var order = withIndices ? Array(0..<count) : []
        guard count > 1 else { return (keys, order) }
        var nextKeys = [UInt64](repeating: 0, count: count)
        var nextOrder = [Int](repeating: 0, count: withIndices ? count : 0)
        let radixBits = 11
        let buckets = 1 << radixBits
        let mask = UInt64(buckets - 1)
        let passes = (64 + radixBits - 1) / radixBits
        // Every pass's histogram in one read of the keys.
        var histograms = [Int](repeating: 0, count: passes * buckets)
        keys.withUnsafeBufferPointer { keys in
            histograms.withUnsafeMutableBufferPointer { histograms in
                for key in keys {
                    for pass in 0..<passes {
                        histograms[pass * buckets + Int((key >> UInt64(pass * radixBits)) & mask)] += 1
                    }
                }
            }
        }
        for pass in 0..<passes {
            let base = pass * buckets
            // Every key has the same digit here: nothing moves.
            if histograms[base..<(base + buckets)].contains(count) { continue }
            // Exclusive prefix sums: where each digit's run starts.
            var offsets = [Int](repeating: 0, count: buckets)
            var running = 0
            for bucket in 0..<buckets {
                offsets[bucket] = running
                running += histograms[base + bucket]
            }
            let digitShift = UInt64(pass * radixBits)
            keys.withUnsafeBufferPointer { keys in
                nextKeys.withUnsafeMutableBufferPointer { nextKeys in
                    order.withUnsafeBufferPointer { order in
                        nextOrder.withUnsafeMutableBufferPointer { nextOrder in
                            offsets.withUnsafeMutableBufferPointer { offsets in
                                for position in 0..<count {
                                    let digit = Int((keys[position] >> digitShift) & mask)
                                    let target = offsets[digit]
                                    offsets[digit] = target + 1
                                    nextKeys[target] = keys[position]
                                    if withIndices { nextOrder[target] = order[position] }
                                }
                            }
                        }
                    }
                }
            }
            swap(&keys, &nextKeys)
            if withIndices { swap(&order, &nextOrder) }
        }
        return (keys, order)
    }
}
