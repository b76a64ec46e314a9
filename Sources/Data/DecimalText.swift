import Foundation

/// Decimal numbers read straight from the bytes of a data file: Clinger's exact fast path when the digits
/// fit in 2⁵³ and the power of ten is at most 10²² (one correctly rounded division), else strtod on a
/// small copy. Only decimal forms (strtod's "inf", "nan" and hex floats are refused) and finite values.
enum DecimalText {
    static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let count = end - start
        guard count > 0, count < 64 else { return nil }
        if let fast = fast(buffer, start, end) { return fast }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { copy -> Double? in
            for offset in 0..<count { copy[offset] = CChar(bitPattern: buffer[start + offset]) }
            copy[count] = 0
            guard let base = copy.baseAddress else { return nil }
            var endPointer: UnsafeMutablePointer<CChar>?
            let value = strtod(base, &endPointer)
            guard let endPointer, endPointer - base == count else { return nil }
            let first = UInt8(bitPattern: base[0])
            let decimal = (0x30...0x39).contains(first) || first == 0x2D || first == 0x2B || first == 0x2E
            return decimal && value.isFinite ? value : nil
        }
    }

    /// The fast path alone; nil when it does not apply (exponents, long mantissas, anything not a decimal).
    @inline(__always)
    static func fast(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var index = start
        var negative = false
        if buffer[index] == UInt8(ascii: "-") || buffer[index] == UInt8(ascii: "+") {
            negative = buffer[index] == UInt8(ascii: "-")
            index += 1
        }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenPoint = false
        while index < end {
            let byte = buffer[index]
            if byte >= 0x30 && byte <= 0x39 {
                digits += 1
                guard digits <= 19 else { return nil }  // UInt64 cannot overflow below 20 digits
                mantissa = mantissa &* 10 &+ UInt64(byte - 0x30)
                if seenPoint { fraction += 1 }
            } else if byte == UInt8(ascii: ".") && !seenPoint {
                seenPoint = true
            } else {
                return nil
            }
            index += 1
        }
        guard digits > 0, mantissa < (1 << 53), fraction <= 22 else { return nil }
        let value = Double(mantissa) / powersOfTen[fraction]
        return negative ? -value : value
    }
}
