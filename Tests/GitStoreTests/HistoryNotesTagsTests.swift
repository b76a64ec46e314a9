import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import GitStore

@Suite("History, notes and tags")
struct HistoryNotesTagsTests {
    let temp = TemporaryDirectory("history")

    @Test func walksAllCommitsAndPathHistoryAcrossMerges() throws {
        let dir = try makeRepository(in: temp.sub("repo"), files: ["metrics.json": "1", "other": "a"])
        let m2 = try commitFiles(["metrics.json": "2"], message: "m2", in: dir, date: 1_700_000_100)
        try commitFiles(["other": "b"], message: "other", in: dir, date: 1_700_000_200)
        try git("checkout", "-q", "-b", "side", "HEAD~2", in: dir)
        let side = try commitFiles(
            ["side.txt": "s", "metrics.json": "3"], message: "side metrics", in: dir, date: 1_700_000_300)
        try git("checkout", "-q", "main", in: dir)
        try run(["git", "merge", "-q", "--no-ff", "-X", "theirs", "-m", "merge side", "side"], in: dir)
        let repo = try Repository(at: dir)

        let all = try repo.history()
        #expect(all.count == 5)
        #expect(all.first?.parents.count == 2)
        #expect(all.first?.summary == "merge side")

        // Compare with git itself.
        let expected = try git("log", "--format=%H", "--", "metrics.json", in: dir).split(separator: "\n").map(
            String.init)
        let ours = try repo.history(paths: ["metrics.json"]).map(\.id.hex)
        #expect(ours == expected)
        // The merge took metrics.json from `side`, so git (and we) follow only that parent: m2 is pruned.
        #expect(ours.contains(side) && !ours.contains(m2))
        #expect(try repo.history(limit: 2).count == 2)
        #expect(try repo.history(from: "side", paths: ["side.txt"]).map(\.id.hex) == [side])
    }

    @Test func readsAndWritesNotes() throws {
        let dir = try makeRepository(in: temp.sub("repo"))
        let repo = try Repository(at: dir)
        let head = try repo.resolve("HEAD")
        #expect(try repo.note(for: head) == nil)
        try repo.setNote("{\"verdict\":\"pass\"}", for: head)
        #expect(try repo.note(for: head) == "{\"verdict\":\"pass\"}")
        try repo.setNote("replaced", for: head)
        #expect(try repo.note(for: head) == "replaced")
        // git itself sees our note.
        #expect(try git("notes", "--ref=gitops-ml", "show", head.hex, in: dir) == "replaced")
        // And we see git's.
        try git("notes", "--ref=other", "add", "-m", "from git", head.hex, in: dir)
        #expect(try repo.note(for: head, ref: "refs/notes/other") == "from git\n")
    }

    @Test func listsLightweightAndAnnotatedTagsWithTaggers() throws {
        let dir = try makeRepository(in: temp.sub("repo"))
        let head = try git("rev-parse", "HEAD", in: dir)
        try git("tag", "lightweight", in: dir)
        try run(["git", "tag", "-a", "churn@v1.0.0", "-m", "Registering version"], in: dir)
        let repo = try Repository(at: dir)
        let tags = try repo.tags()
        #expect(tags.map(\.name) == ["churn@v1.0.0", "lightweight"])
        let annotated = try #require(tags.first)
        #expect(annotated.isAnnotated)
        #expect(annotated.target.hex == head)
        #expect(annotated.tagger?.email == "committer@example.com")
        #expect(annotated.message == "Registering version\n")
        #expect(tags[1].tagger == nil && !tags[1].isAnnotated)

        try repo.createTag(
            "churn#prod#1", target: ObjectID(hex: head), message: "Assigning stage prod",
            tagger: GitSignature(name: "R", email: "r@example.com"))
        #expect(try git("cat-file", "-t", "churn#prod#1", in: dir) == "tag")
        let again = #expect(throws: GitError.self) {
            try repo.createTag("churn#prod#1", target: ObjectID(hex: head), message: "dup")
        }
        #expect(again?.code == .referenceExists)
    }
}
