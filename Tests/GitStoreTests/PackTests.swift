import Foundation
import GitStore
import TestSupport
import Testing

@Suite struct PackTests {
    /// Three packs become one holding every object: git's own fsck finds nothing missing, and every
    /// commit, tree and blob is still read.
    @Test func consolidatedPacksKeepEveryObject() throws {
        let temp = TemporaryDirectory("packs")
        let work = try makeRepository(in: temp.sub("work"), files: ["a.txt": "1\n"])
        for round in 2...3 {
            try git("repack", "-q", in: work)
            try write("\(round)\n", to: "file\(round).txt", in: work)
            try git("add", "-A", in: work)
            try git("commit", "-qm", "round \(round)", in: work)
        }
        try git("repack", "-q", in: work)
        let objects = try git("rev-list", "--all", "--objects", in: work).split(separator: "\n").count
        let repository = try Repository(at: work)
        #expect(repository.packCount == 3)
        try repository.consolidatePacks()
        let reopened = try Repository(at: work)
        #expect(reopened.packCount == 1)
        #expect(try git("rev-list", "--all", "--objects", in: work).split(separator: "\n").count == objects)
        _ = try run(["git", "fsck", "--strict", "--no-dangling"], in: work)
        #expect(try reopened.read("file3.txt", at: .git("HEAD")) == Array("3\n".utf8))
    }
}
