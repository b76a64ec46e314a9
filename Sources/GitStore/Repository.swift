internal import CLibGit2
import Foundation
import GitOpsMLCore

/// One open git repository: the only owner of its `git_repository` handle.
///
/// Not thread-safe (libgit2 objects are not): open one per task or thread. Only Sendable values
/// (ids, commits, signatures, errors) leave it.
public final class Repository {
    let handle: OpaquePointer
    /// The folder given or discovered: the work tree's root, or the git directory of a bare repository.
    public let root: String
    /// The `.git` directory (or the bare repository's folder).
    public let gitDirectory: String
    /// The work tree, nil for bare repositories.
    public let workTree: String?

    /// Opens the repository at `path`; with `discover`, also from any folder inside it.
    public init(at path: String, discover: Bool = true) throws {
        _ = libgit2Ready
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GitError(.notARepository, operation: "open", subject: path, message: "no such directory")
        }
        var raw: OpaquePointer?
        let flags = discover ? 0 : GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue
        let code = git_repository_open_ext(&raw, path, flags, nil)
        guard code == 0, let raw else {
            throw lastError(code, "open", path, notFound: .notARepository)
        }
        handle = raw
        gitDirectory = String(cString: git_repository_path(raw)).trimmingSuffix("/")
        workTree = git_repository_workdir(raw).map { String(cString: $0).trimmingSuffix("/") }
        root = workTree ?? gitDirectory
    }

    deinit { git_repository_free(handle) }

    /// Creates an empty bare repository at `path` and opens it.
    public static func createBare(at path: String) throws -> Repository {
        _ = libgit2Ready
        _ = try Owned<Git.Repository>("create", path) { git_repository_init(&$0, path, 1) }
        return try Repository(at: path, discover: false)
    }

    public var isBare: Bool { git_repository_is_bare(handle) == 1 }

    /// The folder holding refs and objects shared by all work trees (the git directory unless this is a
    /// linked work tree).
    public var commonDirectory: String { String(cString: git_repository_commondir(handle)).trimmingSuffix("/") }
    public var isShallow: Bool { git_repository_is_shallow(handle) == 1 }

    /// The commits a shallow clone ends at (git's `shallow` file): their parents are not here, so anything
    /// that seems to begin at one of them may have begun earlier. Empty for a full clone.
    public var shallowBoundary: Set<String> {
        guard isShallow, let text = try? String(contentsOfFile: commonDirectory + "/shallow", encoding: .utf8) else {
            return []
        }
        return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
    }

    /// Resolves a revspec (`HEAD~2`, `v1.0`, `main`, a short id…) to the commit it names.
    public func resolve(_ spec: String) throws -> ObjectID {
        let commit = try lookupCommit(spec)
        return ObjectID(git_commit_id(commit.pointer))
    }

    /// The commit a revspec names, with its metadata.
    public func commit(_ spec: String) throws -> CommitInfo {
        let commit = try lookupCommit(spec)
        return commitInfo(commit.pointer)
    }

    /// The id of a reference's target (`refs/heads/main`), or nil when the reference does not exist.
    public func referenceTarget(_ name: String) throws -> ObjectID? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, handle, name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read reference", name)
        return ObjectID(oid)
    }

    /// Reference names matching a glob (`refs/heads/*`).
    public func references(matching glob: String) throws -> [String] {
        var array = git_strarray()
        try check(git_reference_list(&array, handle), "list references", glob)
        defer { git_strarray_dispose(&array) }
        let names = (0..<array.count).compactMap { array.strings[$0].map { String(cString: $0) } }
        return names.filter { fnmatch(glob, $0, 0) == 0 }.sorted()
    }

    /// The short name of the checked-out branch, nil when HEAD is detached or unborn.
    public var currentBranch: String? {
        guard let head = try? Owned<Git.Reference>("read HEAD", "HEAD", { git_repository_head(&$0, handle) }),
            git_reference_is_branch(head.pointer) == 1
        else { return nil }
        return String(cString: git_reference_shorthand(head.pointer))
    }

    /// The merge base of two commits, nil when they share no history.
    public func mergeBase(_ a: ObjectID, _ b: ObjectID) throws -> ObjectID? {
        var out = git_oid()
        var left = try a.raw()
        var right = try b.raw()
        let code = git_merge_base(&out, handle, &left, &right)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "merge base", "\(a.short) \(b.short)")
        return ObjectID(out)
    }

    // MARK: - Internals shared by the extensions

    func lookupCommit(_ spec: String) throws -> Owned<Git.Commit> {
        guard !spec.isEmpty else {
            throw GitError(.invalidRevision, operation: "resolve", subject: spec, message: "empty revision")
        }
        var raw: OpaquePointer?
        let parsed = git_revparse_single(&raw, handle, spec)
        guard parsed >= 0, let raw else { throw explain(lastError(parsed, "resolve", spec), spec: spec) }
        let object = Owned<Git.Object>(adopting: raw)
        do {
            return try Owned("resolve", spec) { git_object_peel(&$0, object.pointer, GIT_OBJECT_COMMIT) }
        } catch {
            throw GitError(.revisionNotFound, operation: "resolve", subject: spec, message: "does not name a commit")
        }
    }

    /// libgit2's wording for a revision that walks off the history, in the project's: past the root
    /// commit, a parent a commit does not have, beyond a shallow clone's depth (with the fetch to run).
    func explain(_ error: GitError, spec: String) -> GitError {
        guard error.code == .revisionNotFound else { return error }
        var explained = error
        // In a shallow clone a missing commit id (a base, a parent) is most likely past its boundary.
        if git_repository_is_shallow(handle) == 1,
            error.message.contains("object not found") || error.message.contains("does not exist")
                || (ObjectID.isFullHex(spec) && error.message.contains("not found"))
        {
            explained.message =
                "it lies beyond this shallow clone's history: fetch more (git fetch --unshallow, or fetch-depth: 0 in actions/checkout)"
        } else if error.message.hasPrefix("parent 0 does not exist") {
            explained.message = "it reaches past the first commit of the history"
        } else if error.message.hasPrefix("parent "), error.message.hasSuffix(" does not exist") {
            explained.message = "that commit has no such parent (^2 names the second parent of a merge)"
        } else if error.message.contains("revspec") && error.message.contains("not found") {
            explained.message = "no branch, tag or commit of that name (fetch it first?)"
        }
        return explained
    }

    func lookupCommit(_ id: ObjectID) throws -> Owned<Git.Commit> {
        var oid = try id.raw()
        return try Owned("read commit", id.hex) { git_commit_lookup(&$0, handle, &oid) }
    }

    func commitInfo(_ commit: OpaquePointer) -> CommitInfo {
        let id = ObjectID(git_commit_id(commit))
        // As git reads a shallow clone: a commit at the boundary has no parents here (libgit2 1.5 would name
        // parents that are not in the repository, and every reader of them would fail).
        let count = git_commit_parentcount(commit)
        let parents =
            count == 0 || shallowBoundary.contains(id.hex)
            ? []
            : (0..<count).compactMap { index in git_commit_parent_id(commit, index).map { ObjectID($0) } }
        return CommitInfo(
            id: id,
            tree: ObjectID(git_commit_tree_id(commit)),
            parents: parents,
            author: GitSignature(git_commit_author(commit)),
            committer: GitSignature(git_commit_committer(commit)),
            message: git_commit_message(commit).map { String(cString: $0) } ?? "")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) && count > suffix.count ? String(dropLast(suffix.count)) : self
    }
}
