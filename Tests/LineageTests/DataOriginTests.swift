import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Lineage

/// `data origin` on histories built here: a `.dvc` pointer rewritten without a data change is not an origin;
/// a new digest is; a reverted digest is the same version brought back; LFS pointers and dvc.lock outputs.
@Suite("Where data versions come from")
struct DataOriginTests {
    let temp = TemporaryDirectory("data-origin")

    func pointer(_ md5: String, size: Int = 100, style: Int = 0) -> String {
        switch style {
        case 0: return "outs:\n- md5: \(md5)\n  size: \(size)\n  hash: md5\n  path: train.csv\n"
        default: return "outs:\n  - path: train.csv\n    hash: md5\n    md5: \(md5)\n    size: \(size)\n"
        }
    }

    @Test func aRewrittenPointerIsNotANewVersion() throws {
        let directory = try makeRepository(in: temp.sub("dvc"))
        let a = String(repeating: "a", count: 32)
        let b = String(repeating: "b", count: 32)
        let added = try commitFiles(["data/train.csv.dvc": pointer(a)], message: "Add data", in: directory, date: 1_000)
        let rewritten = try commitFiles(
            ["data/train.csv.dvc": pointer(a, style: 1)], message: "Reformat the pointer", in: directory, date: 2_000)
        try commitFiles(["README.md": "more\n"], message: "Unrelated", in: directory, date: 3_000)
        let refreshed = try commitFiles(
            ["data/train.csv.dvc": pointer(b, size: 120)], message: "New data", in: directory, date: 4_000)
        let reverted = try commitFiles(
            ["data/train.csv.dvc": pointer(a)], message: "Back to the old data", in: directory, date: 5_000)
        let repository = try Repository(at: directory)

        let now = try DataOrigin.trace("data/train.csv", from: "HEAD", in: repository)
        #expect(now.current?.digest == "md5:" + a)
        #expect(now.current?.carrier == "data/train.csv.dvc")
        #expect(now.current?.introduced.id.hex == added, "the reformat is not the origin")
        #expect(now.current?.rewrites.map(\.id.hex) == [rewritten])
        #expect(now.current?.reintroduced.map(\.id.hex) == [reverted])
        #expect(now.versions.map(\.digest) == ["md5:" + b, "md5:" + a])

        let before = try DataOrigin.trace("data/train.csv", from: refreshed, in: repository)
        #expect(before.current?.introduced.id.hex == refreshed)
        #expect(before.current?.rewrites.isEmpty == true)
        let early = try DataOrigin.trace("data/train.csv", from: rewritten, in: repository)
        #expect(early.current?.introduced.id.hex == added)
    }

    /// In a shallow clone the data seem to begin at the boundary: that is said, never given as the origin
    /// (text, JSON `introduced: null` with the boundary); the full clone gives the real commit.
    @Test func aShallowBoundaryIsNeverTheOrigin() throws {
        let directory = try makeRepository(in: temp.sub("deep"))
        let added = try commitFiles(["data/train.csv": "a,b\n1,2\n"], message: "Add data", in: directory)
        for index in 1...3 { try commitFiles(["README.md": "\(index)\n"], message: "Docs \(index)", in: directory) }
        let clone = temp.path + "/shallow-clone"
        try git("clone", "-q", "--depth", "2", "file://" + directory, clone, in: temp.path)

        let full = try DataOrigin.trace("data/train.csv", from: "HEAD", in: try Repository(at: directory))
        #expect(full.current?.introduced.id.hex == added && full.current?.atShallowBoundary == false)

        let shallow = try DataOrigin.trace("data/train.csv", from: "HEAD", in: try Repository(at: clone))
        let version = try #require(shallow.current)
        #expect(version.atShallowBoundary)
        #expect(version.introduced.id.hex != added)
        #expect(shallow.text.contains("introduced at or before"), "\(shallow.text)")
        #expect(
            shallow.text.contains("history is shallow before \(version.introduced.id.short); fetch with fetch-depth: 0")
        )
        #expect(shallow.json["current"]?["introduced"] == .null)
        #expect(shallow.json["current"]?["introduced_at_or_before"]?["commit"] == .string(version.introduced.id.hex))
    }

    /// A file inside a DVC directory output is traced by its own md5 from the folder's .dir listing: a
    /// new folder version that leaves the file alone is not its origin; a path the listing does not have
    /// is not there; without the listing in the cache the answer says it cannot tell.
    @Test func filesInsideDirectoryOutputsHaveTheirOwnVersions() throws {
        let directory = try makeRepository(in: temp.sub("folder"))
        let (cat, dog, bird) = (
            String(repeating: "1", count: 32), String(repeating: "2", count: 32), String(repeating: "3", count: 32)
        )
        func listing(_ entries: [(String, String)]) throws -> String {
            let text =
                "[" + entries.map { "{\"md5\": \"\($0.1)\", \"relpath\": \"\($0.0)\"}" }.joined(separator: ", ") + "]"
            let md5 = Digests.md5(Array(text.utf8)) + ".dir"
            let object = directory + "/.dvc/cache/files/md5/\(md5.prefix(2))/\(md5.dropFirst(2))"
            try FileManager.default.createDirectory(
                atPath: (object as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: object, atomically: true, encoding: .utf8)
            return "outs:\n- md5: \(md5)\n  nfiles: \(entries.count)\n  hash: md5\n  path: images\n"
        }
        let first = try commitFiles(
            ["data/images.dvc": try listing([("cat.png", cat), ("dog.png", dog)])], message: "Images", in: directory)
        try commitFiles(
            ["data/images.dvc": try listing([("cat.png", cat), ("dog.png", bird)])], message: "New dog", in: directory)
        let repository = try Repository(at: directory)
        let origin = try DataOrigin.trace("data/images/cat.png", from: "HEAD", in: repository)
        #expect(origin.current?.digest == "md5:" + cat)
        #expect(origin.current?.introduced.id.hex == first, "the new folder version left cat.png alone")
        let absent = try DataOrigin.trace("data/images/none.png", from: "HEAD", in: repository)
        #expect(absent.current == nil && absent.versions.isEmpty)

        try FileManager.default.removeItem(atPath: directory + "/.dvc/cache")
        let unknown = #expect(throws: GitOpsMLError.self) {
            try DataOrigin.trace("data/images/cat.png", from: "HEAD", in: repository)
        }
        #expect(unknown?.message.contains("run `dvc pull data/images`") == true, "\(String(describing: unknown))")
    }

    @Test func plainFilesLFSPointersAndDvcLockOutputs() throws {
        let directory = try makeRepository(in: temp.sub("kinds"))
        let repository = try Repository(at: directory)
        let plain = try commitFiles(["eval.csv": "x,y\n1,2\n"], message: "Plain data", in: directory)
        #expect(try DataOrigin.trace("eval.csv", from: "HEAD", in: repository).current?.introduced.id.hex == plain)

        let oid = String(repeating: "c", count: 64)
        let lfs = "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize 10\n"
        let pointed = try commitFiles(["big.parquet": lfs], message: "LFS data", in: directory)
        let origin = try DataOrigin.trace("big.parquet", from: "HEAD", in: repository)
        #expect(origin.current?.digest == "sha256:" + oid)
        #expect(origin.current?.introduced.id.hex == pointed)

        // dvc.lock: another stage's change touches the file but not this output's version.
        func lock(_ features: String, _ model: String) -> String {
            """
            schema: '2.0'
            stages:
              featurize:
                cmd: python featurize.py
                outs:
                - path: data/features
                  md5: \(features).dir
                  size: 10
                  nfiles: 2
              train:
                cmd: python train.py
                outs:
                - path: model.pkl
                  md5: \(model)
                  size: 5
            """
        }
        let f1 = String(repeating: "1a", count: 16)
        let f2 = String(repeating: "2b", count: 16)
        let first = try commitFiles(["dvc.lock": lock(f1, f1)], message: "Pipeline", in: directory)
        try commitFiles(["dvc.lock": lock(f1, f2)], message: "Retrain only", in: directory)
        // The folder itself (a file inside it is traced by its own md5 in the listings, above).
        let features = try DataOrigin.trace("data/features", from: "HEAD", in: repository)
        #expect(features.current?.digest == "md5:\(f1).dir")
        #expect(features.current?.introduced.id.hex == first)
        #expect(features.versions.count == 1)
        #expect(features.current?.rewrites.isEmpty == true, "dvc.lock changes of other stages are not rewrites")
    }

    @Test func aRemovedDatasetIsReportedAndTheCommandsOutput() throws {
        let directory = try makeRepository(in: temp.sub("removed"))
        let added = try commitFiles(["data.csv": "a\n1\n"], message: "Add", in: directory)
        try git("rm", "-q", "data.csv", in: directory)
        let removed = try commitFiles([:], message: "Remove", in: directory)
        let origin = try DataOrigin.trace("data.csv", from: "HEAD", in: try Repository(at: directory))
        #expect(origin.current == nil)
        #expect(origin.removals.map(\.id.hex) == [removed])

        let text = try gitopsML(["data", "origin", "data.csv@HEAD~1"], in: directory)
        #expect(text.status == 0)
        #expect(text.stdoutText.contains("introduced by \(added.prefix(12))"))
        let json = try gitopsML(["data", "origin", "data.csv", "--json"], in: directory)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any]
        #expect(object?["current"] is NSNull)
        #expect(((object?["removals"] as? [[String: Any]])?.first?["commit"] as? String) == removed)
        let escaping = try gitopsML(["data", "origin", "../outside.csv"], in: directory)
        #expect(escaping.status == 2, "\(escaping.stderrText)")
        let missing = try gitopsML(["data", "origin", "data.csv@no-such-branch"], in: directory)
        #expect(missing.status == 3 || missing.status == 2)
        #expect(missing.stderrText.split(separator: "\n").count == 1)
    }
}
