import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing a report or a generated file. A regular file (or an absent one) is replaced atomically: a
/// temporary file beside it, flushed to disk, renamed over it, so a reader never sees half of it and a
/// failure leaves the old one. Anything else the user names — `-`, a symlink, a FIFO, a device such as
/// /dev/stdout — is written through, never replaced by a regular file. Callers check every target with
/// `check` before they write any, so that a bad one stops the command before it changed anything.
public enum OutputFile {
    public enum Kind: Sendable, Equatable {
        case absent, regular
        /// `-`, a symlink, a FIFO or a device: opened and written, not replaced.
        case through
    }

    /// What `path` is, and that it can be written: not a folder, and, with `root`, a symlink that stays
    /// inside `root` (a committed link must not redirect a generated file out of the repository).
    public static func check(_ path: String, within root: String? = nil) throws -> Kind {
        if path == "-" { return .through }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw failure(path, errno) }
            return .absent
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: throw GitOpsMLError.environment("cannot write \(path): it is a folder")
        case S_IFLNK:
            if let root {
                let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
                let base = URL(fileURLWithPath: root).resolvingSymlinksInPath().path
                guard resolved == base || resolved.hasPrefix(base + "/") else {
                    throw GitOpsMLError.environment(
                        "refusing to write \(path): it is a symlink to \(resolved), outside \(root)")
                }
            }
            return .through
        default: return .through
        }
    }

    /// Writes `bytes` to `path` as `kind` says (see `check`).
    public static func write(_ bytes: [UInt8], to path: String, kind: Kind) throws {
        switch kind {
        case .through:
            let descriptor = path == "-" ? dup(STDOUT_FILENO) : open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard descriptor >= 0 else { throw failure(path, errno) }
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, path: path)
        case .absent, .regular:
            try replace(path, mode: kind == .regular ? existingMode(path) : 0o644) { write in try write(bytes) }
        }
    }

    /// Replaces `path` atomically with what `produce` passes to its `write` (in chunks, so a large file
    /// need not be held whole): a temporary file beside it, flushed, renamed over it, the folder flushed.
    /// When `produce` throws, the temporary file is removed and `path` is as it was.
    public static func replace(
        _ path: String, mode: mode_t = 0o644, _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void
    ) throws {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw GitOpsMLError.environment("cannot create \(folder): \(error.localizedDescription)")
            }
        }
        var template = Array(((folder.isEmpty ? "." : folder) + "/.gitops-ml-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard descriptor >= 0 else { throw failure(path, errno) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var isOpen = true
        do {
            try produce { chunk in try writeAll(chunk, to: descriptor, path: path) }
            fchmod(descriptor, mode)
            guard fsync(descriptor) == 0 else { throw failure(path, errno) }
            close(descriptor)
            isOpen = false
            guard rename(temporary, path) == 0 else { throw failure(path, errno) }
            // The rename itself survives a power cut only once the folder is flushed too.
            let directory = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if directory >= 0 {
                fsync(directory)
                close(directory)
            }
        } catch {
            if isOpen { close(descriptor) }  // never twice: the number may already be another file's
            unlink(temporary)
            throw error
        }
    }

    static func existingMode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o644
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32, path: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { throw failure(path, errno) }
                offset += count
            }
        }
    }

    static func failure(_ path: String, _ code: Int32) -> GitOpsMLError {
        .environment("cannot write \(path): \(String(cString: strerror(code == 0 ? EIO : code)))")
    }
}
