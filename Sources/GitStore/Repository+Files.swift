internal import CLibGit2
import Foundation
import GitOpsMLCore

extension Repository {
    /// The contents of `path` at `revision`, or nil when the revision has no such file.
    /// `.workspace` reads the working tree.
    public func read(_ path: String, at revision: Revision) throws -> [UInt8]? {
        try fileView(revision).read(path)
    }

    /// A read-only view of one revision's files. The commit is resolved once, here.
    public func fileView(_ revision: Revision) throws -> RevisionFiles {
        switch revision {
        case .workspace:
            guard let workTree else {
                throw GitError(
                    .bareRepository, operation: "read", subject: "workspace",
                    message: "a bare repository has no work tree; name a revision")
            }
            return RevisionFiles(repository: self, revision: revision, commit: nil, workTree: workTree)
        case .git(let spec):
            return RevisionFiles(repository: self, revision: revision, commit: try resolve(spec), workTree: nil)
        }
    }

    /// The entries of the tree at `path` (the root when empty), optionally recursively.
    public func listTree(at spec: String, path: String = "", recursive: Bool = false) throws -> [TreeEntry] {
        let commit = try lookupCommit(spec)
        let root = try Owned<Git.Tree>("read tree", spec) { git_commit_tree(&$0, commit.pointer) }
        let clean = path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !clean.isEmpty else { return try entries(of: root.pointer, prefix: "", recursive: recursive) }

        let subject = "\(spec):\(clean)"
        let entry = try Owned<Git.TreeEntry>("read", subject, notFound: .pathNotFound) {
            git_tree_entry_bypath(&$0, root.pointer, clean)
        }
        guard git_tree_entry_type(entry.pointer) == GIT_OBJECT_TREE else {
            throw GitError(.notAFile, operation: "list", subject: subject, message: "not a directory")
        }
        let subtree = try Owned<Git.Tree>("read tree", subject) {
            git_tree_lookup(&$0, handle, git_tree_entry_id(entry.pointer))
        }
        return try entries(of: subtree.pointer, prefix: clean + "/", recursive: recursive)
    }

    private func entries(of tree: OpaquePointer, prefix: String, recursive: Bool) throws -> [TreeEntry] {
        var result: [TreeEntry] = []
        for index in 0..<git_tree_entrycount(tree) {
            guard let entry = git_tree_entry_byindex(tree, index) else { continue }
            let name = String(cString: git_tree_entry_name(entry))
            let mode = git_tree_entry_filemode(entry).rawValue
            let kind: TreeEntry.Kind
            switch git_tree_entry_type(entry) {
            case GIT_OBJECT_TREE: kind = .tree
            case GIT_OBJECT_COMMIT: kind = .submodule
            default: kind = mode == GIT_FILEMODE_LINK.rawValue ? .symlink : .blob
            }
            let item = TreeEntry(path: prefix + name, kind: kind, id: ObjectID(git_tree_entry_id(entry)), mode: mode)
            if recursive && kind == .tree {
                let subtree = try Owned<Git.Tree>("read tree", item.path) {
                    git_tree_lookup(&$0, handle, git_tree_entry_id(entry))
                }
                result += try entries(of: subtree.pointer, prefix: item.path + "/", recursive: true)
            } else {
                result.append(item)
            }
        }
        return result
    }

    /// The contents of the blob at `path` in commit `commitID`, nil when absent.
    func blob(_ path: String, inCommit commitID: ObjectID) throws -> [UInt8]? {
        try withBlob(path, inCommit: commitID) { [UInt8]($0) }
    }

    /// Calls `body` with the bytes of the blob at `path` in commit `commitID`, in libgit2's own buffer
    /// (no copy); nil when there is no such file. The buffer is only valid during the call.
    func withBlob<R>(_ path: String, inCommit commitID: ObjectID, _ body: (UnsafeRawBufferPointer) throws -> R) throws
        -> R?
    {
        guard var oid = try blobID(path, inCommit: commitID) else { return nil }
        return try withBlob(&oid, subject: "\(commitID.short):\(path)", body)
    }

    /// The id of the blob at `path` in commit `commitID`, nil when there is no such file.
    func blobID(_ path: String, inCommit commitID: ObjectID) throws -> git_oid? {
        let subject = "\(commitID.short):\(path)"
        let commit = try lookupCommit(commitID)
        let tree = try Owned<Git.Tree>("read tree", subject) { git_commit_tree(&$0, commit.pointer) }
        guard
            let entry = try Owned<Git.TreeEntry>.ifFound(
                "read", subject, { git_tree_entry_bypath(&$0, tree.pointer, path) })
        else { return nil }
        guard git_tree_entry_type(entry.pointer) == GIT_OBJECT_BLOB else {
            throw GitError(.notAFile, operation: "read", subject: subject, message: "not a file")
        }
        if git_tree_entry_filemode(entry.pointer) == GIT_FILEMODE_LINK {
            // A committed symlink's blob is its target's name: reported as a link, never read or followed.
            var target = git_tree_entry_id(entry.pointer).pointee
            let name =
                (try? withBlob(&target, subject: subject) { String(decoding: $0.prefix(200), as: UTF8.self) }) ?? "?"
            throw GitOpsMLError.configuration(
                "\(path) is a symlink at \(commitID.short) (to \(Redaction.quoted(name))), not a file: links are not followed"
            )
        }
        return git_tree_entry_id(entry.pointer).pointee
    }

    /// The blob at `path` in commit `commitID` as a stream, nil when there is no such file: a loose object
    /// is inflated as it is read (never whole in memory); a packed one is read whole by libgit2 (deltas)
    /// and streamed from its buffer.
    func blobStream(_ path: String, inCommit commitID: ObjectID) throws -> ByteStream? {
        guard var oid = try blobID(path, inCommit: commitID) else { return nil }
        let subject = "\(commitID.short):\(path)"
        if let loose = try looseObject(oid, subject: subject) { return loose }
        let owner = BlobHandle(
            try Owned("read blob", subject, notFound: .pathNotFound) { git_blob_lookup(&$0, handle, &oid) },
            repository: self)
        let blob = owner.blob.pointer
        let size = Int(git_blob_rawsize(blob))
        return MemoryStream(
            UnsafeRawBufferPointer(start: size > 0 ? git_blob_rawcontent(blob) : nil, count: size), owner: owner)
    }

    /// The contents of a blob by id.
    public func blob(_ id: ObjectID) throws -> [UInt8] {
        var oid = try id.raw()
        return try withBlob(&oid, subject: id.hex) { [UInt8]($0) }
    }

    /// A loose object of this repository as a stream; nil when it is packed (or in an alternate).
    private func looseObject(_ oid: git_oid, subject: String) throws -> LooseObjectStream? {
        try LooseObjectStream(objects: commonDirectory + "/objects", id: ObjectID(oid), subject: subject)
    }

    private func withBlob<R>(
        _ oid: UnsafePointer<git_oid>, subject: String, _ body: (UnsafeRawBufferPointer) throws -> R
    ) throws -> R {
        if let loose = try looseObject(oid.pointee, subject: subject) {
            return try loose.readAll().withUnsafeBytes(body)
        }
        let blob = try Owned<Git.Blob>("read blob", subject, notFound: .pathNotFound) {
            git_blob_lookup(&$0, handle, oid)
        }
        let size = Int(git_blob_rawsize(blob.pointer))
        return try body(
            UnsafeRawBufferPointer(start: size > 0 ? git_blob_rawcontent(blob.pointer) : nil, count: size))
    }
}

/// The files of one revision: a commit's tree, or the working tree. Holds its repository open.
public struct RevisionFiles: FileView {
    let repository: Repository
    public let revision: Revision
    /// The resolved commit; nil for the working tree.
    public let commit: ObjectID?
    let workTree: String?

    /// Every read goes through `RepositoryPath.clean`: nothing named here leads outside the repository.
    public func read(_ path: String) throws -> [UInt8]? {
        guard commit != nil else { return try workTreeFile(RepositoryPath.clean(path)) }
        return try withContents(path) { [UInt8]($0) }
    }

    public func stream(_ path: String) throws -> ByteStream? {
        let clean = try RepositoryPath.clean(path)
        if let commit { return try repository.blobStream(clean, inCommit: commit) }
        guard let full = try workTreePath(clean) else { return nil }
        return try FileStream(path: full)
    }

    public func list(_ folder: String, limit: Int) throws -> [String] {
        let clean = try RepositoryPath.clean(folder)
        var paths: [String]
        if let commit {
            do {
                paths = try repository.listTree(at: commit.hex, path: clean, recursive: true)
                    .filter { $0.kind == .blob }.map(\.path)
            } catch let error as GitError where error.code == .pathNotFound || error.code == .notAFile {
                return []
            }
        } else {
            let base = (workTree ?? "") + "/" + clean
            guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
            paths = []
            while let relative = walker.nextObject() as? String {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: base + "/" + relative, isDirectory: &isDirectory),
                    !isDirectory.boolValue
                {
                    paths.append(clean + "/" + relative)
                }
                if paths.count > limit { break }
            }
        }
        guard paths.count <= limit else {
            throw GitOpsMLError.configuration("\(clean)/ holds more than \(limit) files at \(revision)")
        }
        return paths.sorted()
    }

    /// Calls `body` with the file's bytes without copying them (for large files); nil when absent.
    public func withContents<R>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        let clean = try RepositoryPath.clean(path)
        if let commit { return try repository.withBlob(clean, inCommit: commit, body) }
        return try workTreeFile(clean)?.withUnsafeBytes(body)
    }

    /// The full path of a work-tree file (`clean` already checked); nil when absent, an error for a folder
    /// and for a symlink, on the way or at the end, that leads out of the work tree.
    private func workTreePath(_ clean: String) throws -> String? {
        let root = workTree ?? ""
        let full = root + "/" + clean
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory) else { return nil }
        guard !isDirectory.boolValue else {
            throw GitError(.notAFile, operation: "read", subject: "workspace:\(clean)", message: "not a file")
        }
        guard let resolved = realpath(full, nil), let base = realpath(root, nil) else { return nil }
        defer {
            free(resolved)
            free(base)
        }
        let target = String(cString: resolved)
        let top = String(cString: base)
        guard target.hasPrefix(top == "/" ? "/" : top + "/") else {
            throw GitOpsMLError.configuration(
                "\(clean) is a symlink to \(Redaction.quoted(target)), outside the work tree: links out are not followed"
            )
        }
        return full
    }

    /// A file of the work tree, read straight into one array sized by the file (no intermediate copy).
    private func workTreeFile(_ path: String) throws -> [UInt8]? {
        guard let full = try workTreePath(path) else { return nil }
        return try FileStream(path: full)?.readAll()
    }
}
