internal import CLibGit2
import Crypto
import Foundation
import GitOpsMLCore

/// A loose object inflated as it is read, by zlib directly: never whole in memory, and a truncated or
/// damaged file is an error. (libgit2 1.5's own inflater loops forever on a truncated loose object —
/// seen here with `git_blob_lookup` and with its read streams — so loose objects do not go through it.)
/// zlib's checksum, the size in the object's header and the object's id are checked: the SHA-1 of what was
/// read must be the id it was read by (as libgit2's strict verification does), so a file swapped in under
/// another object's name is an error at the end of the read, never content.
final class LooseObjectStream: ByteStream {
    private let file: FileStream
    private let subject: String
    private var zlib = z_stream()
    private var input: UnsafeMutableRawBufferPointer
    private var length = -1
    private var delivered = 0
    private var ended = false
    private var checked = false
    private let id: ObjectID
    private var hash = Insecure.SHA1()

    /// nil when the object is not a loose file of `objects` (it is packed, or in an alternate).
    init?(objects: String, id: ObjectID, subject: String) throws {
        let hex = id.hex
        guard let file = try FileStream(path: "\(objects)/\(hex.prefix(2))/\(hex.dropFirst(2))") else { return nil }
        self.file = file
        self.subject = subject
        self.id = id
        input = .allocate(byteCount: 1 << 16, alignment: 16)
        guard gml_inflate_init(&zlib) == Z_OK else {
            throw GitError(.other(-1), operation: "read blob", subject: subject, message: "zlib cannot start")
        }
        // The header, "blob <size>\0", before any content is handed out.
        var (header, byte): ([UInt8], UInt8) = ([], 0)
        while header.count < 32 {
            guard try withUnsafeMutableBytes(of: &byte, { try inflate(into: $0) }) == 1 else { break }
            if byte == 0 { break }
            header.append(byte)
        }
        let text = String(decoding: header, as: UTF8.self)
        guard byte == 0, text.hasPrefix("blob "), let size = Int(text.dropFirst(5)), size >= 0 else {
            throw corrupt(text.hasPrefix("blob ") ? "a damaged object header" : "not a blob")
        }
        length = size
        hash.update(data: header + [0])
    }

    deinit {
        inflateEnd(&zlib)
        input.deallocate()
    }

    var size: Int? { length }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = min(buffer.count, length - delivered)
        guard wanted > 0 else {
            // The content is all out: zlib must now reach the stream's end (and check its checksum).
            if !checked {
                if !ended {
                    var extra: UInt8 = 0
                    if try withUnsafeMutableBytes(of: &extra, { try inflate(into: $0) }) > 0 {
                        throw corrupt("longer than its header says")
                    }
                    if !ended { throw corrupt("the compressed stream is cut short") }
                }
                let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
                guard digest == id.hex else { throw corrupt("its content hashes to \(digest), not to its id") }
                checked = true
            }
            return 0
        }
        let got = try inflate(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]))
        if got == 0 { throw corrupt("it ends after \(delivered) of \(length) bytes") }
        hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<got]))
        delivered += got
        return got
    }

    /// Inflates into `output` until it is full, the stream ends or the file does; returns the bytes made.
    private func inflate(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !ended, let base = output.baseAddress else { return 0 }
        zlib.next_out = base.assumingMemoryBound(to: Bytef.self)
        zlib.avail_out = uInt(output.count)
        while zlib.avail_out > 0 {
            if zlib.avail_in == 0 {
                let got = try file.read(into: input)
                if got == 0 { break }  // the file ended before the stream did: reported by the caller
                zlib.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                zlib.avail_in = uInt(got)
            }
            let status = CLibGit2.inflate(&zlib, Z_NO_FLUSH)
            if status == Z_STREAM_END {
                ended = true
                break
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                throw corrupt(zlib.msg.map { String(cString: $0) } ?? "zlib error \(status)")
            }
        }
        return output.count - Int(zlib.avail_out)
    }

    private func corrupt(_ detail: String) -> GitError {
        GitError(.other(-1), operation: "read blob", subject: subject, message: "corrupt loose object: \(detail)")
    }
}

/// A blob read whole by libgit2 (a packed object), kept alive while its bytes are streamed.
final class BlobHandle {
    let blob: Owned<Git.Blob>
    private let repository: Repository

    init(_ blob: consuming Owned<Git.Blob>, repository: Repository) {
        self.blob = blob
        self.repository = repository
    }
}
