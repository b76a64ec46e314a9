import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import GitStore

@Suite("Commits without a work tree, compare-and-swap, push and fetch")
struct WritingTests {
    let temp = TemporaryDirectory("write")
    let author = GitSignature(name: "Promoter", email: "promoter@example.com")

    @Test func commitsToBareRepositoryWithoutWorkTree() throws {
        let dir = try makeRepository(in: temp.sub("src"), files: ["keep.txt": "k", "old.txt": "o", "gone/a": "a"])
        let bare = temp.path + "/env.git"
        try git("clone", "-q", "--bare", dir, bare, in: temp.path)
        let repo = try Repository(at: bare)
        let before = try repo.resolve("main")
        let id = try #require(
            try repo.commit(
                on: "main",
                changes: [
                    FileChange(path: "environments/prod/churn.yaml", contents: Array("version: v1\n".utf8)),
                    FileChange(path: "run.sh", contents: Array("#!/bin/sh\n".utf8), executable: true),
                    FileChange(path: "old.txt", contents: nil),
                    FileChange(path: "gone", contents: nil),
                ],
                message: "promote(churn): v1 to prod\n\nGitops-Ml-Model: churn\n", author: author))
        let info = try repo.commit("main")
        #expect(info.id == id)
        #expect(info.parents == [before])
        #expect(info.trailers.map(\.key) == ["Gitops-Ml-Model"])
        #expect(try git("show", "main:environments/prod/churn.yaml", in: bare) == "version: v1")
        #expect(
            try git("ls-tree", "-r", "--name-only", "main", in: bare)
                == "environments/prod/churn.yaml\nkeep.txt\nrun.sh")
        #expect(try git("ls-tree", "main", "run.sh", in: bare).hasPrefix("100755"))
        #expect(try git("fsck", "--strict", in: bare).isEmpty)

        // Same content again: no commit.
        let again = try repo.commit(
            on: "main", changes: [FileChange(path: "keep.txt", contents: Array("k".utf8))], message: "noop")
        #expect(again == nil)
        #expect(try repo.resolve("main") == id)
    }

    @Test func createsOrphanBranch() throws {
        let dir = try makeRepository(in: temp.sub("repo"))
        let repo = try Repository(at: dir)
        let id = try #require(
            try repo.commit(on: "env/prod", changes: [FileChange(path: "a", contents: [65])], message: "first"))
        #expect(try repo.commit(id.hex).parents.isEmpty)
        #expect(throws: GitOpsMLError.self) {
            try repo.commit(on: "x", changes: [FileChange(path: "../escape", contents: [1])], message: "bad")
        }
    }

    @Test func exactlyOneOfTwoRacingWritersWinsTheCompareAndSwap() throws {
        let dir = try makeRepository(in: temp.sub("repo"))
        let tip = try ObjectID(hex: git("rev-parse", "HEAD", in: dir))
        for round in 0..<10 {
            let start = try Repository(at: dir).resolve("main")
            let outcomes = Locked<[Result<ObjectID?, GitError>]>([])
            let group = DispatchGroup()
            for writer in 0..<2 {
                group.enter()
                Thread.detachNewThread {
                    defer { group.leave() }
                    do {
                        let repo = try Repository(at: dir)  // one handle per thread
                        let id = try repo.commit(
                            on: "main", changes: [FileChange(path: "w\(writer)", contents: Array("\(round)".utf8))],
                            message: "writer \(writer)", expectedTip: start)
                        outcomes.withLock { $0.append(.success(id)) }
                    } catch let error as GitError {
                        outcomes.withLock { $0.append(.failure(error)) }
                    } catch {
                        Issue.record(error)
                    }
                }
            }
            group.wait()
            let results = outcomes.withLock { $0 }
            let winners = results.compactMap { try? $0.get() }
            let losers = results.compactMap { result -> GitError? in
                if case .failure(let error) = result { return error }
                return nil
            }
            #expect(winners.count == 1, "round \(round): \(results)")
            #expect(losers.map(\.code) == [.referenceMoved] || losers.map(\.code) == [.locked], "round \(round)")
            #expect(try Repository(at: dir).resolve("main") == winners.first)
        }
        #expect(try git("rev-list", "--count", "main", in: dir) == "11")
        _ = tip
    }

    @Test func pushesFetchesAndReportsNonFastForward() throws {
        let origin = temp.path + "/origin.git"
        try git("init", "-q", "--bare", "-b", "main", origin, in: temp.path)
        let a = try makeRepository(in: temp.sub("a"), files: ["f": "1"])
        let repoA = try Repository(at: a)
        try repoA.push("file://" + origin, refspecs: ["refs/heads/main:refs/heads/main"])
        #expect(try git("rev-parse", "main", in: origin) == repoA.resolve("main").hex)

        // A second clone moves the remote ahead.
        try git("clone", "-q", origin, temp.path + "/b", in: temp.path)
        try commitFiles(["f": "2"], message: "b wins", in: temp.path + "/b")
        try git("push", "-q", "origin", "main", in: temp.path + "/b")

        // A diverging local commit is rejected as non-fast-forward.
        try commitFiles(["g": "a"], message: "a diverges", in: a)
        let rejected = #expect(throws: GitError.self) {
            try repoA.push("file://" + origin, refspecs: ["refs/heads/main:refs/heads/main"])
        }
        #expect(rejected?.code == .nonFastForward)

        // Fetch brings the remote branch in.
        try repoA.fetch("file://" + origin, refspecs: ["+refs/heads/main:refs/remotes/origin/main"])
        #expect(try repoA.resolve("refs/remotes/origin/main").hex == git("rev-parse", "main", in: origin))

        // A named remote works too.
        try git("remote", "add", "origin", origin, in: a)
        try repoA.fetch("origin", refspecs: ["+refs/heads/*:refs/remotes/origin/*"])
        let unreachable = #expect(throws: GitError.self) {
            try repoA.fetch("file://" + temp.path + "/missing.git", refspecs: ["refs/heads/main"])
        }
        #expect(unreachable.map { ExitStatus.of($0) } == .environment)
    }
}
