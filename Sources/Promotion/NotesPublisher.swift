import Foundation
import GitOpsMLCore
import GitStore

/// Changes one note on a remote's notes ref by compare-and-swap: fetch the remote's ref, write the note on
/// top of it, push; start again from a new fetch when another writer pushed in between. The work happens
/// in a fresh temporary bare repository, so the caller's own notes are never rewritten — or, for the agent,
/// in its mirror (`store`), a copy of the remote it owns: the fetch then brings only what is new, and no
/// temporary repository is left behind by a kill.
public enum NotesPublisher {
    /// `change` turns the remote's note on `commit` (nil: none) into the new one; returning the same text
    /// pushes nothing. Returns the attempt that succeeded.
    @discardableResult
    public static func update(
        _ ref: String, on commit: ObjectID, remote: String, in mirror: Repository? = nil, author: GitSignature? = nil,
        sign: ((String) throws -> String)? = nil, commitMessage: String? = nil, attempts: Int = 8,
        credentials: RemoteCredentials = .fromEnvironment(), change: (String?) throws -> String
    ) throws -> Int {
        for attempt in 1...max(1, attempts) {
            let folder = FileManager.default.temporaryDirectory.path + "/gitops-ml-notes-\(UUID().uuidString)"
            defer { if mirror == nil { try? FileManager.default.removeItem(atPath: folder) } }
            let store = try mirror ?? Repository.createBare(at: folder)
            if try store.remoteReferences(remote, credentials: credentials).contains(ref) {
                try store.fetch(remote, refspecs: ["+\(ref):\(ref)"], credentials: credentials)
            } else if mirror != nil, try store.referenceTarget(ref) != nil {
                try store.deleteReference(ref)  // a note of the mirror's own the remote never had
            }
            let tip = try store.referenceTarget(ref)
            let existing = try store.note(for: commit, ref: ref)
            let text = try change(existing)
            if text == existing { return attempt }
            try store.setNote(text, for: commit, ref: ref, author: author, sign: sign, commitMessage: commitMessage)
            do {
                try store.pushCompareAndSwap(
                    remote, localRef: ref, remoteRef: ref, expected: tip, credentials: credentials)
                return attempt
            } catch let error as GitError where error.code == .nonFastForward || error.code == .locked {
                Thread.sleep(forTimeInterval: 0.01 * Double(attempt) * Double.random(in: 1..<2))
            }
        }
        throw GitOpsMLError.environment(
            "\(ref) on \(commit.short) was not published to \(Redaction.url(remote)) in \(attempts) attempts: "
                + "other writers kept moving it")
    }
}
