import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Datasets

/// Dataset resolution on repositories made with the real formats: `dvc add` (DVC 3), a DVC 2 pointer,
/// a directory output, `dvc.lock`, a git-lfs pointer with its object, and missing or corrupt objects.
@Suite("Data resolution: blobs, DVC, LFS")
struct ResolverTests {
    let temp = TemporaryDirectory("resolve")

    var dvcEnvironment: [String: String] {
        dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
    }

    func dvc(_ arguments: String..., in dir: String) throws {
        let tool = try #require(venvTool("dvc"), "make test installs dvc into .venv")
        try run([tool] + arguments, in: dir, environment: dvcEnvironment)
    }

    func project() throws -> (String, Repository, DataStores) {
        let dir = try makeRepository(in: temp.sub("repo"), files: ["README.md": "x"])
        try dvc("init", "-q", in: dir)
        try write("id,value\n1,10\n2,20\n", to: "data/train.csv", in: dir)
        try write("a,b\r\n1,2\r\n", to: "data/images/a.csv", in: dir)
        try write("c\n3\n", to: "data/images/sub/b.csv", in: dir)
        try dvc("add", "-q", "data/train.csv", in: dir)
        try dvc("add", "-q", "data/images", in: dir)
        try write(
            "stages:\n  copy:\n    cmd: mkdir -p out && cp data/train.csv out/copy.csv\n    deps: [data/train.csv]\n    outs: [out/copy.csv]\n",
            to: "dvc.yaml", in: dir)
        try dvc("repro", "-q", in: dir)
        try commitFiles([:], message: "dvc data", in: dir)
        let repository = try Repository(at: dir)
        return (dir, repository, DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree))
    }

    /// The DVC extra a project's default remote needs, from .dvc/config: s3 for s3://, none for a local or
    /// HTTP remote, and only names from the fixed list.
    @Test func theDefaultRemoteNamesTheDVCExtra() throws {
        let folder = temp.sub("remote-extra")
        for (config, extra) in [
            ("[core]\n    remote = storage\n['remote \"storage\"']\n    url = s3://bucket/dvcstore\n", "s3"),
            ("[core]\nremote = gcs\n['remote \"gcs\"']\nurl = gs://bucket/x\n", "gs"),
            ("[core]\n    remote = web\n['remote \"web\"']\n    url = https://remote.dvc.org/x\n", nil),
            ("[core]\n    remote = local\n['remote \"local\"']\n    url = /tmp/dvc-store\n", nil),
            ("[core]\n    remote = evil\n['remote \"evil\"']\n    url = s3$(touch x)://b\n", nil),
        ] as [(String, String?)] {
            try write(config, to: ".dvc/config", in: folder)
            #expect(DataStores.dvcRemoteExtra(workTree: folder) == extra, "\(config)")
        }
    }

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func dvc3PointersDirectoryOutputsAndLockOutputs() throws {
        let (dir, repository, stores) = try project()
        let head = try repository.fileView(.git("HEAD"))
        let train = try #require(try DataResolver.resolve("data/train.csv", in: head, stores: stores))
        #expect(train.kind == .dvc)
        #expect(train.bytes == Array("id,value\n1,10\n2,20\n".utf8))
        #expect(train.digest == "md5:" + Digests.md5(train.bytes))
        #expect(train.pointer == "data/train.csv.dvc")
        let inDirectory = try #require(try DataResolver.resolve("data/images/sub/b.csv", in: head, stores: stores))
        #expect(inDirectory.bytes == Array("c\n3\n".utf8))
        let crlf = try #require(try DataResolver.resolve("data/images/a.csv", in: head, stores: stores))
        #expect(crlf.bytes == Array("a,b\r\n1,2\r\n".utf8))
        let locked = try #require(try DataResolver.resolve("out/copy.csv", in: head, stores: stores))
        #expect(locked.kind == .dvcLock)
        #expect(locked.bytes == train.bytes)
        #expect(try DataResolver.resolve("data/none.csv", in: head, stores: stores) == nil)
        let plain = try #require(try DataResolver.resolve("README.md", in: head, stores: stores))
        #expect(plain.kind == .blob && plain.digest == "sha256:" + Digests.sha256(Array("x".utf8)))
        _ = dir
    }

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func missingAndCorruptObjectsAreClearErrors() throws {
        let (dir, repository, stores) = try project()
        let head = try repository.fileView(.git("HEAD"))
        let md5 = Digests.md5(Array("id,value\n1,10\n2,20\n".utf8))
        let object = dir + "/.dvc/cache/files/md5/\(md5.prefix(2))/\(md5.dropFirst(2))"
        #expect(FileManager.default.fileExists(atPath: object))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: object)
        try Data("id,value\n1,10\n2,21\n".utf8).write(to: URL(fileURLWithPath: object))
        let corrupt = #expect(throws: GitOpsMLError.self) {
            try DataResolver.resolve("data/train.csv", in: head, stores: stores)
        }
        #expect(corrupt?.message.contains("is corrupt") == true)
        try FileManager.default.removeItem(atPath: object)
        let missing = #expect(throws: GitOpsMLError.self) {
            try DataResolver.resolve("data/train.csv", in: head, stores: stores)
        }
        #expect(
            missing?.message
                == "data/train.csv is a DVC output (data/train.csv.dvc) with md5 \(md5.prefix(12))…; not in the local cache: run `dvc pull data/train.csv` (for a revision other than the work tree's, `dvc fetch --all-commits data/train.csv`)"
        )
        #expect(missing.map { ExitStatus.of($0) } == .environment)
    }

    @Test func dvc2PointersUseTheDos2unixMd5AndTheOldCacheLayout() throws {
        let dir = try makeRepository(in: temp.sub("dvc2"))
        let content = Array("x,y\r\n1,2\r\n".utf8)
        let legacy = Digests.md5(Array("x,y\n1,2\n".utf8))
        try write(
            "outs:\n- md5: \(legacy)\n  size: \(content.count)\n  path: old.csv\n", to: "data/old.csv.dvc", in: dir)
        try commitFiles([:], message: "dvc 2 pointer", in: dir)
        let cache = dir + "/.dvc/cache/\(legacy.prefix(2))"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: cache + "/" + legacy.dropFirst(2)))
        let repository = try Repository(at: dir)
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let resolved = try #require(
            try DataResolver.resolve("data/old.csv", in: repository.fileView(.git("HEAD")), stores: stores))
        #expect(resolved.bytes == content)
        #expect(resolved.digest == "md5:" + legacy)
    }

    @Test func lfsPointersAndTheirObjects() throws {
        let content = Array("id,score\n1,0.5\n".utf8)
        let oid = Digests.sha256(content)
        let dir = try makeRepository(
            in: temp.sub("lfs"),
            files: [
                "data/big.csv":
                    "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\nsize \(content.count)\n",
                "data/old.csv": "version https://hawser.github.com/spec/v1\noid sha256:\(oid)\nsize \(content.count)\n",
                "data/empty.csv": "",
            ])
        let repository = try Repository(at: dir)
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let head = try repository.fileView(.git("HEAD"))
        let absent = #expect(throws: GitOpsMLError.self) {
            try DataResolver.resolve("data/big.csv", in: head, stores: stores)
        }
        #expect(absent?.message.contains("git lfs pull") == true)
        let folder = repository.gitDirectory + "/lfs/objects/\(oid.prefix(2))/\(oid.dropFirst(2).prefix(2))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: folder + "/" + oid))
        for path in ["data/big.csv", "data/old.csv"] {
            let resolved = try #require(try DataResolver.resolve(path, in: head, stores: stores))
            #expect(resolved.kind == .lfs && resolved.bytes == content && resolved.digest == "sha256:" + oid)
        }
        let empty = try #require(try DataResolver.resolve("data/empty.csv", in: head, stores: stores))
        #expect(empty.kind == .blob && empty.bytes.isEmpty)  // an empty file is not a pointer
    }

    /// A file that starts as an LFS pointer and breaks the spec is an error at that file (exit 3), never
    /// data to profile: sizes that are not plain byte counts, a missing size, an oid that is not sha256 hex.
    @Test(arguments: [
        "size 99999999999999999999999", "size -8", "size 1e3", "size 08", "", "size 12\noid md5:abc",
    ])
    func aPointerThatBreaksTheSpecIsAnError(tail: String) throws {
        let oid = String(repeating: "ab", count: 32)
        let text = "version https://git-lfs.github.com/spec/v1\noid sha256:\(oid)\n\(tail)\n"
            .replacingOccurrences(of: "oid sha256:\(oid)\nsize 12\noid md5:abc", with: "size 12\noid md5:abc")
        let dir = try makeRepository(in: temp.sub("bad-pointer-\(UUID().uuidString.prefix(6))"), files: ["d.csv": text])
        let repository = try Repository(at: dir)
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let error = #expect(throws: GitOpsMLError.self) {
            try DataResolver.resolve("d.csv", in: repository.fileView(.git("HEAD")), stores: stores)
        }
        #expect(
            error?.message.hasPrefix("d.csv is a git-lfs pointer that breaks the spec: ") == true,
            "\(String(describing: error))")
        #expect(error.map { ExitStatus.of($0) } == .environment)
    }

    /// Pointers and objects written by the real git-lfs (Debian's), not typed by hand: the tracked file is
    /// read through its pointer with the digest sha256sum gives; a clone that skipped the LFS download
    /// names `git lfs pull`.
    @Test(.enabled(if: toolsAvailable("git-lfs"), "needs git-lfs (make test installs it)"))
    func lfsFilesCommittedByGitLFS() throws {
        _ = try requireTool("git-lfs")
        let dir = try makeRepository(in: temp.sub("real-lfs"))
        try git("lfs", "install", "--local", in: dir)
        try git("lfs", "track", "*.csv", in: dir)
        var content = "id,score\n"
        for index in 0..<500 { content += "\(index),\(Double(index) / 500)\n" }
        try commitFiles(["data/scores.csv": content], message: "LFS data", in: dir)
        let pointer = try git("cat-file", "-p", "HEAD:data/scores.csv", in: dir)
        #expect(pointer.hasPrefix("version https://git-lfs.github.com/spec/v1"), "\(pointer)")
        let digest = try run(["sha256sum", dir + "/data/scores.csv"]).prefix(64)

        let repository = try Repository(at: dir)
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let resolved = try #require(
            try DataResolver.resolve("data/scores.csv", in: repository.fileView(.git("HEAD")), stores: stores))
        #expect(resolved.kind == .lfs)
        #expect(resolved.digest == "sha256:" + digest)
        #expect(resolved.bytes == Array(content.utf8))

        let clone = temp.path + "/real-lfs-clone"
        var environment = gitTestEnvironment
        environment["GIT_LFS_SKIP_SMUDGE"] = "1"
        try run(["git", "clone", "-q", dir, clone], environment: environment)
        let cloned = try Repository(at: clone)
        let absent = #expect(throws: GitOpsMLError.self) {
            try DataResolver.resolve(
                "data/scores.csv", in: cloned.fileView(.git("HEAD")),
                stores: DataStores.of(gitDirectory: cloned.gitDirectory, workTree: cloned.workTree))
        }
        #expect(absent?.message.contains("git lfs pull") == true, "\(String(describing: absent))")
    }
}
