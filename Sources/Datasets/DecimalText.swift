import Foundation
import GitOpsMLCore

/// Decimal numbers read straight from the bytes of a data file: Clinger's exact fast path when the digits
/// fit in 2⁵³ and the power of ten is at most 10²² (one correctly rounded division), else strtod on a
/// small copy. Only decimal forms (strtod's "inf", "nan" and hex floats are refused) and finite values.
enum DecimalText {
    static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }
    static let integerPowersOfTen: [UInt64] = (0...8).map { UInt64(pow(10, Double($0))) }

    /// Decimal digits with at most one point from `start`: the mantissa (wrapping past 19 digits), the
    /// digit count, where the point came (-1: none) and where the digits end. Eight bytes at a time
    /// (SWAR) while a run of digits is shorter than eight and the buffer has eight bytes left.
    @inline(__always)
    static func digits(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, tens: [UInt64]) -> (
        mantissa: UInt64, digits: Int, point: Int, end: Int
    ) {
        let end = buffer.count
        var cursor = start
        var (mantissa, digits, point): (UInt64, Int, Int) = (0, 0, -1)
        if let base = UnsafeRawPointer(buffer.baseAddress) {
            while cursor + 8 <= end {
                let word = base.loadUnaligned(fromByteOffset: cursor, as: UInt64.self)
                // The first byte that is not a digit: each flag is exact up to it (carries and borrows
                // only move towards later bytes).
                let flags = ((word &+ 0x4646_4646_4646_4646) | (word &- 0x3030_3030_3030_3030)) & 0x8080_8080_8080_8080
                let run = flags.trailingZeroBitCount >> 3
                guard run < 8 else { break }
                mantissa = mantissa &* tens[run] &+ eightDigits((word &- 0x3030_3030_3030_3030) << (64 - 8 * run))
                digits += run
                cursor += run
                guard buffer[cursor] == UInt8(ascii: "."), point < 0 else { return (mantissa, digits, point, cursor) }
                point = digits
                cursor += 1
            }
        }
        while cursor < end {
            let digit = buffer[cursor] &- 0x30
            if digit < 10 {
                mantissa = mantissa &* 10 &+ UInt64(digit)
                digits += 1
            } else if buffer[cursor] == UInt8(ascii: ".") && point < 0 {
                point = digits
            } else {
                break
            }
            cursor += 1
        }
        return (mantissa, digits, point, cursor)
    }

    /// The value of eight digit values in bytes, the first in the lowest (fast_float's unrolled form).
    @inline(__always)
    static func eightDigits(_ word: UInt64) -> UInt64 {
        let pairs = word &* 10 &+ (word >> 8)
        return
            ((pairs & 0x0000_00FF_0000_00FF) &* 0x000F_4240_0000_0064
            &+ ((pairs >> 16) & 0x0000_00FF_0000_00FF) &* 0x0000_2710_0000_0001) >> 32
    }

    static func parse(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let count = end - start
        guard count > 0, count < 64 else { return nil }
        if let fast = fast(buffer, start, end) { return fast }
        guard DecimalGrammar.matches(buffer[start..<end]) else { return nil }  // strtod also reads hex
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
        let negative = buffer[index] == UInt8(ascii: "-")
        if negative || buffer[index] == UInt8(ascii: "+") { index += 1 }
        let field = UnsafeBufferPointer(rebasing: buffer[..<end])
        let scanned = digits(field, from: index, tens: integerPowersOfTen)
        guard scanned.end == end, let value = value(scanned, powers: powersOfTen) else { return nil }
        return negative ? -value : value
    }

    /// Clinger's fast path: exact when the digits fit in 2⁵³ and the power of ten is at most 10²²
    /// (one correctly rounded division); nil otherwise.
    @inline(__always)
    static func value(_ scanned: (mantissa: UInt64, digits: Int, point: Int, end: Int), powers: [Double]) -> Double? {
        let fraction = scanned.point < 0 ? 0 : scanned.digits - scanned.point
        guard scanned.digits > 0, scanned.digits <= 19, scanned.mantissa < (1 << 53), fraction <= 22 else {
            return nil
        }
        return Double(scanned.mantissa) / powers[fraction]
    }
}
