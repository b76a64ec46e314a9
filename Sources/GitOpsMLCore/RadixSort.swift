/// Sorting of doubles in O(n): a least-significant-digit radix sort of their bits mapped to
/// order-preserving unsigned keys (negative numbers flipped, −0 as 0). NaN sorts last.
public enum RadixSort {
    /// The values, ascending.
    public static func sorted(_ values: [Double]) -> [Double] {
        order(values, withIndices: false).keys.map(value)
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
        var shift = 0
        while shift < 64 {
            var histogram = [Int](repeating: 0, count: buckets + 1)
            let digitShift = UInt64(shift)
            for key in keys { histogram[Int((key >> digitShift) & UInt64(buckets - 1)) + 1] += 1 }
            if histogram[1...].contains(count) {  // every key has the same digit here: nothing moves
                shift += radixBits
                continue
            }
            for bucket in 0..<buckets { histogram[bucket + 1] += histogram[bucket] }
            keys.withUnsafeBufferPointer { keys in
                nextKeys.withUnsafeMutableBufferPointer { nextKeys in
                    order.withUnsafeBufferPointer { order in
                        nextOrder.withUnsafeMutableBufferPointer { nextOrder in
                            histogram.withUnsafeMutableBufferPointer { histogram in
                                for position in 0..<count {
                                    let digit = Int((keys[position] >> digitShift) & UInt64(buckets - 1))
                                    let target = histogram[digit]
                                    histogram[digit] = target + 1
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
            shift += radixBits
        }
        return (keys, order)
    }
}
