import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import GitStore

/// The history cache answers exactly what a walk answers: repeated, after new commits (walking only
/// them), across a merge, after a force-push, and after its file is damaged.
@Suite("The history cache")
struct HistoryCacheTests {
    let temp = TemporaryDirectory("history-cache")

    @Test func answersWhatAWalkAnswers() throws {
        let directory = try makeRepository(in: temp.sub("repo"))
        let repository = try Repository(at: directory)
        let paths = ["data/train.csv", "data/train.csv.dvc", "dvc.lock"]
        // The reference is git's own answer (`git log -- paths`), not our walk: the walk, the first cached
        // answer and the repeated one must each equal it.
        func check(_ revision: String, _ note: Comment) throws {
            let expected = try git(["log", "--format=%H", revision, "--"] + paths, in: directory)
                .split(separator: "\n").map(String.init)
            #expect(!expected.isEmpty, note)
            #expect(try repository.history(from: revision, paths: paths).map(\.id.hex) == expected, note)
            #expect(try repository.cachedHistory(from: revision, paths: paths).map(\.id.hex) == expected, note)
            #expect(try repository.cachedHistory(from: revision, paths: paths).map(\.id.hex) == expected, note)
        }
        var time = 1_000
        func commit(_ files: [String: String], _ message: String) throws {
            time += 100
            try commitFiles(files, message: message, in: directory, date: time)
        }
        for index in 0..<30 {
            try commit(index % 5 == 0 ? ["data/train.csv": "\(index)\n"] : ["src/a.py": "\(index)\n"], "c\(index)")
        }
        try check("HEAD", "first walk")
        try commit(["data/train.csv": "new\n"], "new data")
        try commit(["src/a.py": "more\n"], "code")
        try check("HEAD", "new commits on top")
        try check("HEAD~5", "an older start")

        try git("checkout", "-q", "-b", "side", "HEAD~3", in: directory)
        try commit(["data/train.csv": "side\n"], "side data")
        try git("checkout", "-q", "main", in: directory)
        try run(
            ["git", "merge", "-q", "--no-edit", "-X", "ours", "side"], in: directory, environment: gitTestEnvironment)
        try check("HEAD", "after a merge")

        try git("reset", "-q", "--hard", "HEAD~6", in: directory)
        try commit(["data/train.csv": "rewritten\n"], "force-pushed history")
        try check("HEAD", "after a rewrite")

        try "gitops-ml history cache v1\n\nnot\ta record\n".write(
            toFile: repository.commonDirectory + "/gitops-ml/history-cache", atomically: true, encoding: .utf8)
        try check("HEAD", "after the file was damaged")
    }
}
