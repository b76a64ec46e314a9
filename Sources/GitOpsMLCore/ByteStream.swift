import Foundation

/// Bytes read front to back in pieces, so that a large file never has to be in memory whole: a file, a
/// git object inflated as it is read, or bytes already in memory.
public protocol ByteStream: AnyObject {
    /// Fills the front of `buffer`; returns how many bytes it wrote, 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// The total number of bytes, when known before reading (to size what is built from them).
    var size: Int? { get }
}

extension ByteStream {
    /// Reads until `buffer` is full or the stream ends; returns the bytes written.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// Everything left in the stream, in one array (sized by `size` when the stream knows it).
    public func readAll() throws -> [UInt8] {
        var bytes: [UInt8] = []
        if let size, size > 0 {
            bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = try fill(UnsafeMutableRawBufferPointer(buffer))
            }
        }
        // Then to the end (which also lets a verifying stream check what it read).
        var chunk = [UInt8](repeating: 0, count: 1 << 14)
        while true {
            let got = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if got == 0 { return bytes }
            bytes += chunk[..<got]
        }
    }
}

/// Bytes already in memory: an array, or a foreign buffer kept valid by its `owner`.
public final class MemoryStream: ByteStream {
    private enum Storage {
        case array([UInt8])
        case buffer(UnsafeRawBufferPointer, owner: AnyObject)
    }
    private let storage: Storage
    private var offset = 0

    public init(_ array: [UInt8]) { storage = .array(array) }

    public var size: Int? {
        switch storage {
        case .array(let array): return array.count
        case .buffer(let bytes, _): return bytes.count
        }
    }

    public init(_ buffer: UnsafeRawBufferPointer, owner: AnyObject) { storage = .buffer(buffer, owner: owner) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        func copy(_ bytes: UnsafeRawBufferPointer) -> Int {
            let count = min(buffer.count, bytes.count - offset)
            guard count > 0 else { return 0 }
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            offset += count
            return count
        }
        switch storage {
        case .array(let array): return array.withUnsafeBytes(copy)
        case .buffer(let bytes, _): return copy(bytes)
        }
    }
}

/// A file read with read(2); the descriptor is closed with the stream.
public final class FileStream: ByteStream {
    public let path: String
    private let descriptor: Int32

    /// nil when there is no such file; throws when it exists but cannot be opened.
    public init?(path: String) throws {
        self.path = path
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw GitOpsMLError.environment("\(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(descriptor) }

    public var size: Int? {
        var info = stat()
        return fstat(descriptor, &info) == 0 ? Int(info.st_size) : nil
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let got = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if got >= 0 { return got }
            if errno != EINTR { throw GitOpsMLError.environment("\(path): \(String(cString: strerror(errno)))") }
        }
    }
}

extension FileStream {
    /// A file that must exist: its absence is an error too.
    public static func existing(_ path: String) throws -> FileStream {
        guard let stream = try FileStream(path: path) else {
            throw GitOpsMLError.environment("\(path): \(String(cString: strerror(ENOENT)))")
        }
        return stream
    }
}

/// Bytes already taken from a stream (to look at them), then the rest of that stream.
public final class PrefixedStream: ByteStream {
    private let prefix: MemoryStream
    private let rest: ByteStream
    private var inPrefix = true

    public init(_ prefix: [UInt8], then rest: ByteStream) {
        self.prefix = MemoryStream(prefix)
        self.rest = rest
    }

    /// The whole content, the prefix included (it was taken from `rest`).
    public var size: Int? { rest.size }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if inPrefix {
            let got = try prefix.read(into: buffer)
            if got > 0 { return got }
            inPrefix = false
        }
        return try rest.read(into: buffer)
    }
}
