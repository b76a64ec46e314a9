internal import CLibGit2
import Foundation
import GitOpsMLCore

/// A change to one file in a commit written without a work tree.
public struct FileChange: Sendable, Hashable {
    public var path: String
    /// New contents; nil deletes the file.
    public var contents: [UInt8]?
    public var executable: Bool

    public init(path: String, contents: [UInt8]?, executable: Bool = false) {
        self.path = path
        self.contents = contents
        self.executable = executable
    }
}

extension Repository {
    /// Writes one commit on `branch` changing `changes`, without touching any work tree or index file.
    ///
    /// The branch moves by compare-and-swap from the tip read here (or `expectedTip` when given): if
    /// another writer moved it in between, this throws `.referenceMoved` and the new commit stays
    /// unreferenced. Returns nil, writing nothing, when the changes leave the tree as it was.
    /// `sign` receives the commit's content and returns an armored signature for its `gpgsig` header.
    public func commit(
        on branch: String, changes: [FileChange], message: String,
        author: GitSignature? = nil, expectedTip: ObjectID? = nil,
        sign: ((String) throws -> String)? = nil
    ) throws -> ObjectID? {
        let refName = branch.hasPrefix("refs/") ? branch : "refs/heads/" + branch
        let tip = try expectedTip ?? referenceTarget(refName)
        guard
            let id = try writeCommit(
                parent: tip, changes: changes, message: message, author: author, sign: sign, subject: refName)
        else { return nil }
        let summary = message.prefix { $0 != "\n" }
        try updateReference(refName, to: id, expected: tip, logMessage: "gitops-ml: \(summary)")
        return id
    }

    /// Writes the commit object (tree from `parent`'s plus `changes`) without moving any reference; nil when
    /// the changes leave the tree as it was.
    public func writeCommit(
        parent tip: ObjectID?, changes: [FileChange], message: String, author: GitSignature? = nil,
        sign: ((String) throws -> String)? = nil, subject: String = "commit"
    ) throws -> ObjectID? {
        let parent = try tip.owned { try lookupCommit($0) }
        let parentTree = try parent.pointer().owned { commit in
            try Owned<Git.Tree>("read tree", subject) { git_commit_tree(&$0, commit) }
        }
        let index = try Owned<Git.Index>("build tree", subject) { git_index_new(&$0) }
        if let tree = parentTree.pointer() {
            try check(git_index_read_tree(index.pointer, tree), "build tree", subject)
        }
        for change in changes {
            try apply(change, to: index.pointer)
        }
        var treeOID = git_oid()
        try check(git_index_write_tree_to(&treeOID, index.pointer, handle), "write tree", subject)
        if let commit = parent.pointer(), git_oid_equal(&treeOID, git_commit_tree_id(commit)) == 1 { return nil }

        return try createCommit(
            parent: parent.pointer(), tree: treeOID, message: message, author: author, sign: sign, subject: subject)
    }

    /// Writes a commit on `branch` whose tree is `source`'s tree, by compare-and-swap from `expectedTip`:
    /// the agent's rollback, which puts back what ran before as a new commit on top of the failed one.
    /// Returns nil, writing nothing, when the tip already has that tree.
    public func commit(
        on branch: String, restoringTreeOf source: ObjectID, message: String, author: GitSignature? = nil,
        expectedTip: ObjectID, sign: ((String) throws -> String)? = nil
    ) throws -> ObjectID? {
        let refName = branch.hasPrefix("refs/") ? branch : "refs/heads/" + branch
        let parent = try lookupCommit(expectedTip)
        let restored = try lookupCommit(source)
        guard let treeID = git_commit_tree_id(restored.pointer) else { return nil }
        if git_oid_equal(treeID, git_commit_tree_id(parent.pointer)) == 1 { return nil }
        let id = try createCommit(
            parent: parent.pointer, tree: treeID.pointee, message: message, author: author, sign: sign, subject: refName
        )
        let summary = message.prefix { $0 != "\n" }
        try updateReference(refName, to: id, expected: expectedTip, logMessage: "gitops-ml: \(summary)")
        return id
    }

    private func createCommit(
        parent: OpaquePointer?, tree treeOID: git_oid, message: String, author: GitSignature?,
        sign: ((String) throws -> String)?, subject: String
    ) throws -> ObjectID {
        var treeOID = treeOID
        let tree = try Owned<Git.Tree>("write tree", subject) { git_tree_lookup(&$0, handle, &treeOID) }

        let signature = try author ?? defaultSignature()
        var commitOID = git_oid()
        try withSignature(signature) { sig in
            var parents: [OpaquePointer?] = parent.map { [$0] } ?? []
            if let sign {
                var buffer = git_buf()
                try check(
                    git_commit_create_buffer(
                        &buffer, handle, sig, sig, "UTF-8", message, tree.pointer, parents.count, &parents),
                    "write commit", subject)
                let content = consume(&buffer)
                let armored = try sign(content)
                try check(
                    git_commit_create_with_signature(&commitOID, handle, content, armored, "gpgsig"),
                    "write commit", subject)
            } else {
                try check(
                    git_commit_create(
                        &commitOID, handle, nil, sig, sig, "UTF-8", message, tree.pointer, parents.count, &parents),
                    "write commit", subject)
            }
        }
        return ObjectID(commitOID)
    }

    /// The `gpgsig` signature of a commit and the exact bytes it signs; nil for an unsigned commit.
    public func commitSignature(_ id: ObjectID) throws -> (signature: String, signedData: String)? {
        var oid = try id.raw()
        var signature = git_buf()
        var data = git_buf()
        let code = git_commit_extract_signature(&signature, &data, handle, &oid, nil)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read signature", id.short)
        return (consume(&signature), consume(&data))
    }

    /// Deletes a reference; a missing one is not an error.
    public func deleteReference(_ name: String) throws {
        guard
            let reference = try Owned<Git.Reference>.ifFound(
                "delete", name, { git_reference_lookup(&$0, handle, name) })
        else { return }
        try check(git_reference_delete(reference.pointer), "delete", name)
    }

    private func apply(_ change: FileChange, to index: OpaquePointer?) throws {
        let path = change.path.hasPrefix("./") ? String(change.path.dropFirst(2)) : change.path
        guard !path.isEmpty, !path.hasPrefix("/"),
            !path.split(separator: "/").contains(where: { $0 == ".." || $0 == ".git" })
        else {
            throw GitOpsMLError.usage("\(change.path): not a safe relative path inside the repository")
        }
        guard let contents = change.contents else {
            let code = git_index_remove(index, path, 0)
            if code != GIT_ENOTFOUND.rawValue { try check(code, "remove", path) }
            // A deleted directory: remove everything below it.
            try check(git_index_remove_directory(index, path, 0), "remove", path)
            return
        }
        var blobOID = git_oid()
        try contents.withUnsafeBytes { bytes -> Void in
            try check(git_blob_create_from_buffer(&blobOID, handle, bytes.baseAddress, bytes.count), "write blob", path)
        }
        var entry = git_index_entry()
        entry.mode = change.executable ? GIT_FILEMODE_BLOB_EXECUTABLE.rawValue : GIT_FILEMODE_BLOB.rawValue
        entry.id = blobOID
        entry.file_size = UInt32(truncatingIfNeeded: contents.count)
        try path.withCString { cPath in
            entry.path = cPath
            try check(git_index_add(index, &entry), "stage", path)
        }
    }

    /// Points `name` at `target` if, and only if, it currently points at `expected` (nil: does not exist).
    /// Throws `.referenceMoved` (or `.referenceExists`) when another writer got there first.
    public func updateReference(
        _ name: String, to target: ObjectID, expected: ObjectID?, logMessage: String = "gitops-ml"
    )
        throws
    {
        var new = try target.raw()
        if var old = try expected?.raw() {
            _ = try Owned<Git.Reference>("update", name) {
                git_reference_create_matching(&$0, handle, name, &new, 1, &old, logMessage)
            }
        } else {
            _ = try Owned<Git.Reference>("create", name) {
                git_reference_create(&$0, handle, name, &new, 0, logMessage)
            }
        }
    }
}

extension Repository {
    /// The paths whose content differs between two commits' trees (added, removed or modified).
    public func changedPaths(from old: ObjectID?, to new: ObjectID) throws -> Set<String> {
        func tree(_ id: ObjectID) throws -> Owned<Git.Tree> {
            let commit = try lookupCommit(id)
            return try Owned("read tree", id.short) { git_commit_tree(&$0, commit.pointer) }
        }
        let oldTree = try old.owned(tree)
        let newTree = try tree(new)
        let oldPointer = oldTree.pointer()
        let diff = try Owned<Git.Diff>("diff", new.short) {
            git_diff_tree_to_tree(&$0, handle, oldPointer, newTree.pointer, nil)
        }
        var paths: Set<String> = []
        for index in 0..<git_diff_num_deltas(diff.pointer) {
            guard let delta = git_diff_get_delta(diff.pointer, index) else { continue }
            if let path = delta.pointee.old_file.path { paths.insert(String(cString: path)) }
            if let path = delta.pointee.new_file.path { paths.insert(String(cString: path)) }
        }
        return paths
    }
}
