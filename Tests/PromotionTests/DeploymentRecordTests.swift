import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Promotion

@Suite("Deployment records as git notes")
struct DeploymentRecordTests {
    let temp = TemporaryDirectory("deployments")
    let author = GitSignature(name: "gitops-ml agent", email: "agent@example.com")

    func record(_ commit: String, _ outcome: DeploymentRecord.Outcome, at second: TimeInterval) -> DeploymentRecord {
        DeploymentRecord(
            environment: "production", target: "local", commit: commit,
            started: Date(timeIntervalSince1970: 1_790_000_000 + second),
            finished: Date(timeIntervalSince1970: 1_790_000_004 + second), outcome: outcome,
            checks: [
                .init(name: "readyz", status: "Healthy", reason: "HTTP 200"),
                .init(
                    name: "smoke prediction", status: outcome == .healthy ? "Healthy" : "Degraded",
                    reason: outcome == .healthy ? "answered in 0.012 s" : "HTTP 500: boom"),
            ],
            restored: outcome == .failed ? String(repeating: "0", count: 40) : nil,
            agent: "gitops-ml 0.4.0 on host-1")
    }

    /// A bare remote named `name` holding one commit of `main`, and that commit.
    func remote(_ name: String) throws -> (path: String, commit: String) {
        let remote = temp.path + "/\(name).git"
        try git("init", "-q", "--bare", "-b", "main", remote, in: temp.path)
        let origin = try makeRepository(in: temp.sub("\(name)-origin"))
        try git("push", "-q", remote, "main", in: origin)
        return (remote, try git("rev-parse", "HEAD", in: origin))
    }

    @Test func recordsAppendInOrderAndGitReadsThem() throws {
        let work = try makeRepository(in: temp.sub("work"))
        let commit = try git("rev-parse", "HEAD", in: work)
        let repository = try Repository(at: work)
        try repository.setNote("gate report\n", for: ObjectID(hex: commit), author: author)

        #expect(try DeploymentNotes.records(for: ObjectID(hex: commit), in: repository).isEmpty)
        try DeploymentNotes.append(record(commit, .failed, at: 0), in: repository, author: author)
        let all = try DeploymentNotes.append(record(commit, .healthy, at: 60), in: repository, author: author)
        #expect(all.map(\.outcome) == [.failed, .healthy])
        #expect(try DeploymentNotes.records(for: ObjectID(hex: commit), in: repository) == all)

        // The real git sees the same note, dates in UTC ISO 8601, and the gate-report note is untouched.
        let shown = try git("notes", "--ref", "gitops-ml-deployments", "show", commit, in: work)
        #expect(shown.contains(#""started" : "2026-09-21T"#) && shown.contains(#""outcome" : "failed""#), "\(shown)")
        #expect(try git("notes", "--ref", "gitops-ml", "show", commit, in: work) == "gate report")
        #expect(
            try git("log", "--format=%an", "refs/notes/gitops-ml-deployments", in: work)
                == "gitops-ml agent\ngitops-ml agent")
    }

    @Test(arguments: [
        ("deployed fine", "is not a deployment record"),
        (#"{"version": 2, "deployments": []}"#, "has version 2; this gitops-ml reads 1"),
    ])
    func aNoteThatDoesNotReadBackIsNeverOverwritten(note: String, message: String) throws {
        let work = try makeRepository(in: temp.sub("work"))
        let commit = try git("rev-parse", "HEAD", in: work)
        try git("notes", "--ref", "gitops-ml-deployments", "add", "-m", note, commit, in: work)
        let repository = try Repository(at: work)
        let error = try #require(throws: GitOpsMLError.self) {
            try DeploymentNotes.append(record(commit, .healthy, at: 0), in: repository, author: author)
        }
        #expect(error.message.hasSuffix(message), "\(error)")
        #expect(error.message.contains(String(commit.prefix(12))))
        #expect(try git("notes", "--ref", "gitops-ml-deployments", "show", commit, in: work) == note)
    }

    @Test func anOversizedNoteIsRefusedBeforeItIsDecoded() throws {
        let work = try makeRepository(in: temp.sub("work"))
        let commit = try ObjectID(hex: git("rev-parse", "HEAD", in: work))
        let repository = try Repository(at: work)
        let huge = #"{"version": 1, "deployments": []"# + String(repeating: " ", count: 5 << 20) + "}"
        try repository.setNote(huge, for: commit, ref: DeploymentNotes.ref, author: author)
        let error = try #require(throws: GitOpsMLError.self) {
            try DeploymentNotes.records(for: commit, in: repository)
        }
        #expect(error.message.hasSuffix("is over 4 MB: not a deployment record"))
    }

    @Test func aRecordCopiedOntoAnotherCommitIsCaught() throws {
        let work = try makeRepository(in: temp.sub("work"))
        let first = try git("rev-parse", "HEAD", in: work)
        let second = try commitFiles(["b": "2\n"], message: "second", in: work)
        let repository = try Repository(at: work)
        try DeploymentNotes.append(record(first, .healthy, at: 0), in: repository, author: author)
        try git("notes", "--ref", "gitops-ml-deployments", "copy", first, second, in: work)
        let error = try #require(throws: GitOpsMLError.self) {
            try DeploymentNotes.records(for: ObjectID(hex: second), in: repository)
        }
        #expect(error.message.contains("records a deployment of \(first), another commit"))
    }

    /// Several agents publish to one bare remote at the same moment: every record arrives.
    @Test func recordsPublishedConcurrentlyAllReachTheRemote() throws {
        let remote = temp.path + "/remote.git"
        try git("init", "-q", "--bare", "-b", "main", remote, in: temp.path)
        let origin = try makeRepository(in: temp.sub("origin"))
        try git("remote", "add", "origin", remote, in: origin)
        try git("push", "-q", "origin", "main", in: origin)
        let commit = try git("rev-parse", "HEAD", in: origin)
        let writers = 4
        // One first, alone: it creates the notes ref on the remote.
        #expect(
            try DeploymentNotes.publish(record(commit, .failed, at: 0), remote: remote, author: author) == 1)

        let failures = Locked<[String]>([])
        let attempts = Locked<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: writers) { index in
            do {
                let used = try DeploymentNotes.publish(
                    record(commit, .healthy, at: Double(index + 1) * 60), remote: remote, author: author,
                    attempts: 20)
                attempts.withLock { $0.append(used) }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // Whether these writers raced depends on timing (runs took [1, 2, 2, 2] and [1, 1, 1, 4] attempts);
        // the test below makes the race happen for certain.
        #expect(attempts.withLock { $0.count } == writers)
        let bare = try Repository(at: remote)
        let records = try DeploymentNotes.records(for: ObjectID(hex: commit), in: bare)
        #expect(records.count == 1 + writers)
        #expect(records.first?.outcome == .failed, "the first record stays first")
        #expect(Set(records.dropFirst().map(\.started)).count == writers, "each agent's record once")
        // The real git reads them from the remote as well.
        let shown = try run(
            ["git", "--git-dir", remote, "notes", "--ref", "gitops-ml-deployments", "show", commit], in: temp.path)
        #expect(shown.components(separatedBy: "\"environment\"").count == 1 + 1 + writers)
    }

    /// Publishing is keyed by the record: the same record published again (the agent killed between the
    /// push and its state save) is not written twice, and nothing is pushed for it — with the times the
    /// agent gives it (to the microsecond, where the note keeps seconds).
    @Test func aRecordPublishedAgainIsWrittenOnce() throws {
        let (remote, commit) = try remote("remote-once")
        let healthy = record(commit, .healthy, at: 0.123456)
        try DeploymentNotes.publish(healthy, remote: remote, author: author)
        let tip = try git("rev-parse", DeploymentNotes.ref, in: remote)
        try DeploymentNotes.publish(healthy, remote: remote, author: author)
        #expect(try git("rev-parse", DeploymentNotes.ref, in: remote) == tip, "nothing pushed")
        try DeploymentNotes.publish(record(commit, .failed, at: 60), remote: remote, author: author)
        let records = try DeploymentNotes.records(for: ObjectID(hex: commit), in: try Repository(at: remote))
        #expect(records.map(\.outcome) == [.healthy, .failed])
    }

    /// The agent publishes through its mirror (a bare copy of the remote it owns): only what is new is
    /// fetched, nothing temporary is made, and a note of the mirror's own that the remote never had (a push
    /// that failed earlier) does not block the next one.
    @Test func theAgentPublishesThroughItsMirror() throws {
        let (remote, commit) = try remote("remote-mirror")
        let mirror = temp.path + "/mirror.git"
        try git("clone", "-q", "--bare", remote, mirror, in: temp.path)
        let repository = try Repository(at: mirror, discover: false)
        try DeploymentNotes.append(record(commit, .failed, at: 0), in: repository, author: author)  // never pushed
        try DeploymentNotes.publish(record(commit, .healthy, at: 60), remote: remote, in: repository, author: author)
        try DeploymentNotes.publish(record(commit, .healthy, at: 120), remote: remote, in: repository, author: author)
        let published = try DeploymentNotes.records(for: ObjectID(hex: commit), in: try Repository(at: remote))
        #expect(published.map(\.started.timeIntervalSince1970) == [1_790_000_060, 1_790_000_120])
        #expect(
            try git("rev-parse", DeploymentNotes.ref, in: mirror) == git("rev-parse", DeploymentNotes.ref, in: remote))
    }

    /// A writer that pushes between our fetch and our push makes the compare-and-swap fail for certain:
    /// the publish starts again from a new fetch, and both records are on the remote.
    @Test func aWriterThatMovesTheRefBetweenFetchAndPushIsNotOverwritten() throws {
        let (remote, commit) = try remote("raced")
        let rival = record(commit, .healthy, at: 60)
        let ours = record(commit, .failed, at: 120)
        var changes = 0
        let attempt = try NotesPublisher.update(
            DeploymentNotes.ref, on: ObjectID(hex: commit), remote: remote, author: author
        ) { existing in
            changes += 1
            if changes == 1 {  // the rival lands after our fetch, before our push
                #expect(try DeploymentNotes.publish(rival, remote: remote, author: author) == 1)
            }
            let commitID = ObjectID(hex: commit)
            return try DeploymentNotes.encode(
                (try existing.map { try DeploymentNotes.decode($0, commit: commitID) } ?? []) + [ours])
        }
        #expect(attempt == 2, "the first push lost the race and the second won")
        #expect(changes == 2)
        let records = try DeploymentNotes.records(for: ObjectID(hex: commit), in: try Repository(at: remote))
        #expect(records.map(\.outcome) == [.healthy, .failed], "the rival's record is kept, ours follows it")
    }
}
