import Foundation
import GitOpsMLCore
import GitStore
import TestSupport
import Testing

@testable import Datasets

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

    func judgement(_ directory: String) throws -> StalePipeline.Judgement {
        let repository = try Repository(at: directory)
        return try #require(try StalePipeline.check(try repository.fileView(.git("HEAD"))))
    }

    func stale(_ directory: String) throws -> Set<String> { Set(try judgement(directory).stale.map(\.dependency)) }

    /// `dvc status --json` as "stage deps PATH" and "stage outs PATH" entries.
    func dvcChangedByStage(in directory: String) throws -> Set<String> {
        let text = try dvc(["status", "--json"], in: directory)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        var changed: Set<String> = []
        for (stage, value) in object {
            for case let entry as [String: Any] in value as? [Any] ?? [] {
                for (key, kind) in [("changed deps", "deps"), ("changed outs", "outs")] {
                    for path in (entry[key] as? [String: Any] ?? [:]).keys {
                        changed.insert("\(stage) \(kind) \(path)")
                    }
                }
            }
        }
        return changed
    }

    func staleByStage(_ directory: String) throws -> Set<String> {
        Set(try judgement(directory).stale.map { "\($0.stage) \($0.isOutput ? "outs" : "deps") \($0.dependency)" })
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

        let found = try judgement(directory).stale
        #expect(
            found.first { $0.dependency == "src" }?.message.hasPrefix("stale pipeline: stage train's outputs") == true)
    }

    /// Outputs kept in git (`cache: false`) edited after `dvc repro`: the stage's output and the next
    /// stage's dependency are both stale, exactly as `dvc status` says (the lock's own record of the
    /// output is not what the next stage is compared with).
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func outputsKeptInGitAreComparedWithTheFilesThere() throws {
        let directory = try makeRepository(in: temp.sub("uncached"))
        _ = try dvc(["init", "-q"], in: directory)
        try write("open('model.txt', 'w').write('weights 1\\n')\n", to: "train.py", in: directory)
        try write(
            "import json\njson.dump({'auc': len(open('model.txt').read())}, open('metrics.json', 'w'))\n",
            to: "evaluate.py", in: directory)
        try write(
            """
            stages:
              train:
                cmd: python3 train.py
                deps: [train.py]
                outs:
                - model.txt:
                    cache: false
              evaluate:
                cmd: python3 evaluate.py
                deps: [evaluate.py, model.txt]
                metrics:
                - metrics.json:
                    cache: false

            """, to: "dvc.yaml", in: directory)
        _ = try dvc(["repro", "-q"], in: directory)
        try commitFiles([:], message: "Reproduced", in: directory)
        #expect(try staleByStage(directory).isEmpty)
        #expect(try judgement(directory).format == "DVC 3")

        try write("weights 2, edited by hand\n", to: "model.txt", in: directory)
        try write("{\"auc\": 0.99}", to: "metrics.json", in: directory)
        try commitFiles([:], message: "Edited outputs without dvc repro", in: directory)
        let ours = try staleByStage(directory)
        #expect(ours == ["train outs model.txt", "evaluate deps model.txt", "evaluate outs metrics.json"])
        #expect(ours == (try dvcChangedByStage(in: directory)))
        #expect(
            try judgement(directory).stale.first { $0.isOutput }?.message.contains("was changed after dvc repro")
                == true)
    }

    /// A folder dependency as `dvc checkout` fills it (the shape of iterative/example-dvc-experiments: `data/`
    /// holding `images.tar.gz.dvc` and its `.gitignore`; an output of another stage inside a folder): the
    /// files pointers and stages put there count at their recorded md5, so an untouched pipeline is not
    /// stale. A file git does not hold (a `__pycache__` left at `dvc repro`) makes the folder differ in a
    /// clone, as `dvc status` says there after `dvc checkout`, and the finding says why.
    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func foldersHoldWhatPointersAndStagesPutThere() throws {
        let directory = try makeRepository(in: temp.sub("checkout"))
        _ = try dvc(["init", "-q"], in: directory)
        try write("__pycache__/\n", to: ".gitignore", in: directory)
        try write("a,b\n1,2\n", to: "data/raw.csv", in: directory)
        _ = try dvc(["add", "-q", "data/raw.csv"], in: directory)
        try write(
            "import os\nos.makedirs('features', exist_ok=True)\nopen('features/prep.csv', 'w').write('p')\n",
            to: "prepare.py", in: directory)
        try write("open('model.txt', 'w').write('m')\n", to: "src/train.py", in: directory)
        try write("compiled", to: "src/__pycache__/train.cpython-311.pyc", in: directory)
        try write(
            """
            stages:
              prepare:
                cmd: python3 prepare.py
                deps: [prepare.py, data]
                outs: [features/prep.csv]
              train:
                cmd: python3 src/train.py
                deps: [src, data, features]
                outs: [model.txt]

            """, to: "dvc.yaml", in: directory)
        _ = try dvc(["repro", "-q"], in: directory)
        try commitFiles([:], message: "Reproduced", in: directory)
        #expect(try dvcChanged(in: directory).isEmpty)
        #expect(
            try git("ls-files", "data", "features", in: directory)
                == "data/.gitignore\ndata/raw.csv.dvc\nfeatures/.gitignore")

        let clone = temp.sub("checkout-clone")
        try git("clone", "-q", directory, clone, in: temp.path)
        _ = try dvc(["cache", "dir", directory + "/.dvc/cache"], in: clone)
        _ = try dvc(["checkout", "-q"], in: clone)
        #expect(try dvcChanged(in: clone) == ["src"], "the clone lacks only the ignored __pycache__")
        let found = try judgement(clone).stale
        #expect(Set(found.map(\.dependency)) == ["src"])
        #expect(found.first?.hint?.contains("the lock counts 2 files in src, the commit 1") == true, "\(found)")
    }

    /// DVC 1.x locks (stages at the top level, no schema) are read and judged; a schema this reader does
    /// not know is not judged, with the reason, never a pass.
    @Test func everyLockFormatIsJudgedOrSaidNotToBe() throws {
        let directory = try makeRepository(in: temp.sub("formats"))
        let recorded = Digests.md5(Array("a,b\n1,2\n".utf8))
        try write("a,b\n1,2\n", to: "data.csv", in: directory)
        try write("lr: 0.1\n", to: "params.yaml", in: directory)
        try write(
            "train:\n  cmd: python train.py\n  deps:\n  - path: data.csv\n    md5: \(recorded)\n  params:\n    params.yaml:\n      lr: 0.1\n  outs:\n  - path: model.pkl\n    md5: 0123456789abcdef0123456789abcdef\n",
            to: "dvc.lock", in: directory)
        try commitFiles([:], message: "DVC 1 lock", in: directory)
        #expect(try judgement(directory).format == "DVC 1")
        #expect(try stale(directory).isEmpty)
        try write("a,b\n1,3\n", to: "data.csv", in: directory)
        try write("lr: 0.2\n", to: "params.yaml", in: directory)
        try commitFiles([:], message: "Changed without dvc repro", in: directory)
        #expect(try stale(directory) == ["data.csv", "params.yaml:lr"])

        try write("schema: '3.0'\nstages: {}\n", to: "dvc.lock", in: directory)
        try commitFiles([:], message: "A future lock", in: directory)
        let future = try judgement(directory)
        #expect(future.unjudged?.contains("schema \"3.0\"") == true, "\(future)")
        #expect(future.stale.isEmpty)
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

    func Insecure_md5(_ bytes: [UInt8]) -> String { Digests.md5(bytes) }
}
