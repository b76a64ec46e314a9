import Config
import Foundation
import GitOpsMLCore

/// Where pointer targets live outside git objects.
public struct DataStores: Sendable {
    /// The DVC cache (default: `<work tree>/.dvc/cache`, or `cache.dir` from `.dvc/config[.local]`).
    public var dvcCache: String?
    /// git-lfs objects (`<git dir>/lfs/objects`).
    public var lfsObjects: String?

    public init(dvcCache: String?, lfsObjects: String?) {
        self.dvcCache = dvcCache
        self.lfsObjects = lfsObjects
    }

    /// The stores of a repository with this git directory and (optional) work tree.
    public static func of(gitDirectory: String, workTree: String?) -> DataStores {
        var cache = workTree.map { $0 + "/.dvc/cache" }
        if let workTree {
            for name in ["config", "config.local"] {
                guard let text = try? String(contentsOfFile: workTree + "/.dvc/" + name, encoding: .utf8),
                    let configured = IniFile.value(text, section: "cache", key: "dir")
                else { continue }
                cache = configured.hasPrefix("/") ? configured : workTree + "/.dvc/" + configured
            }
        }
        return DataStores(dvcCache: cache, lfsObjects: gitDirectory + "/lfs/objects")
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
    public var digest: String { pointerDigest ?? "sha256:" + SHA256.hex(bytes) }
    /// The pointer file, for DVC and LFS.
    public var pointer: String?
}

/// Resolves a path at a revision (DESIGN.md §2): a plain blob; a git-lfs pointer in that blob; a `.dvc`
/// pointer for the file or one of its folders (a directory output); a `dvc.lock` stage output. Pointer
/// targets are read from the local stores and their digest verified. A pointer whose object is absent is
/// an error saying so — never an empty dataset.
public enum DataResolver {
    public static func resolve(_ path: String, in view: any FileView, stores: DataStores) throws -> ResolvedData? {
        let clean = normalize(path)
        if let bytes = try view.read(clean) {
            if let lfs = LFSPointer(bytes) { return try resolveLFS(lfs, path: clean, stores: stores) }
            return ResolvedData(
                path: clean, kind: .blob, bytes: bytes, pointerDigest: nil, pointer: nil)
        }
        // A .dvc pointer for the path itself, or for a folder above it (a directory output).
        var components = clean.split(separator: "/").map(String.init)
        var inside: [String] = []
        while !components.isEmpty {
            let candidate = components.joined(separator: "/")
            if let pointerBytes = try view.read(candidate + ".dvc") {
                let pointerFile = candidate + ".dvc"
                let output = try DVCPointer.output(in: pointerBytes, file: pointerFile, named: components.last ?? "")
                return try resolveDVC(
                    output, path: clean, inside: inside.joined(separator: "/"), pointer: pointerFile, kind: .dvc,
                    stores: stores)
            }
            inside.insert(components.removeLast(), at: 0)
        }
        if let lock = try view.read("dvc.lock") {
            for output in try DVCPointer.lockOutputs(lock) {
                let root = normalize(output.path)
                if root == clean {
                    return try resolveDVC(
                        output, path: clean, inside: "", pointer: "dvc.lock", kind: .dvcLock, stores: stores)
                }
                if clean.hasPrefix(root + "/") {
                    return try resolveDVC(
                        output, path: clean, inside: String(clean.dropFirst(root.count + 1)), pointer: "dvc.lock",
                        kind: .dvcLock,
                        stores: stores)
                }
            }
        }
        return nil
    }

    /// The content digest of `path` without reading any object store: `md5:…` from a DVC pointer or
    /// dvc.lock, `sha256:…` from a git-lfs pointer, the sha256 of a plain blob; nil when absent. (For a file
    /// inside a DVC directory output, the directory's digest.) Release records use it: the data need not
    /// be pulled to be named.
    public static func identity(_ path: String, in view: any FileView) throws -> String? {
        let clean = normalize(path)
        if let bytes = try view.read(clean) {
            if let lfs = LFSPointer(bytes) { return "sha256:" + lfs.oid }
            return "sha256:" + SHA256.hex(bytes)
        }
        var components = clean.split(separator: "/").map(String.init)
        while !components.isEmpty {
            let candidate = components.joined(separator: "/")
            if let pointer = try view.read(candidate + ".dvc") {
                let output = try DVCPointer.output(in: pointer, file: candidate + ".dvc", named: components.last ?? "")
                return "md5:" + output.md5
            }
            components.removeLast()
        }
        if let lock = try view.read("dvc.lock") {
            for output in try DVCPointer.lockOutputs(lock) {
                let root = normalize(output.path)
                if root == clean || clean.hasPrefix(root + "/") { return "md5:" + output.md5 }
            }
        }
        return nil
    }

    static func resolveLFS(_ pointer: LFSPointer, path: String, stores: DataStores) throws -> ResolvedData {
        let oid = pointer.oid
        guard let root = stores.lfsObjects,
            let data = FileManager.default.contents(
                atPath: "\(root)/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))/\(oid)")
        else {
            throw GitOpsMLError.environment(
                "\(path) is a git-lfs pointer to sha256 \(oid.prefix(12))…; the object is not in the local LFS store: run `git lfs pull`"
            )
        }
        let bytes = [UInt8](data)
        guard SHA256.hex(bytes) == oid, pointer.size.map({ $0 == bytes.count }) ?? true else {
            throw GitOpsMLError.environment(
                "\(path): the local LFS object \(oid.prefix(12))… is corrupt (its digest or size differs)")
        }
        return ResolvedData(path: path, kind: .lfs, bytes: bytes, pointerDigest: "sha256:" + oid, pointer: path)
    }

    static func resolveDVC(
        _ output: DVCPointer.Output, path: String, inside: String, pointer: String, kind: ResolvedData.Kind,
        stores: DataStores
    ) throws -> ResolvedData {
        let what = "\(path) is a DVC output (\(pointer)) with md5 \(output.md5.prefix(12))…"
        guard let cache = stores.dvcCache else {
            throw GitOpsMLError.environment(
                "\(what); there is no DVC cache here (a bare repository): run `dvc pull` in a clone")
        }
        func object(_ md5: String, legacy: Bool) throws -> [UInt8] {
            let bare = md5.replacingOccurrences(of: ".dir", with: "")
            let suffix = "\(bare.prefix(2))/\(bare.dropFirst(2))\(md5.hasSuffix(".dir") ? ".dir" : "")"
            for candidate in ["\(cache)/files/md5/\(suffix)", "\(cache)/\(suffix)"] {
                if let data = FileManager.default.contents(atPath: candidate) {
                    let bytes = [UInt8](data)
                    guard DVCPointer.matches(bytes, md5: bare, legacy: legacy) else {
                        throw GitOpsMLError.environment(
                            "\(path): the DVC cache object \(candidate) is corrupt (its md5 differs)")
                    }
                    return bytes
                }
            }
            throw GitOpsMLError.environment("\(what); not in the local cache: run `dvc pull`")
        }
        if output.md5.hasSuffix(".dir") {
            let listing = try object(output.md5, legacy: false)
            guard !inside.isEmpty else {
                throw GitOpsMLError.configuration(
                    "\(path) is a DVC directory output: name a file inside it", at: SourceLocation(file: pointer))
            }
            guard let entry = try DVCPointer.directoryEntries(listing).first(where: { $0.relpath == inside }) else {
                throw GitOpsMLError.environment("\(path): no file \(inside) in the DVC directory output of \(pointer)")
            }
            let bytes = try object(entry.md5, legacy: output.legacy)
            return ResolvedData(
                path: path, kind: kind, bytes: bytes, pointerDigest: "md5:" + entry.md5, pointer: pointer)
        }
        guard inside.isEmpty else {
            throw GitOpsMLError.environment("\(path): \(pointer) describes a file, not a folder")
        }
        let bytes = try object(output.md5, legacy: output.legacy)
        if let size = output.size, size != bytes.count {
            throw GitOpsMLError.environment(
                "\(path): the DVC cache object has \(bytes.count) bytes, \(pointer) says \(size)")
        }
        return ResolvedData(path: path, kind: kind, bytes: bytes, pointerDigest: "md5:" + output.md5, pointer: pointer)
    }

    static func normalize(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." }.joined(separator: "/")
    }
}

/// A git-lfs pointer file (spec v1, and the legacy hawser URL). An empty file is not a pointer.
struct LFSPointer {
    var oid: String
    var size: Int?

    init?(_ bytes: [UInt8]) {
        guard bytes.count < 1024, bytes.starts(with: Array("version https://".utf8)),
            let text = String(validating: bytes, as: UTF8.self)
        else { return nil }
        let lines = text.split(separator: "\n")
        guard let version = lines.first,
            version == "version https://git-lfs.github.com/spec/v1"
                || version == "version https://hawser.github.com/spec/v1"
        else { return nil }
        var oid: String?
        var size: Int?
        for line in lines.dropFirst() {
            if line.hasPrefix("oid sha256:") { oid = String(line.dropFirst("oid sha256:".count)) }
            if line.hasPrefix("size ") { size = Int(line.dropFirst(5)) }
        }
        guard let oid, oid.count == 64, oid.allSatisfy(\.isHexDigit) else { return nil }
        self.oid = oid.lowercased()
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

    static func lockOutputs(_ bytes: [UInt8]) throws -> [Output] {
        guard case .object(let stages)? = try YAMLReader.parse(bytes, file: "dvc.lock")["stages"] else { return [] }
        return try stages.flatMap { try parseOutputs($0.value["outs"], file: "dvc.lock") }
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
            return Output(
                path: path, md5: md5.lowercased(), size: item["size"].flatMap { $0.number.map { Int($0) } },
                legacy: legacy)
        }
    }

    static func directoryEntries(_ bytes: [UInt8]) throws -> [(relpath: String, md5: String)] {
        guard case .array(let items) = try JSONReader.parse(bytes, file: ".dir") else { return [] }
        return items.compactMap { item in
            guard case .string(let relpath)? = item["relpath"], case .string(let md5)? = item["md5"] else { return nil }
            return (relpath, md5)
        }
    }

    /// DVC 3 hashes the bytes; DVC 2 hashed text files with CRLF turned into LF (its "dos2unix" md5).
    static func matches(_ bytes: [UInt8], md5: String, legacy: Bool) -> Bool {
        if MD5.hex(bytes) == md5 { return true }
        guard legacy, isText(bytes) else { return false }
        var converted: [UInt8] = []
        converted.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 0x0D && index + 1 < bytes.count && bytes[index + 1] == 0x0A {
                index += 1
                continue
            }
            converted.append(bytes[index])
            index += 1
        }
        return MD5.hex(converted) == md5
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
