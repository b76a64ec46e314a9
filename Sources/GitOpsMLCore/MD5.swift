import Foundation

/// MD5 (RFC 1321): DVC names its cache objects by it. Not for security.
public struct MD5: Sendable, BlockHash {
    private var state: (UInt32, UInt32, UInt32, UInt32) = (0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476)
    var buffer: [UInt8] = []
    var length: UInt64 = 0

    private static let shifts: [UInt32] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
        20,
        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10,
        15, 21,
    ]
    private static let constants: [UInt32] = (0..<64).map {
        UInt32(truncatingIfNeeded: Int64(abs(sin(Double($0 + 1))) * 4_294_967_296))
    }

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) { absorb(bytes) }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { absorb($0) } }

    public mutating func finalize() -> [UInt8] { pad() }

    static var lengthIsBigEndian: Bool { false }

    var digestBytes: [UInt8] {
        [state.0, state.1, state.2, state.3].flatMap { word in
            (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * UInt32($0))) }
        }
    }

    mutating func compress(_ block: UnsafeRawBufferPointer) {
        // The words read in place and the tables as plain pointers: no allocation or check a block; one
        // loop a round, so that each round's function is fixed.
        let start = state
        let (a, b, c, d) = MD5.constants.withUnsafeBufferPointer { k in
            MD5.shifts.withUnsafeBufferPointer { s in
                var (a, b, c, d) = start
                @inline(__always) func word(_ g: Int) -> UInt32 {
                    UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4 * g, as: UInt32.self))
                }
                for i in 0..<16 { MD5.step(&a, &b, &c, &d, (b & c) | (~b & d), k[i] &+ word(i), s[i]) }
                for i in 16..<32 { MD5.step(&a, &b, &c, &d, (d & b) | (~d & c), k[i] &+ word((5 * i + 1) & 15), s[i]) }
                for i in 32..<48 { MD5.step(&a, &b, &c, &d, b ^ c ^ d, k[i] &+ word((3 * i + 5) & 15), s[i]) }
                for i in 48..<64 { MD5.step(&a, &b, &c, &d, c ^ (b | ~d), k[i] &+ word((7 * i) & 15), s[i]) }
                return (a, b, c, d)
            }
        }
        state = (start.0 &+ a, start.1 &+ b, start.2 &+ c, start.3 &+ d)
    }

    @inline(__always)
    private static func step(
        _ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32, _ mixed: UInt32,
        _ constantAndWord: UInt32, _ shift: UInt32
    ) {
        let f = mixed &+ a &+ constantAndWord
        (a, d, c) = (d, c, b)
        b = b &+ ((f << shift) | (f >> (32 - shift)))
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var hasher = MD5()
        hasher.update(bytes)
        return Hex.string(hasher.finalize())
    }

    public static func hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { hex($0) } }
}

/// Lowercase hexadecimal text of bytes.
public enum Hex {
    public static func string(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }

    /// The bytes of an even number of hex digits in either case; nil for anything else.
    public static func bytes<Digits: StringProtocol>(_ text: Digits) -> [UInt8]? {
        func value(_ digit: UInt8) -> UInt8? {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = value(digits[index]), let low = value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
