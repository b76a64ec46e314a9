/// Sorting of doubles in O(n): a least-significant-digit radix sort of their bits mapped to
/// order-preserving unsigned keys (negative numbers flipped, −0 as 0). NaN sorts last.
public enum RadixSort {
    /// The values, ascending.
    public static func sorted(_ values: [Double]) -> [Double] {
        // Already in order (a caller sorted it once for several statistics): `sortInPlace` leaves it
        // untouched, so the storage is shared, not copied.
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

    /// Sorts in place. Values that are all decimals with at most nine places (most data read from text)
    /// sort as the integers v·10ᵏ, offset by their minimum: a range of a few million takes two or three
    /// passes instead of six. Others sort by their bits mapped to order-preserving keys.
    public static func sortInPlace(_ values: inout [Double]) {
        let count = values.count
        guard count > 1, !isSorted(values) else { return }
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        defer { scratch.deallocate() }
        HugePages.advise(UnsafeMutableRawPointer(scratch), bytes: count * 8)
        // The keys take the doubles' own memory: one scratch buffer is all the sort adds.
        values.withUnsafeMutableBufferPointer { doubles in
            doubles.withMemoryRebound(to: UInt64.self) { keys in
                guard let base = keys.baseAddress else { return }
                if let decimal = decimalKeys(keys) {
                    let sorted = sortKeys(base, scratch: scratch, count: count, bits: decimal.bits)
                    for position in 0..<count {
                        keys[position] =
                            (Double(Int64(bitPattern: sorted[position]) &+ decimal.low) / decimal.scale)
                            .bitPattern
                    }
                    return
                }
                for position in 0..<count { keys[position] = key(Double(bitPattern: keys[position])) }
                let sorted = sortKeys(base, scratch: scratch, count: count, bits: 64)
                for position in 0..<count { keys[position] = value(sorted[position]).bitPattern }
            }
        }
    }

    static let decimalScales: [Double] = (0...9).map { places in (0..<places).reduce(1.0) { value, _ in value * 10 } }

    /// Turns the doubles (as bits, in place) into v·10ᵏ − min for the fewest places k (at most 9) that hold
    /// every value exactly, when their range needs at most 44 bits. Otherwise nil, the doubles as they were.
    static func decimalKeys(_ slots: UnsafeMutableBufferPointer<UInt64>) -> (scale: Double, low: Int64, bits: Int)? {
        @inline(__always) func exact(_ value: Double, _ scale: Double) -> Double? {
            let scaled = (value * scale).rounded()
            return abs(scaled) < 4.5e15 && scaled / scale == value ? scaled : nil
        }
        // The places from the first values, then checked on all of them.
        let sample = slots.prefix(256).map { Double(bitPattern: $0) }
        guard
            let scale = decimalScales.first(where: { scale in sample.allSatisfy { exact($0, scale) != nil } })
        else { return nil }
        var (low, high) = (Int64.max, Int64.min)
        for position in slots.indices {
            guard let scaled = exact(Double(bitPattern: slots[position]), scale) else {
                // Not decimal after all: the integers made so far go back to what they were (exactly).
                for done in 0..<position {
                    slots[done] = (Double(Int64(bitPattern: slots[done])) / scale).bitPattern
                }
                return nil
            }
            let integer = Int64(scaled)
            slots[position] = UInt64(bitPattern: integer)
            (low, high) = (Swift.min(low, integer), Swift.max(high, integer))
        }
        let bits = UInt64.bitWidth - UInt64(bitPattern: high &- low).leadingZeroBitCount
        for position in slots.indices {
            slots[position] = UInt64(bitPattern: Int64(bitPattern: slots[position]) &- low)
        }
        return (scale, low, bits)
    }

    /// LSD passes over the low `bits` of the keys; returns the buffer (keys or scratch) holding the result.
    static func sortKeys(
        _ keys: UnsafeMutablePointer<UInt64>, scratch: UnsafeMutablePointer<UInt64>, count: Int, bits: Int
    ) -> UnsafeMutablePointer<UInt64> {
        var (source, target) = (keys, scratch)
        sortPasses(count: count, bits: bits, keyAt: { keys[$0] }) { shift, offsets in
            for position in 0..<count {
                let digit = Int((source[position] >> shift) & mask)
                target[offsets[digit]] = source[position]
                offsets[digit] += 1
            }
            swap(&source, &target)
        }
        return source
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
            sortPasses(count: count, bits: 64, keyAt: { key(values[$0]) }) { shift, offsets in
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

    /// The least-significant-digit passes over the low `bits` of `count` keys: every pass's histogram in
    /// one read, then for each pass whose digit is not the same for all keys, `scatter(shift, offsets)`
    /// with each digit's first place (advanced by the scatter as it places keys).
    private static func sortPasses(
        count: Int, bits: Int, keyAt: (Int) -> UInt64,
        _ scatter: (UInt64, inout UnsafeMutableBufferPointer<Int>) -> Void
    ) {
        let passes = (bits + radixBits - 1) / radixBits
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

    /// The order-preserving unsigned key of a double (negatives flipped, −0 as 0; NaN above +∞).
    @inline(__always)
    public static func key(_ value: Double) -> UInt64 {
        let bits = (value == 0 ? 0 : value).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }

    @inline(__always)
    static func value(_ key: UInt64) -> Double {
        Double(bitPattern: key & (1 << 63) != 0 ? key & ~(1 << 63) : ~key)
    }
}
