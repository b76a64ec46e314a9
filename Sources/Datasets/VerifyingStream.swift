import Crypto
import GitOpsMLCore

/// A pointer's object read through: its digest and size are computed as it is read and checked when the
/// stream ends, so a corrupt object is an error even though it is never in memory whole.
final class VerifyingStream: ByteStream {
    enum Digest {
        case sha256(String)
        /// DVC's md5; `legacy` (DVC 2): of text files with CRLF turned into LF, when the bytes' md5 differs.
        case md5(String, legacy: Bool)
    }

    private let stream: ByteStream
    private let digest: Digest
    private let expectedSize: Int?
    private let corrupt: String
    private let sizeDiffers: (Int) -> String
    private var sha256 = SHA256()
    private var md5 = Insecure.MD5()
    /// DVC 2's dos2unix md5, and a CR held back until the next byte shows whether an LF follows.
    private var dos2unix = Insecure.MD5()
    private var heldCR = false
    private var firstBytes: [UInt8] = []
    private var count = 0
    private var checked = false

    init(
        _ stream: ByteStream, digest: Digest, size: Int?, corrupt: String, sizeDiffers: @escaping (Int) -> String
    ) {
        self.stream = stream
        self.digest = digest
        expectedSize = size
        self.corrupt = corrupt
        self.sizeDiffers = sizeDiffers
    }

    var size: Int? { stream.size }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let got = try stream.read(into: buffer)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<got])
        count += got
        switch digest {
        case .sha256: sha256.update(bufferPointer: bytes)
        case .md5(_, let legacy):
            md5.update(bufferPointer: bytes)
            if legacy && got > 0 { convert(bytes) }
        }
        if got == 0 && !checked {
            checked = true
            try check()
        }
        return got
    }

    private func convert(_ bytes: UnsafeRawBufferPointer) {
        if firstBytes.count < 512 { firstBytes += bytes.prefix(512 - firstBytes.count) }
        var converted: [UInt8] = []
        converted.reserveCapacity(bytes.count + 1)
        for byte in bytes {
            if heldCR && byte != 0x0A { converted.append(0x0D) }
            heldCR = byte == 0x0D
            if !heldCR { converted.append(byte) }
        }
        dos2unix.update(data: converted)
    }

    private func check() throws {
        let matches: Bool
        switch digest {
        case .sha256(let expected): matches = Hex.string(sha256.finalize()) == expected
        case .md5(let expected, let legacy):
            if Hex.string(md5.finalize()) == expected {
                matches = true
            } else if legacy && DVCPointer.isText(firstBytes) {
                if heldCR { dos2unix.update(data: [0x0D]) }
                matches = Hex.string(dos2unix.finalize()) == expected
            } else {
                matches = false
            }
        }
        guard matches else { throw GitOpsMLError.environment(corrupt) }
        if let expectedSize, expectedSize != count { throw GitOpsMLError.environment(sizeDiffers(count)) }
    }
}
