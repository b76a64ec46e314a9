import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Agent

@Suite("Model artifacts on the local target")
struct ArtifactStoreTests {
    let temp = TemporaryDirectory("artifacts")
    var store: ArtifactStore { ArtifactStore(root: temp.path + "/state/artifacts") }
    let weights = Array("weights v1\n".utf8) + (0..<70_000).map { UInt8($0 % 251) }

    func files(in directory: String) -> [String] {
        (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
    }

    @Test func aBlobIsCopiedOnceVerifiedAndReusedWhileIntact() throws {
        let work = try makeRepository(in: temp.sub("work"))
        try FileManager.default.createDirectory(atPath: work + "/model", withIntermediateDirectories: true)
        try Data(weights).write(to: URL(fileURLWithPath: work + "/model/model.bin"))
        try commitFiles([:], message: "model", in: work)
        let repository = try Repository(at: work)
        let view = try repository.fileView(.git("HEAD"))
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let digest = "sha256:" + Digests.sha256(weights)

        let path = try store.materialize(
            model: "churn", path: "model/model.bin", digest: digest, in: view, stores: stores)
        #expect(path == store.root + "/churn/sha256-\(Digests.sha256(weights))/model.bin")
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == weights)
        #expect(try String(contentsOfFile: path + ".sha256", encoding: .utf8) == Digests.sha256(weights))

        // Reused as it is: the same inode.
        let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int
        _ = try store.materialize(model: "churn", path: "model/model.bin", digest: digest, in: view, stores: stores)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int == inode)

        // Damaged on disk: written again from git.
        try Data("rot".utf8).write(to: URL(fileURLWithPath: path))
        _ = try store.materialize(model: "churn", path: "model/model.bin", digest: digest, in: view, stores: stores)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == weights)
        #expect(
            files(in: store.root) == [
                "churn", "churn/sha256-\(Digests.sha256(weights))", "churn/sha256-\(Digests.sha256(weights))/model.bin",
                "churn/sha256-\(Digests.sha256(weights))/model.bin.sha256",
            ])
    }

    @Test func whatTheReleaseDoesNotVouchForIsNeverWritten() throws {
        let work = try makeRepository(in: temp.sub("work"), files: ["model/model.bin": "weights v2\n"])
        let repository = try Repository(at: work)
        let view = try repository.fileView(.git("HEAD"))
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let cases: [(model: String, path: String, digest: String?, message: String)] = [
            ("churn", "model/model.bin", "sha256:" + Digests.sha256(weights), "but the release record says sha256:"),
            ("churn", "model/model.bin", nil, "names no artifact digest"),
            ("churn", "model/model.bin", "crc32:1234", "names no artifact digest"),
            ("churn", "model/absent.bin", "sha256:" + Digests.sha256(weights), "model/absent.bin at HEAD is absent"),
            ("../escape", "model/model.bin", "sha256:" + Digests.sha256(weights), "cannot name a folder"),
            ("churn", "../outside.bin", "sha256:" + Digests.sha256(weights), "outside"),
        ]
        for item in cases {
            let error = #expect(throws: GitOpsMLError.self) {
                try store.materialize(model: item.model, path: item.path, digest: item.digest, in: view, stores: stores)
            }
            #expect(error?.description.contains(item.message) == true, "\(error?.description ?? "no error")")
        }
        #expect(files(in: store.root).isEmpty, "nothing written, not even a folder")
    }

    @Test func aGitLFSObjectIsVerifiedAsItIsCopied() throws {
        let oid = Digests.sha256(weights)
        let pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize \(weights.count)\n"
        let work = try makeRepository(in: temp.sub("lfs"), files: ["model/model.bin": pointer])
        let repository = try Repository(at: work)
        let view = try repository.fileView(.git("HEAD"))
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let folder = repository.gitDirectory + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)

        // A corrupt object of the right size: refused when its last bytes are read, nothing left behind.
        var corrupt = weights
        corrupt[corrupt.count - 1] ^= 0xff
        try Data(corrupt).write(to: URL(fileURLWithPath: folder + "/" + oid))
        let error = #expect(throws: GitOpsMLError.self) {
            try store.materialize(
                model: "churn", path: "model/model.bin", digest: "sha256:" + oid, in: view, stores: stores)
        }
        #expect(error?.description.contains("is corrupt") == true, "\(error?.description ?? "")")
        let leftovers = files(in: store.root).filter { $0.hasSuffix(".bin") || $0.contains(".gitops-ml-") }
        #expect(leftovers.isEmpty, "\(leftovers)")

        try Data(weights).write(to: URL(fileURLWithPath: folder + "/" + oid))
        let path = try store.materialize(
            model: "churn", path: "model/model.bin", digest: "sha256:" + oid, in: view, stores: stores)
        #expect(try Array(Data(contentsOf: URL(fileURLWithPath: path))) == weights)
    }
}
