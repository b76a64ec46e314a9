import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Data

/// dvc.lock against the commit beside it, with the real DVC as the reference: after `dvc repro` nothing is
/// stale; a changed file in a folder dependency, a changed parameter and changed data are each found, and
/// exactly the dependencies `dvc status` names.
@Suite("Stale pipelines", .serialized)
struct StalePipelineTests {
    let temp = TemporaryDirectory("stale")

    func dvc(_ arguments: [String], in directory: String) throws -> String {
        let tool = try #require(venvTool("dvc"), "make test installs dvc into .venv")
        var environment = gitTestEnvironment
        environment["DVC_NO_ANALYTICS"] = "1"
        return try run([tool] + arguments, in: directory, environment: environment, timeout: 300)
    }

    /// What `dvc status --json` says changed, as `dependency` strings like ours.
    func dvcChanged(in directory: String) throws -> Set<String> {
        let text = try dvc(["status", "--json"], in: directory)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        var changed: Set<String> = []
        for case let entries as [Any] in object.values {
            for case let entry as [String: Any] in entries {
                for case let deps as [String: Any] in [entry["changed deps"]].compactMap({ $0 }) {
                    for (path, value) in deps {
                        if let params = value as? [String: Any] {
                            changed.formUnion(params.keys.map { "\(path):\($0)" })
                        } else {
                            changed.insert(path)
                        }
                    }
                }
            }
        }
        return changed
    }

    func stale(_ directory: String) throws -> Set<String> {
        let repository = try Repository(at: directory)
        return Set(try StalePipeline.check(try repository.fileView(.git("HEAD"))).map(\.dependency))
    }

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func matchesDVCStatusOnCodeFoldersParamsAndData() throws {
        let directory = try makeRepository(in: temp.sub("pipeline"))
        _ = try dvc(["init", "-q"], in: directory)
        try write("print('train')\nopen('model.txt', 'w').write('m')\n", to: "train.py", in: directory)
        try write("def a():\n    return 1\n", to: "src/util.py", in: directory)
        try write("X = 2\r\nY = 3\r\n", to: "src/lib/helper.py", in: directory)
        try write("lr: 0.1\ntrain:\n  epochs: 5\n  batch: 32\n", to: "params.yaml", in: directory)
        try write("a,b\n1,2\n", to: "data.csv", in: directory)
        try write(
            """
            stages:
              train:
                cmd: python3 train.py
                deps: [train.py, src, data.csv]
                params: [lr, train.epochs]
                outs: [model.txt]

            """, to: "dvc.yaml", in: directory)
        _ = try dvc(["repro", "-q"], in: directory)
        try commitFiles([:], message: "Reproduced", in: directory)
        #expect(try stale(directory).isEmpty)
        #expect(try dvcChanged(in: directory).isEmpty)

        try write("X = 2\r\nY = 4\r\n", to: "src/lib/helper.py", in: directory)
        try write("lr: 0.1\ntrain:\n  epochs: 6\n  batch: 64\n", to: "params.yaml", in: directory)
        try write("a,b\n1,2\n3,4\n", to: "data.csv", in: directory)
        try commitFiles([:], message: "Changed without dvc repro", in: directory)
        let ours = try stale(directory)
        #expect(ours == ["src", "params.yaml:train.epochs", "data.csv"])
        #expect(ours == (try dvcChanged(in: directory)))

        let found = try StalePipeline.check(try Repository(at: directory).fileView(.git("HEAD")))
        #expect(
            found.first { $0.dependency == "src" }?.message.hasPrefix("stale pipeline: stage train's outputs") == true)
    }

    @Test func legacyLocksHashTextWithoutCarriageReturns() throws {
        let directory = try makeRepository(in: temp.sub("legacy"))
        let text: [UInt8] = Array("a,b\r\n1,2\r\n".utf8)
        let unix = Insecure_md5(Array("a,b\n1,2\n".utf8))
        try Data(text).write(to: URL(fileURLWithPath: directory + "/data.csv"))
        try write(
            "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: data.csv\n      md5: \(unix)\n      size: 8\n",
            to: "dvc.lock", in: directory)
        try commitFiles([:], message: "DVC 2 lock", in: directory)
        #expect(try stale(directory).isEmpty, "DVC 2's md5 of a text file ignores CRLF")
        try write(
            "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: data.csv\n      hash: md5\n      md5: \(unix)\n      size: 8\n",
            to: "dvc.lock", in: directory)
        try commitFiles([:], message: "DVC 3 lock", in: directory)
        #expect(try stale(directory) == ["data.csv"], "DVC 3's md5 is of the bytes")
    }

    func Insecure_md5(_ bytes: [UInt8]) -> String { MD5.hex(bytes) }
}
