import Config
import Crypto
import Foundation
import GitOpsMLCore

/// A `dvc.lock` whose records are not what the same commit holds, judged as `dvc status` judges it:
/// someone changed code, params or data and committed without `dvc repro` (a dependency changed), or
/// edited an output kept in git (`cache: false`: a metrics file, a small model) after it, so the outputs
/// are not the product of the inputs beside them. Every lock format DVC has written is read (1.x stages at
/// the top level, 2.0, 3.x); one it cannot read is a `Judgement` with a reason, never a pass. Digests
/// follow DVC's rules: md5 of a file's bytes (`hash: md5`, DVC 3), or of its bytes with CRLF turned into
/// LF when it is text (DVC 1 and 2); a folder's md5 is that of the sorted JSON list of its files'
/// `{"md5", "relpath"}` plus `.dir`. A dependency produced by another stage is the file in git when it is
/// there, else that stage's record; a `.dvc` pointer's output is its recorded md5. A file whose bytes are
/// not in git (an LFS object, a file inside a DVC-tracked folder) is not judged.
public enum StalePipeline {
    public struct Staleness: Sendable, Equatable {
        public var stage: String
        /// A dependency or output path, or `params.yaml:lr` for a parameter.
        public var dependency: String
        public var recorded: String
        /// Nil: the dependency is gone.
        public var actual: String?
        /// An output kept in git that differs from the lock (edited after `dvc repro`).
        public var isOutput = false
        /// What likely made the difference, when it can be told.
        public var hint: String?

        public var message: String {
            isOutput
                ? "stale pipeline: stage \(stage)'s output \(dependency) was changed after dvc repro "
                    + "(dvc.lock records \(recorded), the commit has \(actual ?? "nothing"))"
                : "stale pipeline: stage \(stage)'s outputs were not reproduced after \(dependency) changed "
                    + "(dvc.lock records \(recorded), the commit has \(actual ?? "nothing"))"
                    + (hint.map { "; \($0)" } ?? "")
        }
    }

    /// What the lock at a revision says about its pipeline.
    public struct Judgement: Sendable, Equatable {
        public var stale: [Staleness] = []
        /// Why the lock could not be judged (an unknown format); nil when it was.
        public var unjudged: String?
        /// The lock's format: "DVC 1", "DVC 2", "DVC 3".
        public var format: String?
    }

    /// Folders with more files than this are not hashed (an error says so rather than a slow answer).
    static let folderLimit = 100_000

    /// The judgement of the `dvc.lock` of the DVC project at `project` (a monorepo's subproject, whose lock
    /// records paths relative to its folder; empty for the root); nil when there is none. Paths in the
    /// judgement are the repository's.
    public static func check(_ view: any FileView, project: String) throws -> Judgement? {
        guard !project.isEmpty else { return try check(view) }
        guard var judgement = try check(SubfolderView(view, folder: project)) else { return nil }
        for index in judgement.stale.indices {
            judgement.stale[index].dependency = project + "/" + judgement.stale[index].dependency
        }
        return judgement
    }

    /// The folders of the DVC projects whose locks record `paths` (each path's nearest folder above it with a
    /// dvc.lock), the root excluded: the subprojects a configuration declares files of.
    public static func subprojects(recording paths: [String], in view: any FileView) throws -> [String] {
        var found: Set<String> = []
        for path in paths {
            var folder = (normalize(path) as NSString).deletingLastPathComponent
            while !folder.isEmpty {
                if try view.read(folder + "/dvc.lock") != nil {
                    found.insert(folder)
                    break
                }
                folder = (folder as NSString).deletingLastPathComponent
            }
        }
        return found.sorted()
    }

    /// The judgement of the `dvc.lock` in `view`; nil when there is none.
    public static func check(_ view: any FileView) throws -> Judgement? {
        guard let lock = try view.read("dvc.lock") else { return nil }
        let stages: [(key: String, value: StructuredValue)]
        var judgement = Judgement()
        switch DVCPointer.lockStages(try YAMLReader.parse(lock, file: "dvc.lock")) {
        case .unreadable(let reason):
            judgement.unjudged = reason
            return judgement
        case .stages(let found, let format):
            (stages, judgement.format) = (found, format)
        }
        var outputs: [String: String] = [:]  // path → md5, from other stages and .dvc pointers
        for (_, stage) in stages {
            for output in try DVCPointer.parseOutputs(stage["outs"], file: "dvc.lock") {
                outputs[normalize(output.path)] = output.md5
            }
        }
        var found: [Staleness] = []
        for (name, stage) in stages {
            let directory = stage["wdir"].flatMap { value -> String? in
                if case .string(let text) = value, text != "." { return normalize(text) }
                return nil
            }
            func resolve(_ path: String) -> String { normalize(directory.map { $0 + "/" + path } ?? path) }
            if case .array(let deps)? = stage["deps"] {
                for dependency in deps {
                    guard case .string(let path)? = dependency["path"],
                        case .string(let recorded)? = dependency["md5"] ?? dependency["etag"]
                    else { continue }
                    let legacy = dependency["hash"] != .string("md5")
                    let full = resolve(path)
                    let actual: String?
                    do {
                        actual = try digest(full, legacy: legacy, in: view, outputs: outputs)
                    } catch is Unjudged {
                        continue
                    }
                    if actual != recorded.lowercased() {
                        var staleness = Staleness(stage: name, dependency: full, recorded: recorded, actual: actual)
                        if let counted = dependency["nfiles"]?.number.flatMap({ Int(exactly: $0) }),
                            let files = try? folderFiles(full, legacy: legacy, in: view, outputs: outputs),
                            counted > files.count
                        {
                            staleness.hint =
                                "the lock counts \(counted) files in \(full), the commit \(files.count): files git does "
                                + "not hold (ignored, such as __pycache__) were there at dvc repro; list them in "
                                + ".dvcignore and run dvc repro"
                        }
                        found.append(staleness)
                    }
                }
            }
            // Outputs kept in git: what the commit holds must be what the stage produced.
            for output in try DVCPointer.parseOutputs(stage["outs"], file: "dvc.lock") {
                let full = resolve(output.path)
                guard let actual = try judgedInGit(full, legacy: output.legacy, in: view),
                    actual != output.md5.lowercased()
                else { continue }
                found.append(
                    Staleness(stage: name, dependency: full, recorded: output.md5, actual: actual, isOutput: true))
            }
            if case .object(let files)? = stage["params"] {
                for (file, recorded) in files {
                    let path = resolve(file)
                    guard let bytes = try view.read(path) else {
                        found.append(Staleness(stage: name, dependency: path, recorded: "params", actual: nil))
                        continue
                    }
                    let current = Dictionary(
                        try StructuredFormat.parse(bytes, path: path).flattened().map { ($0.key, $0.value) },
                        uniquingKeysWith: { _, last in last })
                    for (key, value) in recorded.flattened() where current[key] != value {
                        found.append(
                            Staleness(
                                stage: name, dependency: "\(path):\(key)", recorded: value.json(),
                                actual: current[key]?.json()))
                    }
                }
            }
        }
        judgement.stale = found.sorted { ($0.stage, $0.dependency) < ($1.stage, $1.dependency) }
        return judgement
    }

    struct Unjudged: Error {}

    static func digest(_ path: String, legacy: Bool, in view: any FileView, outputs: [String: String]) throws
        -> String?
    {
        if let output = outputs[path] {
            // Another stage's output: the file in git when it is kept there (`cache: false`), which dvc
            // status compares; else that stage's record (its bytes are in the DVC cache).
            return try judgedInGit(path, legacy: legacy, in: view) ?? output
        }
        if let bytes = try view.read(path + ".dvc") {
            return try DVCPointer.output(in: bytes, file: path + ".dvc", named: (path as NSString).lastPathComponent)
                .md5
        }
        // Inside a DVC-tracked folder: its bytes are not in git.
        if outputs.keys.contains(where: { path.hasPrefix($0 + "/") }) { throw Unjudged() }
        return try inGit(path, legacy: legacy, in: view, outputs: outputs)
    }

    /// `inGit`, nil for what it cannot judge.
    static func judgedInGit(_ path: String, legacy: Bool, in view: any FileView) throws -> String? {
        do { return try inGit(path, legacy: legacy, in: view) } catch is Unjudged { return nil }
    }

    /// The digest of a file or folder as git holds it; nil when git holds nothing there; `Unjudged` for
    /// an LFS pointer (its bytes are elsewhere). A folder is listed as `dvc checkout` would fill it: its
    /// files in git, the files its `.dvc` pointers track and the file outputs of stages (`outputs`) inside
    /// it, at their recorded md5 (`data/` holding `raw.csv.dvc` and its `.gitignore`); a folder output inside
    /// it is not judged (its files are listed only in the cache).
    static func inGit(_ path: String, legacy: Bool, in view: any FileView, outputs: [String: String] = [:]) throws
        -> String?
    {
        guard let listing = try folderFiles(path, legacy: legacy, in: view, outputs: outputs) else {
            guard let bytes = try view.read(path) else { return nil }
            if LFSPointer.looksLikePointer(bytes) { throw Unjudged() }
            return fileMD5(bytes, legacy: legacy)
        }
        let entries = listing.sorted { $0.key < $1.key }.map {
            "{\"md5\": \"\($0.value)\", \"relpath\": \(StructuredValue.jsonString($0.key))}"
        }
        return Hex.string(Insecure.MD5.hash(data: Array(("[" + entries.joined(separator: ", ") + "]").utf8))) + ".dir"
    }

    /// The files of the folder at `path` (relative path → md5) as `inGit` describes them; nil when no folder
    /// is there.
    static func folderFiles(_ path: String, legacy: Bool, in view: any FileView, outputs: [String: String])
        throws -> [String: String]?
    {
        let files = (try? view.list(path, limit: folderLimit)) ?? []
        if files.isEmpty { return nil }
        var listing: [String: String] = [:]  // relpath → md5
        var tracked: [String: String] = [:]  // what pointers and stages put there
        func add(_ file: String, _ md5: String) throws {
            guard file.hasPrefix(path + "/") else { return }
            if md5.hasSuffix(".dir") { throw Unjudged() }
            tracked[String(file.dropFirst(path.count + 1))] = md5
        }
        for file in files {
            guard let bytes = try view.read(file) else { continue }
            if LFSPointer.looksLikePointer(bytes) { throw Unjudged() }
            listing[String(file.dropFirst(path.count + 1))] = fileMD5(bytes, legacy: legacy)
            guard file.hasSuffix(".dvc") else { continue }
            let folder = (file as NSString).deletingLastPathComponent
            guard let pointer = try? YAMLReader.parse(bytes, file: file),
                let outs = try? DVCPointer.parseOutputs(pointer["outs"], file: file)
            else { throw Unjudged() }
            for output in outs { try add(normalize(folder + "/" + output.path), output.md5) }
        }
        for (output, md5) in outputs where output.hasPrefix(path + "/") { try add(output, md5) }
        return listing.merging(tracked) { inGit, _ in inGit }
    }

    static func fileMD5(_ bytes: [UInt8], legacy: Bool) -> String {
        guard legacy, DVCPointer.isText(bytes) else { return Hex.string(Insecure.MD5.hash(data: bytes)) }
        var converted: [UInt8] = []
        converted.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == 13, index + 1 < bytes.count, bytes[index + 1] == 10 {
                index += 1
                continue
            }
            converted.append(bytes[index])
            index += 1
        }
        return Hex.string(Insecure.MD5.hash(data: converted))
    }

    static func normalize(_ path: String) -> String {
        path.split(separator: "/").filter { $0 != "." && !$0.isEmpty }.joined(separator: "/")
    }
}

/// A folder of a revision seen as a revision of its own (a monorepo's DVC subproject): paths are relative
/// to the folder.
struct SubfolderView: FileView {
    let base: any FileView
    let prefix: String

    init(_ base: any FileView, folder: String) {
        self.base = base
        prefix = folder + "/"
    }

    var revision: Revision { base.revision }
    func read(_ path: String) throws -> [UInt8]? { try base.read(prefix + path) }
    func stream(_ path: String) throws -> ByteStream? { try base.stream(prefix + path) }
    func list(_ folder: String, limit: Int) throws -> [String] {
        try base.list(prefix + folder, limit: limit).map { String($0.dropFirst(prefix.count)) }
    }
}
