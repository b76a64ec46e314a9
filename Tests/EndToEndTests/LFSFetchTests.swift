import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The generated workflows fetch the git-lfs objects of the declared paths only: the command the workflow
/// runs, taken from the rendered file and run in a clone made as actions/checkout makes it (no smudge),
/// fetches the declared model and not the other 2 objects.
@Suite("git-lfs: only the declared objects")
struct LFSFetchTests {
    let temp = TemporaryDirectory("lfs-fetch")

    @Test(.enabled(if: toolsAvailable("git-lfs"), "needs git-lfs"))
    func theWorkflowFetchesOnlyTheDeclaredObjects() throws {
        let origin = try makeRepository(
            in: temp.sub("origin"), files: [".gitattributes": "*.onnx filter=lfs diff=lfs merge=lfs -text\n"])
        try git("lfs", "install", "--local", in: origin)
        try FileManager.default.createDirectory(atPath: origin + "/models", withIntermediateDirectories: true)
        for (name, size) in [("model", 1000), ("other", 2000), ("third", 3000)] {
            try Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }).write(
                to: URL(fileURLWithPath: origin + "/models/\(name).onnx"))
        }
        try commitFiles(
            [
                "gitops-ml.yaml":
                    "version: 1\nmodels:\n  m: {artifact: models/model.onnx}\nenvironments:\n  staging: {branch: gitops, namespace: m-staging}\n"
            ], message: "LFS models",
            in: origin)
        let clone = temp.path + "/clone"
        var environment = gitTestEnvironment
        environment["GIT_LFS_SKIP_SMUDGE"] = "1"
        try run(["git", "clone", "-q", "file://" + origin, clone], environment: environment)
        let generated = try gitopsML(["generate", "workflows"], in: clone)
        #expect(generated.status == 0, "\(generated.stderrText)")
        let workflow = try String(contentsOfFile: clone + "/.github/workflows/ml-promote.yml", encoding: .utf8)
        #expect(!workflow.contains("lfs: true") && workflow.contains("uses: ./.github/actions/gitops-ml"))
        let action = try String(contentsOfFile: clone + "/.github/actions/gitops-ml/action.yml", encoding: .utf8)
        let include = try #require(
            action.split(separator: "\n").first { $0.contains("LFS_INCLUDE: ") }.map {
                String($0.split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(
                    in: CharacterSet(charactersIn: " \""))
            })
        #expect(include == "models/model.onnx")
        try run(["git", "lfs", "fetch", "origin", "HEAD", "--include=\(include)"], in: clone, environment: environment)
        let objects = try FileManager.default.subpathsOfDirectory(atPath: clone + "/.git/lfs/objects").filter {
            $0.split(separator: "/").last?.count == 64
        }
        #expect(objects.count == 1, "\(objects)")
        // The one object fetched is the declared model's (its pointer's oid).
        let pointer = try git("show", "HEAD:models/model.onnx", in: clone)
        let oid = try #require(pointer.split(separator: "\n").first { $0.hasPrefix("oid sha256:") }?.dropFirst(11))
        #expect(objects.first?.hasSuffix(String(oid)) == true, "\(objects) \(pointer)")
    }
}
