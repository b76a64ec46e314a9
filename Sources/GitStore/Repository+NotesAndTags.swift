internal import CLibGit2
import Foundation
import GitOpsMLCore

extension Repository {
    /// The note attached to `commit` under `notesRef`, nil when there is none.
    public func note(for commit: ObjectID, ref notesRef: String = "refs/notes/gitops-ml") throws -> String? {
        var oid = try commit.raw()
        let note = try Owned<Git.Note>.ifFound("read note", "\(notesRef) \(commit.short)") {
            git_note_read(&$0, handle, notesRef, &oid)
        }
        return message(of: note)
    }

    /// The text of a note, nil when there is none.
    private func message(of note: borrowing Owned<Git.Note>?) -> String? {
        note.pointer().flatMap { git_note_message($0).map { String(cString: $0) } }
    }

    /// The note on `commit` as the notes commit `notesCommit` has it (an older state of a notes ref), nil
    /// when it has none: to learn which notes commit wrote what.
    public func note(for commit: ObjectID, notesCommit: ObjectID) throws -> String? {
        var oid = try commit.raw()
        let notes = try lookupCommit(notesCommit)
        let note = try Owned<Git.Note>.ifFound("read note", "\(notesCommit.short) \(commit.short)") {
            git_note_commit_read(&$0, handle, notes.pointer, &oid)
        }
        return message(of: note)
    }

    /// Attaches (or replaces) the note on `commit` under `notesRef`; returns the note blob's id. `commitMessage`
    /// replaces libgit2's message on the notes commit (an approval states what it approves there, under the
    /// signature).
    @discardableResult
    public func setNote(
        _ message: String, for commit: ObjectID, ref notesRef: String = "refs/notes/gitops-ml",
        author: GitSignature? = nil, sign: ((String) throws -> String)? = nil, commitMessage: String? = nil
    ) throws -> ObjectID {
        var target = try commit.raw()
        let signature = try author ?? defaultSignature()
        var out = git_oid()
        try withSignature(signature) { sig in
            try check(
                git_note_create(&out, handle, notesRef, sig, sig, &target, message, 1),
                "write note", "\(notesRef) \(commit.short)")
        }
        // libgit2 writes notes commits unsigned, with its own message: the new one is replaced by a copy of
        // itself, signed and with the message asked for.
        if sign != nil || commitMessage != nil, let written = try referenceTarget(notesRef) {
            let copy = try signedCopy(of: written, message: commitMessage, sign: sign)
            try updateReference(notesRef, to: copy, expected: written, logMessage: "gitops-ml: sign note")
        }
        return ObjectID(out)
    }

    /// The same commit (tree, parents, author, committer, and the message unless another is given) with a
    /// `gpgsig` signature when `sign` is given.
    func signedCopy(of id: ObjectID, message: String? = nil, sign: ((String) throws -> String)?) throws -> ObjectID {
        let owner = try lookupCommit(id)
        let commit = owner.pointer
        let tree = try Owned<Git.Tree>("read tree", id.short) { git_commit_tree(&$0, commit) }
        var parents = OwnedList<Git.Commit>()
        for index in 0..<git_commit_parentcount(commit) {
            parents.append(try Owned("read parent", id.short) { git_commit_parent(&$0, commit, index) })
        }
        var parentPointers = parents.pointers
        var buffer = git_buf()
        try check(
            git_commit_create_buffer(
                &buffer, handle, git_commit_author(commit), git_commit_committer(commit),
                message == nil ? git_commit_message_encoding(commit) : nil,
                message ?? git_commit_message(commit).map { String(cString: $0) }, tree.pointer, parentPointers.count,
                &parentPointers),
            "write commit", id.short)
        let content = consume(&buffer)
        var signed = git_oid()
        try check(
            git_commit_create_with_signature(
                &signed, handle, content, try sign?(content), sign == nil ? nil : "gpgsig"),
            "write commit", id.short)
        return ObjectID(signed)
    }

    /// Every tag, lightweight and annotated, sorted by name.
    public func tags() throws -> [TagInfo] {
        var names = git_strarray()
        try check(git_tag_list(&names, handle), "list tags", "refs/tags")
        defer { git_strarray_dispose(&names) }
        var result: [TagInfo] = []
        for index in 0..<names.count {
            guard let raw = names.strings[index] else { continue }
            let name = String(cString: raw)
            if let tag = try tag(named: name) { result.append(tag) }
        }
        return result.sorted { $0.name < $1.name }
    }

    /// Every tag reference as (name without `refs/tags/`, the object it points at): the tag object of an
    /// annotated tag, the commit of a lightweight one. Reads refs only, not objects.
    public func tagReferences() throws -> [(name: String, object: ObjectID)] {
        let iterator = try Owned<Git.ReferenceIterator>("list tags", "refs/tags") {
            git_reference_iterator_glob_new(&$0, handle, "refs/tags/*")
        }
        var result: [(name: String, object: ObjectID)] = []
        var raw: OpaquePointer?
        while git_reference_next(&raw, iterator.pointer) == 0, let next = raw {
            let reference = Owned<Git.Reference>(adopting: next)
            guard let name = git_reference_name(reference.pointer), let oid = git_reference_target(reference.pointer)
            else { continue }
            result.append((String(String(cString: name).dropFirst("refs/tags/".count)), ObjectID(oid.pointee)))
        }
        return result
    }

    /// The annotated tag object `id` (named `name`), nil when `id` is not a tag object (a lightweight tag).
    public func annotatedTag(_ id: ObjectID, name: String) throws -> TagInfo? {
        var oid = try id.raw()
        let object = try Owned<Git.Object>("read tag", name) { git_object_lookup(&$0, handle, &oid, GIT_OBJECT_ANY) }
        guard git_object_type(object.pointer) == GIT_OBJECT_TAG else { return nil }
        return try tagInfo(name: name, tag: object.pointer, id: id)
    }

    /// An annotated tag object's name, target (peeled through tags of tags), tagger and message.
    private func tagInfo(name: String, tag: OpaquePointer, id: ObjectID) throws -> TagInfo {
        let peeled = try Owned<Git.Object>("peel tag", name) { git_tag_peel(&$0, tag) }
        return TagInfo(
            name: name, target: ObjectID(git_object_id(peeled.pointer)), tagObject: id,
            tagger: git_tag_tagger(tag).map { GitSignature($0) },
            message: git_tag_message(tag).map { String(cString: $0) })
    }

    /// One tag by name (without `refs/tags/`), nil when it does not exist.
    public func tag(named name: String) throws -> TagInfo? {
        var oid = git_oid()
        let code = git_reference_name_to_id(&oid, handle, "refs/tags/" + name)
        if code == GIT_ENOTFOUND.rawValue { return nil }
        try check(code, "read tag", name)
        let object = try Owned<Git.Object>("read tag", name) { git_object_lookup(&$0, handle, &oid, GIT_OBJECT_ANY) }
        guard git_object_type(object.pointer) == GIT_OBJECT_TAG else {
            return TagInfo(name: name, target: ObjectID(oid), tagObject: nil, tagger: nil, message: nil)
        }
        return try tagInfo(name: name, tag: object.pointer, id: ObjectID(oid))
    }

    /// Creates an annotated tag on `target`; fails with `.referenceExists` when the name is taken.
    @discardableResult
    public func createTag(_ name: String, target: ObjectID, message: String, tagger: GitSignature? = nil) throws
        -> ObjectID
    {
        var oid = try target.raw()
        let object = try Owned<Git.Object>("create tag", name) {
            git_object_lookup(&$0, handle, &oid, GIT_OBJECT_ANY)
        }
        let signature = try tagger ?? defaultSignature()
        var out = git_oid()
        let target = object.pointer
        try withSignature(signature) { sig in
            try check(git_tag_create(&out, handle, name, target, sig, message, 0), "create tag", name)
        }
        return ObjectID(out)
    }

    /// The signature from the repository's configuration (user.name, user.email), or a fixed fallback.
    public func defaultSignature() throws -> GitSignature {
        var raw: UnsafeMutablePointer<git_signature>?
        if git_signature_default(&raw, handle) == 0, let raw {
            defer { git_signature_free(raw) }
            return GitSignature(raw)
        }
        return GitSignature(name: "gitops-ml", email: "gitops-ml@localhost")
    }
}
