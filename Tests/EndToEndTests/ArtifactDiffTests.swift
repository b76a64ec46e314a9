import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `diff artifacts` against the real `dvc diff` where both apply (DVC files and folders), and for what dvc
/// does not see: git-lfs pointers and plain model files.
@Suite("diff artifacts", .serialized)
struct ArtifactDiffTests {
    let temp = TemporaryDirectory("artifact-diff")

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func agreesWithDVCDiffAndSeesLFSAndPlainFiles() throws {
        let dvc = try requireTool("dvc")
        let environment = dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
        let directory = try makeRepository(in: temp.sub("project"), files: ["README.md": "a project\n"])
        func dvcRun(_ arguments: [String]) throws -> String {
            try run([dvc] + arguments, in: directory, environment: environment, timeout: 300)
        }
        _ = try dvcRun(["init", "-q"])
        let lfs = { (oid: Character, size: Int) in
            "version https://git-lfs.github.com/spec/v1\noid sha256:\(String(repeating: oid, count: 64))\nsize \(size)\n"
        }
        try write("a,b\n1,2\n", to: "data/train.csv", in: directory)
        try write("x\n", to: "data/images/one.txt", in: directory)
        try write("y\n", to: "data/images/two.txt", in: directory)
        _ = try dvcRun(["add", "-q", "data/train.csv", "data/images"])
        try write(lfs("a", 100), to: "models/big.onnx", in: directory)
        try write("weights 1\n", to: "models/small.pkl", in: directory)
        try write("print(1)\n", to: "train.py", in: directory)
        try commitFiles([:], message: "v1", in: directory)
        try git("tag", "v1", in: directory)

        try write("a,b\n1,2\n3,4\n", to: "data/train.csv", in: directory)
        try write("z\n", to: "data/images/three.txt", in: directory)
        try write("c\n", to: "data/eval.csv", in: directory)
        _ = try dvcRun(["add", "-q", "data/train.csv", "data/images", "data/eval.csv"])
        try write(lfs("b", 120), to: "models/big.onnx", in: directory)
        try write("print(2)\n", to: "train.py", in: directory)
        try FileManager.default.removeItem(atPath: directory + "/models/small.pkl")
        try commitFiles([:], message: "v2", in: directory)

        let ours = try gitopsML(["diff", "artifacts", "v1", "HEAD", "--json"], in: directory)
        #expect(ours.status == 0, "\(ours.stderrText)")
        let theirs = try dvcRun(["diff", "--json", "v1", "HEAD"])
        func entries(_ text: String) throws -> Set<String> {
            let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
            var found: Set<String> = []
            for status in ["added", "deleted", "modified"] {
                for case let entry as [String: Any] in object[status] as? [Any] ?? [] {
                    if let path = entry["path"] as? String { found.insert("\(status) \(path)") }
                }
            }
            return found
        }
        let ourEntries = try entries(ours.stdoutText)
        // What dvc diff names (its folder's files too, with the cache here), ours names at the output level.
        let dvcOutputs = try entries(theirs).filter { entry in
            !entry.contains("data/images/") || entry.hasSuffix("data/images/")
        }
        #expect(ourEntries.filter { $0.contains("data/") } == dvcOutputs, "ours \(ourEntries), dvc \(theirs)")
        #expect(ourEntries.contains("modified models/big.onnx"))
        #expect(ourEntries.contains("deleted models/small.pkl"))
        #expect(!ourEntries.contains { $0.contains("train.py") }, "code is not an artifact")
        let text = try gitopsML(["diff", "artifacts", "v1"], in: directory)
        let line = text.stdoutText.split(separator: "\n").first { $0.contains("models/big.onnx") } ?? ""
        #expect(
            line.hasPrefix("modified") && line.contains("git-lfs") && line.contains("(120 bytes)"), "\(text.stdoutText)"
        )
    }

    /// A monorepo's DVC projects each record their outputs in their own dvc.lock, relative to their folder:
    /// a changed output is named by its path in the repository, with the lock that carries it.
    @Test func aMonorepoProjectsOutputsAreNamedThroughTheirOwnLock() throws {
        func lock(_ md5: Character) -> String {
            "schema: '2.0'\nstages:\n  make:\n    cmd: python make.py\n    outs:\n    - path: models/model.pkl\n      md5: \(String(repeating: md5, count: 32))\n      size: 10\n"
        }
        let directory = try makeRepository(
            in: temp.sub("monorepo"),
            files: ["project-1/dvc.lock": lock("a"), "project-2/dvc.lock": lock("b"), "README.md": "two\n"])
        try git("tag", "v1", in: directory)
        try commitFiles(["project-2/dvc.lock": lock("c")], message: "retrain project 2", in: directory)
        let result = try gitopsML(["diff", "artifacts", "v1", "HEAD", "--json"], in: directory)
        #expect(result.status == 0, "\(result.stderrText)")
        #expect(result.stdoutText.contains("project-2/models/model.pkl"), "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("project-1/models/model.pkl"), "unchanged: \(result.stdoutText)")
        #expect(result.stdoutText.contains("project-2/dvc.lock"), "the carrier is named: \(result.stdoutText)")
    }
}
