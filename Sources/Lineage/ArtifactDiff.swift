import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore

/// The model and data files added, removed or changed between two commits, however each is kept: a DVC
/// output (`.dvc` pointer or `dvc.lock`, by its md5, as `dvc diff` compares them), a git-lfs pointer (by its
/// oid), or a plain blob (by its content). Plain blobs and LFS pointers count when gitops-ml.yaml declares
/// them (a model's artifact, a dataset) or their kind says model or data (ONNX, pickle, Parquet, CSV…).
public struct ArtifactDiff: Sendable {
    public struct Version: Sendable, Equatable {
        /// `md5:…` (DVC), `sha256:…` (LFS oid, or a plain blob's content).
        public var digest: String
        public var size: Int?
        /// Where it is kept: `dvc.lock`, the `.dvc` pointer, `git-lfs` or `git`.
        public var keptIn: String
    }

    public enum Status: String, Sendable { case added, deleted, modified }

    public struct Change: Sendable {
        public var path: String
        public var status: Status
        public var old: Version?
        public var new: Version?
    }

    public var changes: [Change]

    /// Model and data files by kind, when no configuration names them.
    public static let modelExtensions = [
        ".onnx", ".safetensors", ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".h5", ".keras", ".pb",
        ".tflite", ".cbm", ".ubj", ".bst", ".gguf", ".mlmodel",
    ]
    public static let dataExtensions = [
        ".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".feather", ".arrow", ".avro", ".orc", ".npy", ".npz",
        ".hdf5", ".tfrecord",
    ]

    public static func between(_ old: String, _ new: String, in repository: Repository, config: ProjectConfig?)
        throws -> ArtifactDiff
    {
        let before = try versions(at: old, in: repository, config: config)
        let after = try versions(at: new, in: repository, config: config)
        var changes: [Change] = []
        for path in Set(before.keys).union(after.keys).sorted() {
            let (a, b) = (before[path], after[path])
            guard a?.identity != b?.identity else { continue }
            let status: Status = a == nil ? .added : b == nil ? .deleted : .modified
            let (old, new) = (try a.map { try $0.version(repository) }, try b.map { try $0.version(repository) })
            // An LFS pointer rewritten around the same object is not a change of the file.
            if status == .modified && old?.digest == new?.digest { continue }
            changes.append(Change(path: path, status: status, old: old, new: new))
        }
        return ArtifactDiff(changes: changes)
    }

    /// A tracked file as a revision holds it: a DVC output's record, or a blob (plain or an LFS pointer)
    /// known by its id, read only when it changed.
    struct Tracked {
        var identity: String
        var dvc: Version?
        var blob: (id: ObjectID, path: String)?

        func version(_ repository: Repository) throws -> Version {
            if let dvc { return dvc }
            guard let blob else { throw GitOpsMLError.environment("internal: a tracked file without content") }
            let bytes = try repository.blob(blob.id)
            if let pointer = DataResolver.lfsPointer(bytes, file: blob.path) {
                return Version(digest: "sha256:" + pointer.oid, size: pointer.size, keptIn: "git-lfs")
            }
            return Version(digest: ContentDigest.sha256(bytes), size: bytes.count, keptIn: "git")
        }
    }

    /// Each tracked model or data file at `revision`, by path, with what identifies its content: a DVC
    /// output's md5, a blob's id (so unchanged blobs are never read).
    static func versions(at revision: String, in repository: Repository, config: ProjectConfig?) throws -> [String:
        Tracked]
    {
        let commit = try repository.resolve(revision)
        let view = try repository.fileView(.git(commit.hex))
        let tree = try repository.listTree(at: commit.hex, recursive: true).filter { $0.kind == .blob }
        var found: [String: Tracked] = [:]
        let pointers = tree.map(\.path).filter { $0.hasSuffix(".dvc") && !$0.hasPrefix(".dvc/") }
        let locks = tree.map(\.path).filter { $0 == "dvc.lock" || $0.hasSuffix("/dvc.lock") }
        for output in try DataResolver.declaredOutputs(pointers: pointers, locks: locks, in: view) {
            let version = Version(digest: "md5:" + output.md5, size: output.size, keptIn: output.carrier)
            // A directory output is named with a trailing slash, as `dvc diff` names it.
            found[output.path + (output.md5.hasSuffix(".dir") ? "/" : "")] = Tracked(
                identity: version.digest, dvc: version)
        }
        let declared = Set(
            (config?.models.values.compactMap(\.artifact) ?? []) + (config?.datasets.values.map(\.path) ?? []))
        let folders = found.keys.filter { $0.hasSuffix("/") }
        for entry in tree where found[entry.path] == nil && !folders.contains(where: entry.path.hasPrefix) {
            let lower = entry.path.lowercased()
            guard
                declared.contains(entry.path)
                    || (modelExtensions + dataExtensions).contains(where: lower.hasSuffix)
            else { continue }
            found[entry.path] = Tracked(identity: "blob:" + entry.id.hex, blob: (entry.id, entry.path))
        }
        return found
    }
}

extension ArtifactDiff {
    public var text: String {
        guard !changes.isEmpty else { return "" }
        func describe(_ version: Version?) -> String {
            guard let version else { return "—" }
            return "\(version.digest.prefix(19))…\(version.size.map { " (\(Self.bytes($0)))" } ?? "")"
        }
        let rows = changes.map { change in
            [
                change.status.rawValue, change.path, (change.new ?? change.old)?.keptIn ?? "", describe(change.old),
                describe(change.new),
            ]
        }
        let header = ["status", "path", "kept in", "old", "new"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// In the shape of `dvc diff --json` (added, deleted, modified lists), each entry with the digests and
    /// sizes on both sides and where the file is kept.
    public var json: StructuredValue {
        func version(_ version: Version?) -> StructuredValue {
            guard let version else { return .null }
            return .object([
                ("digest", .string(version.digest)), ("size", version.size.map(StructuredValue.int) ?? .null),
                ("kept_in", .string(version.keptIn)),
            ])
        }
        return .object(
            Status.allCasesInOrder.map { status in
                (
                    status.rawValue,
                    .array(
                        changes.filter { $0.status == status }.map {
                            .object([("path", .string($0.path)), ("old", version($0.old)), ("new", version($0.new))])
                        })
                )
            })
    }

    static func bytes(_ count: Int) -> String {
        ByteCountFormatter.string(fromByteCount: Int64(count), countStyle: .binary)
    }
}

extension ArtifactDiff.Status {
    static let allCasesInOrder: [ArtifactDiff.Status] = [.added, .deleted, .modified]
}
