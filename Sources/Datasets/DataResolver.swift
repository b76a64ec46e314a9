import Config
import Foundation
import GitOpsMLCore

/// Where pointer targets live outside git objects.
public struct DataStores: Sendable {
    /// The DVC cache (default: `<work tree>/.dvc/cache`, or `cache.dir` from `.dvc/config[.local]`).
    public var dvcCache: String?
    /// git-lfs objects (`<git dir>/lfs/objects`).
    public var lfsObjects: String?
    /// The work tree, where the DVC projects of a monorepo (`dvc init --subdir`) keep their own caches.
    public var workTree: String?

    public init(dvcCache: String?, lfsObjects: String?, workTree: String? = nil) {
        self.dvcCache = dvcCache
        self.lfsObjects = lfsObjects
        self.workTree = workTree
    }

    /// The stores of a repository with this git directory and (optional) work tree.
    public static func of(gitDirectory: String, workTree: String?) -> DataStores {
        DataStores(
            dvcCache: workTree.map { cache(ofProject: $0) }, lfsObjects: gitDirectory + "/lfs/objects",
            workTree: workTree)
    }

    /// The DVC cache of the project at `folder`: `.dvc/cache`, or `cache.dir` of its `.dvc/config[.local]`.
    static func cache(ofProject folder: String) -> String {
        var cache = folder + "/.dvc/cache"
        for name in ["config", "config.local"] {
            guard let text = try? String(contentsOfFile: folder + "/.dvc/" + name, encoding: .utf8),
                let configured = IniFile.value(text, section: "cache", key: "dir")
            else { continue }
            cache = configured.hasPrefix("/") ? configured : folder + "/.dvc/" + configured
        }
        return cache
    }

    /// The stores for a pointer file (`.dvc` or `dvc.lock`) at `carrier`: in a monorepo, the cache of the
    /// DVC project the pointer belongs to (the nearest folder above it with its own `.dvc/`), else these.
    func forPointer(_ carrier: String) -> DataStores {
        guard let workTree else { return self }
        var folder = (carrier as NSString).deletingLastPathComponent
        while !folder.isEmpty {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: workTree + "/" + folder + "/.dvc", isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                var stores = self
                stores.dvcCache = Self.cache(ofProject: workTree + "/" + folder)
                return stores
            }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return self
    }
}

/// A file's content at a revision, wherever it is stored, with its identity.
public struct ResolvedData: Sendable {
    public enum Kind: String, Sendable { case blob, dvc, dvcLock = "dvc.lock", lfs }

    public var path: String
    public var kind: Kind
    public var bytes: [UInt8]
    /// The pointer's digest (`md5:…` for DVC, `sha256:…` for LFS), already verified; nil for plain blobs.
    var pointerDigest: String?

    /// The content digest that identifies this version: `md5:…` (DVC), `sha256:…` (LFS and plain blobs,
    /// computed on demand: most readers never ask).
    public var digest: String { pointerDigest ?? ContentDigest.sha256(bytes) }
    /// The pointer file, for DVC and LFS.
    public var pointer: String?
}

/// Where a path's content is once its pointers are followed. `open()` streams it from the start (again
/// for a second pass), verifying a pointer's digest and size as the last bytes are read.
public struct DataSource {
    public var path: String
    public var kind: ResolvedData.Kind
    /// The pointer file, for DVC and LFS.
    public var pointer: String?
    var pointerDigest: String?
    private let opener: () throws -> ByteStream

    init(
        path: String, kind: ResolvedData.Kind, pointer: String?, pointerDigest: String?,
        open: @escaping () throws -> ByteStream
    ) {
        self.path = path
        self.kind = kind
        self.pointer = pointer
        self.pointerDigest = pointerDigest
        opener = open
    }

    public func open() throws -> ByteStream { try opener() }

    /// The whole content, verified.
    public func read() throws -> ResolvedData {
        ResolvedData(
            path: path, kind: kind, bytes: try open().readAll(), pointerDigest: pointerDigest, pointer: pointer)
    }
}

/// Resolves a path at a revision (DESIGN.md §2): a plain blob; a git-lfs pointer in that blob; a `.dvc`
/// pointer for the file or one of its folders (a directory output); a `dvc.lock` stage output. Pointer
/// targets are read from the local stores and their digest verified. A pointer whose object is absent is
/// an error saying so — never an empty dataset.
public enum DataResolver {
    public static func resolve(_ path: String, in view: any FileView, stores: DataStores) throws -> ResolvedData? {
        try locate(path, in: view, stores: stores)?.read()
    }

    /// The dataset at `path` read into columns; nil when there is no such file.
    public static func dataset(
        _ path: String, in view: any FileView, stores: DataStores, options: Dataset.Options
    ) throws -> Dataset? {
        guard let source = try locate(path, in: view, stores: stores) else { return nil }
        return try Dataset.read(file: path, options: options, open: source.open)
    }

    /// Where the content of `path` is, without reading it (beyond the first bytes of a blob, to tell a
    /// git-lfs pointer); nil when there is no such file. An absent pointer object is an error here.
    public static func locate(_ path: String, in view: any FileView, stores: DataStores) throws -> DataSource? {
        let clean = normalize(path)
        if let stream = try view.stream(clean) {
            // A git-lfs pointer is a small text file: its first kilobyte is all of it.
            var head = [UInt8](repeating: 0, count: 1024)
            let count = try head.withUnsafeMutableBytes { try stream.fill($0) }
            head.removeLast(head.count - count)
            if count < 1024, let lfs = try LFSPointer(head, file: clean) {
                return try locateLFS(lfs, path: clean, stores: stores)
            }
            // The stream already opened serves the first read; later ones open the blob again.
            var peeked: ByteStream? = PrefixedStream(head, then: stream)
            return DataSource(path: clean, kind: .blob, pointer: nil, pointerDigest: nil) {
                defer { peeked = nil }
                if let first = peeked { return first }
                guard let again = try view.stream(clean) else {
                    throw GitOpsMLError.environment("\(clean) disappeared while it was read")
                }
                return again
            }
        }
        // A .dvc pointer for the path itself, or for a folder above it (a directory output).
        var components = clean.split(separator: "/").map(String.init)
        var inside: [String] = []
        while !components.isEmpty {
            let candidate = components.joined(separator: "/")
            if let pointerBytes = try view.read(candidate + ".dvc") {
                let pointerFile = candidate + ".dvc"
                let output = try DVCPointer.output(in: pointerBytes, file: pointerFile, named: components.last ?? "")
                return try locateDVC(
                    output, path: clean, inside: inside.joined(separator: "/"), pointer: pointerFile, kind: .dvc,
                    stores: stores.forPointer(pointerFile))
            }
            inside.insert(components.removeLast(), at: 0)
        }
        for (output, root, carrier) in try lockOutputs(for: clean, in: view)
        where root == clean || clean.hasPrefix(root + "/") {
            return try locateDVC(
                output, path: clean, inside: root == clean ? "" : String(clean.dropFirst(root.count + 1)),
                pointer: carrier, kind: .dvcLock, stores: stores.forPointer(carrier))
        }
        return nil
    }

    /// Where the content of `path` is kept at `view`: in git (`.blob`), in git-lfs (`.lfs`), in a DVC remote
    /// (`.dvc` through a `.dvc` pointer, `.dvcLock` through dvc.lock); nil when absent. Reads pointers and the
    /// first kilobyte of a blob only: what a CI job must fetch is known before anything is fetched.
    public static func storage(of path: String, in view: any FileView) throws -> ResolvedData.Kind? {
        let clean = normalize(path)
        if let stream = try? view.stream(clean) {
            var head = [UInt8](repeating: 0, count: 1024)
            let count = try head.withUnsafeMutableBytes { try stream.fill($0) }
            return try count < 1024 && LFSPointer(Array(head.prefix(count)), file: clean) != nil ? .lfs : .blob
        }
        // A folder kept in git (a dataset of many files) needs no fetch either. One entry tells it: a folder
        // of more throws at the limit, which says as much without listing it.
        if (try? view.list(clean, limit: 1)).map({ !$0.isEmpty }) ?? true { return .blob }
        guard let (_, file) = try identitySource(clean, in: view) else { return nil }
        return (file as NSString).lastPathComponent == "dvc.lock" ? .dvcLock : .dvc
    }

    /// The format of the revision's dvc.lock — "DVC 1", "DVC 2" or "DVC 3" — or nil when there is none or it
    /// cannot be read.
    public static func dvcLockFormat(in view: any FileView, lock: String = "dvc.lock") throws -> String? {
        guard let bytes = try view.read(lock) else { return nil }
        guard case .stages(_, let format) = DVCPointer.lockStages(try YAMLReader.parse(bytes, file: lock))
        else { return nil }
        return format
    }

    /// The content digest of `path` without reading any object store: `md5:…` from a DVC pointer or
    /// dvc.lock, `sha256:…` from a git-lfs pointer, the sha256 of a plain blob; nil when absent. (For a file
    /// inside a DVC directory output, the directory's digest.) Release records use it: the data need not
    /// be pulled to be named.
    public static func identity(_ path: String, in view: any FileView) throws -> String? {
        try identitySource(path, in: view)?.digest
    }

    /// The digest `identity` gives and the file that carries it: the path itself (a blob or an LFS
    /// pointer), a `.dvc` pointer, or `dvc.lock`. With `stores`, a file inside a DVC directory output is
    /// its own md5 from the directory's `.dir` listing (nil when the listing does not have it), and a
    /// listing the cache does not hold is an error that says so: the folder's digest is not the file's.
    public static func identitySource(_ path: String, in view: any FileView, stores: DataStores? = nil) throws -> (
        digest: String, file: String
    )? {
        let clean = normalize(path)
        if let bytes = try view.read(clean) {
            if let lfs = try LFSPointer(bytes, file: clean) { return ("sha256:" + lfs.oid, clean) }
            return (ContentDigest.sha256(bytes), clean)
        }
        func inside(_ output: DVCPointer.Output, root: String, carrier: String) throws -> (String, String)? {
            guard let stores, root != clean, output.md5.hasSuffix(".dir") else { return ("md5:" + output.md5, carrier) }
            let relative = String(clean.dropFirst(root.count + 1))
            guard let listing = stores.dvcCache.flatMap({ DVCPointer.cacheObject(output.md5, in: $0) }) else {
                throw GitOpsMLError.notPulled(
                    "\(clean) is inside the DVC directory output \(root) (md5 \(output.md5.prefix(12))…, \(carrier)); its own version is in the folder's .dir listing, which the local cache does not hold: run `dvc pull \(root)` (for older revisions, `dvc fetch --all-commits \(root)`)"
                )
            }
            let entries = try DVCPointer.directoryEntries(Array(try Data(contentsOf: URL(fileURLWithPath: listing))))
            return entries.first { $0.relpath == relative }.map { ("md5:" + $0.md5, carrier) }
        }
        var components = clean.split(separator: "/").map(String.init)
        while !components.isEmpty {
            let candidate = components.joined(separator: "/")
            if let pointer = try view.read(candidate + ".dvc") {
                let output = try DVCPointer.output(in: pointer, file: candidate + ".dvc", named: components.last ?? "")
                return try inside(output, root: candidate, carrier: candidate + ".dvc")
            }
            components.removeLast()
        }
        for (output, root, carrier) in try lockOutputs(for: clean, in: view)
        where root == clean || clean.hasPrefix(root + "/") {
            return try inside(output, root: root, carrier: carrier)
        }
        return nil
    }

    static func locateLFS(_ pointer: LFSPointer, path: String, stores: DataStores) throws -> DataSource {
        let oid = pointer.oid
        let object = stores.lfsObjects.map { "\($0)/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)" }
        guard let object, FileManager.default.isReadableFile(atPath: object) else {
            throw GitOpsMLError.notPulled(
                "\(path) is a git-lfs pointer to sha256 \(oid.prefix(12))…; the object is not in the local LFS store: run `git lfs pull --include \(Redaction.shellWord(path))` (that object only)"
            )
        }
        let corrupt = "\(path): the local LFS object \(oid.prefix(12))… is corrupt (its digest or size differs)"
        return DataSource(path: path, kind: .lfs, pointer: path, pointerDigest: "sha256:" + oid) {
            VerifyingStream(
                try FileStream.existing(object), digest: .sha256(oid), size: pointer.size, corrupt: corrupt,
                sizeDiffers: { _ in corrupt })
        }
    }

    /// The `dvc.lock` files that may record `clean`, nearest first: one in each folder above it, up to the
    /// root (a monorepo's DVC projects each have their own, whose paths are relative to its folder); each
    /// with its outputs' paths made relative to the repository.
    static func lockOutputs(for clean: String, in view: any FileView) throws -> [(
        output: DVCPointer.Output, root: String, carrier: String
    )] {
        var folders: [String] = []
        var folder = (clean as NSString).deletingLastPathComponent
        while !folder.isEmpty {
            folders.append(folder)
            folder = (folder as NSString).deletingLastPathComponent
        }
        var found: [(DVCPointer.Output, String, String)] = []
        for folder in folders + [""] {
            let carrier = folder.isEmpty ? "dvc.lock" : folder + "/dvc.lock"
            guard let lock = try view.read(carrier) else { continue }
            for output in try DVCPointer.lockOutputs(lock, file: carrier) {
                found.append((output, normalize(folder.isEmpty ? output.path : folder + "/" + output.path), carrier))
            }
        }
        return found
    }

    static func locateDVC(
        _ output: DVCPointer.Output, path: String, inside: String, pointer: String, kind: ResolvedData.Kind,
        stores: DataStores
    ) throws -> DataSource {
        let what = "\(path) is a DVC output (\(pointer)) with md5 \(output.md5.prefix(12))…"
        guard let cache = stores.dvcCache else {
            throw GitOpsMLError.notPulled(
                "\(what); there is no DVC cache here (a bare repository): run `dvc pull` in a clone")
        }
        func object(_ md5: String) throws -> String {
            if let found = DVCPointer.cacheObject(md5, in: cache) { return found }
            throw GitOpsMLError.notPulled(
                "\(what); not in the local cache: run `dvc pull \(Redaction.shellWord(path))` (for a revision other than the work tree's, `dvc fetch --all-commits \(Redaction.shellWord(path))`)"
            )
        }
        func source(_ md5: String, legacy: Bool, size: Int?) throws -> DataSource {
            let file = try object(md5)
            let corrupt = "\(path): the DVC cache object \(file) is corrupt (its md5 differs)"
            return DataSource(path: path, kind: kind, pointer: pointer, pointerDigest: "md5:" + md5) {
                VerifyingStream(
                    try FileStream.existing(file),
                    digest: .md5(md5.replacingOccurrences(of: ".dir", with: ""), legacy: legacy),
                    size: size, corrupt: corrupt,
                    sizeDiffers: { "\(path): the DVC cache object has \($0) bytes, \(pointer) says \(size ?? 0)" })
            }
        }
        if output.md5.hasSuffix(".dir") {
            let listing = try source(output.md5, legacy: false, size: nil).read().bytes
            guard !inside.isEmpty else {
                throw GitOpsMLError.configuration(
                    "\(path) is a DVC directory output: name a file inside it", at: SourceLocation(file: pointer))
            }
            guard let entry = try DVCPointer.directoryEntries(listing).first(where: { $0.relpath == inside }) else {
                throw GitOpsMLError.environment("\(path): no file \(inside) in the DVC directory output of \(pointer)")
            }
            return try source(entry.md5, legacy: output.legacy, size: nil)
        }
        guard inside.isEmpty else {
            throw GitOpsMLError.environment("\(path): \(pointer) describes a file, not a folder")
        }
        return try source(output.md5, legacy: output.legacy, size: output.size)
    }

    static func normalize(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

/// A git-lfs pointer file (spec v1, and the legacy hawser URL). An empty file is not a pointer; a file that
/// starts as one (its `version` line) but breaks the spec — no `oid sha256:` of 64 lowercase hex digits,
/// no `size` as a plain decimal (`999…9`, `-8`, `1e3`, `08`) — is an error naming the file, never data.
struct LFSPointer {
    var oid: String
    var size: Int

    static let versions = ["version https://git-lfs.github.com/spec/v1", "version https://hawser.github.com/spec/v1"]

    /// Whether `bytes` start as a pointer does (whatever follows).
    static func looksLikePointer(_ bytes: [UInt8]) -> Bool {
        bytes.count < 1024 && versions.contains { bytes.starts(with: Array(($0 + "\n").utf8)) }
    }

    /// nil when `bytes` are not a pointer; throws when they start as one and break the spec.
    init?(_ bytes: [UInt8], file: String) throws {
        guard Self.looksLikePointer(bytes) else { return nil }
        func invalid(_ reason: String) -> GitOpsMLError {
            .environment("\(file) is a git-lfs pointer that breaks the spec: \(reason)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw invalid("not UTF-8") }
        var oid: String?
        var size: Int?
        for line in text.split(separator: "\n").dropFirst() {
            if line.hasPrefix("oid ") {
                guard line.hasPrefix("oid sha256:") else { throw invalid("its oid is not sha256") }
                let hex = line.dropFirst("oid sha256:".count)
                guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                    throw invalid("its oid is not 64 lowercase hex digits")
                }
                oid = String(hex)
            } else if line.hasPrefix("size ") {
                let digits = line.dropFirst(5)
                guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                    digits == "0" || digits.first != "0", let value = Int(digits)
                else { throw invalid("its size \(Redaction.quoted(String(digits))) is not a byte count") }
                size = value
            }
        }
        guard let oid else { throw invalid("it has no oid") }
        guard let size else { throw invalid("it has no size") }
        self.oid = oid
        self.size = size
    }
}

/// DVC's pointer formats: `.dvc` files (DVC 3 with `hash: md5`, DVC 2 without, imports with `deps`/`frozen`),
/// `dvc.lock` stage outputs, and `.dir` listings of directory outputs.
enum DVCPointer {
    struct Output {
        var path: String
        var md5: String
        var size: Int?
        /// A DVC 2 pointer (no `hash: md5`): its md5 was computed after converting CRLF to LF in text files.
        var legacy: Bool
    }

    static func output(in bytes: [UInt8], file: String, named name: String) throws -> Output {
        let outputs = try parseOutputs(YAMLReader.parse(bytes, file: file)["outs"], file: file)
        guard let output = outputs.first(where: { ($0.path as NSString).lastPathComponent == name }) ?? outputs.first
        else {
            throw GitOpsMLError.configuration("no outs in the DVC pointer", at: SourceLocation(file: file))
        }
        return output
    }

    /// Where the cache holds the object of `md5` (DVC 3's `files/md5/`, DVC 2's top level); nil when it
    /// does not.
    static func cacheObject(_ md5: String, in cache: String) -> String? {
        let bare = md5.replacingOccurrences(of: ".dir", with: "")
        let suffix = "\(bare.prefix(2))/\(bare.dropFirst(2))\(md5.hasSuffix(".dir") ? ".dir" : "")"
        return ["\(cache)/files/md5/\(suffix)", "\(cache)/\(suffix)"].first {
            FileManager.default.isReadableFile(atPath: $0)
        }
    }

    static func lockOutputs(_ bytes: [UInt8], file: String = "dvc.lock") throws -> [Output] {
        guard case .stages(let stages, _) = try lockStages(YAMLReader.parse(bytes, file: file)) else { return [] }
        return try stages.flatMap { try parseOutputs($0.value["outs"], file: file) }
    }

    /// What a `dvc.lock` holds, in every format DVC has written: DVC 1.x (stages at the top level, no
    /// `schema`), 2.0 and 3.x (`schema: '2.0'`, `stages:`; 3.x marks entries `hash: md5`).
    enum Lock {
        case stages([(key: String, value: StructuredValue)], format: String)
        /// A lock this reader cannot judge, and why.
        case unreadable(String)
    }

    static func lockStages(_ document: StructuredValue) -> Lock {
        guard case .object(let pairs) = document else { return .unreadable("dvc.lock is not a mapping") }
        if let schema = document["schema"] {
            guard schema == .string("2.0") else {
                return .unreadable(
                    "dvc.lock has schema \(schema.json()), which this version of gitops-ml does not read")
            }
            guard case .object(let stages)? = document["stages"] else { return .stages([], format: "DVC 2/3") }
            let three = stages.contains { stage in
                [stage.value["deps"], stage.value["outs"]].contains { list in
                    guard case .array(let items)? = list else { return false }
                    return items.contains { $0["hash"] == .string("md5") }
                }
            }
            return .stages(stages, format: three ? "DVC 3" : "DVC 2")
        }
        // DVC 1.x: every top-level key is a stage with its cmd.
        guard pairs.allSatisfy({ $0.value["cmd"] != nil }) else {
            return .unreadable("dvc.lock has no schema and its top-level keys are not all stages (with a cmd)")
        }
        return .stages(pairs, format: "DVC 1")
    }

    static func parseOutputs(_ value: StructuredValue?, file: String) throws -> [Output] {
        guard case .array(let items)? = value else { return [] }
        return try items.map { item in
            guard case .string(let path)? = item["path"] else {
                throw GitOpsMLError.configuration("an output without a path", at: SourceLocation(file: file))
            }
            guard case .string(let md5)? = item["md5"] ?? item["etag"] ?? item["checksum"] else {
                throw GitOpsMLError.configuration(
                    "output \(path) has no md5 (has it been committed with `dvc commit`?)",
                    at: SourceLocation(file: file))
            }
            var legacy = true
            if case .string(let hash)? = item["hash"], hash == "md5" { legacy = false }
            // The md5 names a file in the cache: 32 hex digits (and .dir), nothing that could be a path.
            guard isMD5(md5) else {
                throw GitOpsMLError.configuration(
                    "output \(Redaction.quoted(path)) has md5 \(Redaction.quoted(md5)), not 32 hex digits",
                    at: SourceLocation(file: file))
            }
            var size: Int?
            if let value = item["size"], value != .null {
                guard let number = value.number, let whole = Int(exactly: number), whole >= 0 else {
                    throw GitOpsMLError.configuration(
                        "output \(Redaction.quoted(path)) has a size that is not a whole number of bytes",
                        at: SourceLocation(file: file))
                }
                size = whole
            }
            return Output(path: path, md5: md5.lowercased(), size: size, legacy: legacy)
        }
    }

    static func directoryEntries(_ bytes: [UInt8]) throws -> [(relpath: String, md5: String)] {
        guard case .array(let items) = try JSONReader.parse(bytes, file: ".dir") else { return [] }
        return items.compactMap { item in
            guard case .string(let relpath)? = item["relpath"], case .string(let md5)? = item["md5"],
                isMD5(md5), !md5.hasSuffix(".dir")
            else { return nil }
            return (relpath, md5.lowercased())
        }
    }

    /// 32 hex digits, optionally `.dir` (a directory listing).
    static func isMD5(_ text: String) -> Bool {
        let digits = text.hasSuffix(".dir") ? text.dropLast(4) : Substring(text)
        return Hex.bytes(digits)?.count == 16
    }

    /// DVC's `istextblock` on the first 512 bytes: no NUL, and at most 30 % of bytes outside text characters.
    static func isText(_ bytes: [UInt8]) -> Bool {
        let block = bytes.prefix(512)
        guard !block.isEmpty else { return true }
        if block.contains(0) { return false }
        let text = Set<UInt8>([7, 8, 9, 10, 12, 13, 27] + Array(0x20..<0x100).map { UInt8($0) }).subtracting([0x7F])
        let nontext = block.filter { !text.contains($0) }.count
        return Double(nontext) / Double(block.count) <= 0.30
    }
}

/// The one thing read from DVC's INI config: a key of a section.
extension DataStores {
    /// The pip extra DVC needs for the project's default remote (`core.remote` in `.dvc/config`): `s3` for
    /// `s3://…`, `gs`, `azure`, `ssh`, …; nil for a local or HTTP remote, or none. From a fixed list, so
    /// nothing else from the file reaches a generated workflow.
    public static func dvcRemoteExtra(workTree: String) -> String? {
        guard let text = try? String(contentsOfFile: workTree + "/.dvc/config", encoding: .utf8),
            let remote = IniFile.value(text, section: "core", key: "remote"),
            let url = IniFile.value(text, section: "remote \"\(remote)\"", key: "url"),
            let scheme = url.range(of: "://").map({ url[..<$0.lowerBound].lowercased() })
        else { return nil }
        let extras = [
            "s3": "s3", "gs": "gs", "gcs": "gs", "azure": "azure", "ssh": "ssh", "sftp": "ssh", "hdfs": "hdfs",
            "webhdfs": "webhdfs", "oss": "oss", "gdrive": "gdrive", "webdav": "webdav", "webdavs": "webdav",
        ]
        return extras[scheme]
    }
}

enum IniFile {
    static func value(_ text: String, section wantedSection: String, key wantedKey: String) -> String? {
        var section = ""
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces).replacingOccurrences(
                    of: "'", with: "")
                continue
            }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if section == wantedSection && parts.count == 2 && parts[0] == wantedKey { return parts[1] }
        }
        return nil
    }
}

extension DataResolver {
    /// Every output a revision's DVC files declare: those of the `.dvc` pointers named (their folder plus
    /// each `outs:` path) and of the `dvc.lock` files named (the root's, and a monorepo's projects', whose
    /// paths are relative to their folder), with md5 and size.
    public static func declaredOutputs(pointers: [String], locks: [String] = ["dvc.lock"], in view: any FileView)
        throws -> [(path: String, md5: String, size: Int?, carrier: String)]
    {
        var found: [(path: String, md5: String, size: Int?, carrier: String)] = []
        for pointer in pointers {
            guard let bytes = try view.read(pointer) else { continue }
            let folder = (pointer as NSString).deletingLastPathComponent
            for output in try DVCPointer.parseOutputs(YAMLReader.parse(bytes, file: pointer)["outs"], file: pointer) {
                let path = DataResolver.normalize(folder.isEmpty ? output.path : folder + "/" + output.path)
                found.append((path, output.md5, output.size, pointer))
            }
        }
        for carrier in locks {
            guard let lock = try view.read(carrier) else { continue }
            let folder = (carrier as NSString).deletingLastPathComponent
            for output in try DVCPointer.lockOutputs(lock, file: carrier) {
                let path = DataResolver.normalize(folder.isEmpty ? output.path : folder + "/" + output.path)
                found.append((path, output.md5, output.size, carrier))
            }
        }
        return found
    }

    /// The oid and size of a git-lfs pointer; nil for anything else (a malformed pointer included: the
    /// data commands refuse it with its error).
    public static func lfsPointer(_ bytes: [UInt8], file: String) -> (oid: String, size: Int)? {
        guard let pointer = (try? LFSPointer(bytes, file: file)) ?? nil else { return nil }
        return (pointer.oid, pointer.size)
    }
}
