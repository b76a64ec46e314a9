internal import CLibGit2

/// The kinds of libgit2 object GitStore holds, each with the one function that frees it.
protocol GitKind { static func free(_ pointer: OpaquePointer) }

enum Git {
    enum Commit: GitKind { static func free(_ pointer: OpaquePointer) { git_commit_free(pointer) } }
    enum Tree: GitKind { static func free(_ pointer: OpaquePointer) { git_tree_free(pointer) } }
    enum TreeEntry: GitKind { static func free(_ pointer: OpaquePointer) { git_tree_entry_free(pointer) } }
    enum Blob: GitKind { static func free(_ pointer: OpaquePointer) { git_blob_free(pointer) } }
    enum Object: GitKind { static func free(_ pointer: OpaquePointer) { git_object_free(pointer) } }
    enum Reference: GitKind { static func free(_ pointer: OpaquePointer) { git_reference_free(pointer) } }
    enum ReferenceIterator: GitKind {
        static func free(_ pointer: OpaquePointer) { git_reference_iterator_free(pointer) }
    }
    enum Remote: GitKind { static func free(_ pointer: OpaquePointer) { git_remote_free(pointer) } }
    enum Index: GitKind { static func free(_ pointer: OpaquePointer) { git_index_free(pointer) } }
    enum Diff: GitKind { static func free(_ pointer: OpaquePointer) { git_diff_free(pointer) } }
    enum ObjectDatabase: GitKind { static func free(_ pointer: OpaquePointer) { git_odb_free(pointer) } }
    enum Note: GitKind { static func free(_ pointer: OpaquePointer) { git_note_free(pointer) } }
    enum PackBuilder: GitKind { static func free(_ pointer: OpaquePointer) { git_packbuilder_free(pointer) } }
    enum Repository: GitKind { static func free(_ pointer: OpaquePointer) { git_repository_free(pointer) } }
}

/// One libgit2 object, freed exactly once when its owner's scope ends. It cannot be copied, and a
/// noncopyable binding lives to the end of its scope unless consumed, so pointers read from it (a
/// commit's message, a tree's entries) stay valid there; its kind is part of its type, so a commit
/// cannot be freed as a tree.
struct Owned<Kind: GitKind>: ~Copyable {
    let pointer: OpaquePointer

    /// Takes ownership of an object libgit2 handed out.
    init(adopting pointer: OpaquePointer) { self.pointer = pointer }

    /// Runs `create`, which fills in a new object: its failure is thrown as a `GitError` naming the
    /// operation and the subject, its success is owned.
    init(
        _ operation: String, _ subject: String, notFound: GitError.Code = .revisionNotFound,
        _ create: (inout OpaquePointer?) -> Int32
    ) throws {
        var raw: OpaquePointer?
        try check(create(&raw), operation, subject, notFound: notFound)
        guard let raw else { throw GitError(notFound, operation: operation, subject: subject, message: "") }
        pointer = raw
    }

    /// Like `init(_:_:_:)`, but nil instead of an error when libgit2 finds nothing (`GIT_ENOTFOUND`).
    static func ifFound(
        _ operation: String, _ subject: String, _ create: (inout OpaquePointer?) -> Int32
    ) throws -> Owned? {
        var raw: OpaquePointer?
        let code = create(&raw)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, operation, subject)
        guard let raw else { return nil }
        return Owned(adopting: raw)
    }

    /// Hands the object to a new owner, which must free it.
    consuming func release() -> OpaquePointer {
        let pointer = self.pointer
        discard self
        return pointer
    }

    deinit { Kind.free(pointer) }
}

/// Several objects of one kind (a commit's parents), freed together when their owner's scope ends.
struct OwnedList<Kind: GitKind>: ~Copyable {
    private(set) var pointers: [OpaquePointer?] = []

    mutating func append(_ object: consuming Owned<Kind>) { pointers.append(object.release()) }

    deinit { for case let pointer? in pointers { Kind.free(pointer) } }
}

extension Optional {
    /// `map` for a result that cannot be copied: the object made from the value, or nil without one.
    func owned<Kind>(_ make: (Wrapped) throws -> Owned<Kind>) rethrows -> Owned<Kind>? {
        guard let value = self else { return nil }
        return try make(value)
    }
}

extension Optional where Wrapped: ~Copyable {
    /// The object's pointer, or nil without one; the object stays owned here.
    borrowing func pointer<Kind>() -> OpaquePointer? where Wrapped == Owned<Kind> {
        switch self {
        case .some(let object): return object.pointer
        case .none: return nil
        }
    }
}
