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

    /// How the temporary files beside their targets begin (`.gitops-ml-` and six random characters); one
    /// left by a process killed before its rename is no one's.
    public static let temporaryPrefix = ".gitops-ml-"

    /// What `path` is, and that it can be written: not a folder, and, with `root`, a path inside `root`
    /// that stays among its files — neither the file nor a folder on the way may be a link leading out or
    /// into `.git` (a
    /// committed link must not redirect a report or a generated file out of the repository). A path the
    /// user names outside `root` (`/dev/stdout`, `$RUNNER_TEMP/report.json`) is theirs to name.
    public static func check(_ path: String, within root: String? = nil) throws -> Kind {
        if path == "-" { return .through }
        if let root {
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            let lexical = normalize(absolute)
            let base = normalize(root)
            let resolvedBase = resolve(base)
            if lexical.hasPrefix(base + "/") || lexical.hasPrefix(resolvedBase + "/") {
                let resolved = resolve(lexical)
                let gitFolder = resolvedBase + "/.git"
                guard resolved.hasPrefix(resolvedBase + "/"), resolved != gitFolder,
                    !resolved.hasPrefix(gitFolder + "/")
                else {
                    throw GitOpsMLError.environment(
                        "refusing to write \(path): it leads through a link to \(resolved), outside the files of \(root)"
                    )
                }
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            guard errno == ENOENT else { throw failure(path, errno) }
            return .absent
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: throw GitOpsMLError.environment("cannot write \(path): it is a folder")
        default: return .through
        }
    }

    /// Where writing `path` (absolute, standardized) would land: every link on the way followed, the
    /// last one too even when what it names does not exist yet (a dangling link is written through).
    static func resolve(_ path: String, depth: Int = 0) -> String {
        guard depth < 40, path != "/" else { return path }
        let parent = resolve((path as NSString).deletingLastPathComponent, depth: depth + 1)
        let here = (parent == "/" ? "" : parent) + "/" + (path as NSString).lastPathComponent
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(here, &buffer, Int(PATH_MAX))
        guard count > 0 else { return here }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let joined = target.hasPrefix("/") ? target : (parent == "/" ? "" : parent) + "/" + target
        return resolve(normalize(joined), depth: depth + 1)
    }

    /// `path` without `.`, `..` and repeated slashes, read as text: no link is followed (Foundation's
    /// `standardizingPath` follows them).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Writes each output, all or none of those that are replaced: every regular (or absent) target is
    /// written to a temporary file beside it and flushed first, and only when all of them are is each
    /// renamed over its target; a failure before that leaves every file as it was. Targets written through
    /// (`-`, a FIFO, a device) are written between the two, so that their failure leaves the files too.
    public static func writeAll(_ outputs: [(path: String, bytes: [UInt8], kind: Kind)]) throws {
        var staged: [Staged] = []
        do {
            for output in outputs where output.kind != .through {
                staged.append(
                    try stage(output.path, mode: output.kind == .regular ? existingMode(output.path) : 0o644) {
                        write in try write(output.bytes)
                    })
            }
        } catch {
            staged.forEach { unlink($0.temporary) }
            throw error
        }
        var committed = 0
        do {
            for output in outputs where output.kind == .through {
                try write(output.bytes, to: output.path, kind: .through)
            }
            for file in staged {
                try commit(file)
                committed += 1
            }
        } catch {
            staged.dropFirst(committed).forEach { unlink($0.temporary) }
            throw error
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
        let staged = try stage(path, mode: mode, produce)
        do {
            try commit(staged)
        } catch {
            unlink(staged.temporary)
            throw error
        }
    }

    /// A flushed temporary file waiting to be renamed over `path`.
    struct Staged {
        var path: String
        var temporary: String
        var folder: String
    }

    static func stage(
        _ path: String, mode: mode_t, _ produce: (_ write: ([UInt8]) throws -> Void) throws -> Void
    ) throws -> Staged {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            } catch {
                throw GitOpsMLError.environment(
                    "cannot create \(folder): \(SystemErrors.describe(error) ?? "\(error)")")
            }
        }
        var template = Array(((folder.isEmpty ? "." : folder) + "/" + temporaryPrefix + "XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return mkstemp(base)
        }
        guard descriptor >= 0 else { throw failure(path, errno) }
        let temporary = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            defer { close(descriptor) }
            try produce { chunk in try writeAll(chunk, to: descriptor, path: path) }
            fchmod(descriptor, mode)
            guard fsync(descriptor) == 0 else { throw failure(path, errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        return Staged(path: path, temporary: temporary, folder: folder)
    }

    /// Renames the staged file over its target and flushes the folder (the rename survives a power cut only
    /// once the folder is flushed too).
    static func commit(_ staged: Staged) throws {
        guard rename(staged.temporary, staged.path) == 0 else { throw failure(staged.path, errno) }
        let directory = open(staged.folder.isEmpty ? "." : staged.folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    static func existingMode(_ path: String) -> mode_t {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o644
    }

    /// Writes a new file whole, with no temporary copy: for a file inside a folder that is itself written
    /// under a temporary name and renamed into place. A failure names the file and the system's reason
    /// ("No space left on device").
    public static func create(_ bytes: [UInt8], at path: String, mode: mode_t = 0o644) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw failure(path, errno) }
        defer { close(descriptor) }
        try writeAll(bytes, to: descriptor, path: path)
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
