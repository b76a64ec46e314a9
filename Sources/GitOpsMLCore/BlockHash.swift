/// The part that MD5 and SHA-256 share: 64-byte blocks fed to a compression function, and the final
/// padding (0x80, zeros, the bit length in 8 bytes — little-endian for MD5, big-endian for SHA-256).
protocol BlockHash {
    var buffer: [UInt8] { get set }
    var length: UInt64 { get set }
    static var lengthIsBigEndian: Bool { get }
    mutating func compress(_ block: UnsafeRawBufferPointer)
    /// The state words, in the digest's byte order.
    var digestBytes: [UInt8] { get }
}

extension BlockHash {
    mutating func absorb(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !buffer.isEmpty {
            let take = min(64 - buffer.count, bytes.count)
            buffer.append(contentsOf: bytes[0..<take])
            offset = take
            guard buffer.count == 64 else { return }
            let block = buffer
            block.withUnsafeBytes { compress($0) }
            buffer.removeAll(keepingCapacity: true)
        }
        while bytes.count - offset >= 64 {
            compress(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + 64)]))
            offset += 64
        }
        buffer.append(contentsOf: bytes[offset...])
    }

    mutating func pad() -> [UInt8] {
        let bitLength = length &* 8
        var padding: [UInt8] = [0x80]
        while (buffer.count + padding.count) % 64 != 56 { padding.append(0) }
        let shifts =
            Self.lengthIsBigEndian
            ? Array(stride(from: 56, through: 0, by: -8)) : Array(stride(from: 0, through: 56, by: 8))
        for shift in shifts { padding.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        padding.withUnsafeBytes { absorb($0) }
        return digestBytes
    }
}
