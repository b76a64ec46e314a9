import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// A monorepo of two DVC projects in subfolders (`dvc init --subdir`), each with its own dvc.yaml, dvc.lock
/// (paths relative to its folder) and cache, as real monorepos hold them: a file one project's pipeline
/// writes is found through that project's dvc.lock and read from that project's cache.
@Suite("Monorepos")
struct MonorepoTests {
    let temp = TemporaryDirectory("monorepo")

    @Test(.enabled(if: toolsAvailable("dvc"), "needs dvc in .venv (make test installs it)"))
    func eachProjectsOutputsAreFoundThroughItsOwnLockAndCache() throws {
        let dvc = try requireTool("dvc")
        let environment = dvcTestEnvironment(siteCache: temp.sub("dvc-site"))
        let repo = try makeRepository(in: temp.sub("repo"), files: ["README.md": "two DVC projects\n"])
        for (project, rows) in [("project-1", 3), ("project-2", 5)] {
            let folder = repo + "/" + project
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try run([dvc, "init", "-q", "--subdir"], in: folder, environment: environment)
            try """
            stages:
              make:
                cmd: python3 make.py
                deps: [make.py]
                params: [rows]
                outs: [table.csv]
            metrics: [metrics.json]

            """.write(toFile: folder + "/dvc.yaml", atomically: false, encoding: .utf8)
            try "rows: \(rows)\n".write(toFile: folder + "/params.yaml", atomically: false, encoding: .utf8)
            try "{\"score\": 0.\(rows)}\n".write(toFile: folder + "/metrics.json", atomically: false, encoding: .utf8)
            try """
            rows = ["id,value"] + [f"{i},{i * 10}" for i in range(\(rows))]
            open("table.csv", "w").write("\\n".join(rows) + "\\n")

            """.write(toFile: folder + "/make.py", atomically: false, encoding: .utf8)
            try run([dvc, "repro", "-q"], in: folder, environment: environment, timeout: 300)
        }
        try git("add", "-A", in: repo)
        try git("commit", "-qm", "Two DVC projects", in: repo)
        for (project, rows) in [("project-1", 3), ("project-2", 5)] {
            // Each output is recorded only in its project's dvc.lock, as `table.csv`, and cached only there.
            let lock = try git("show", "HEAD:\(project)/dvc.lock", in: repo)
            #expect(lock.contains("path: table.csv"), "\(lock)")
            let origin = try gitopsML(["data", "origin", "\(project)/table.csv", "--json"], in: repo)
            #expect(origin.status == 0, "\(project): \(origin.stderrText)\(origin.stdoutText)")
            #expect(origin.stdoutText.contains("\(project)/dvc.lock"), "\(project): \(origin.stdoutText)")
            let profile = try gitopsML(["data", "profile", "\(project)/table.csv@HEAD", "--json"], in: repo)
            #expect(profile.status == 0, "\(project): \(profile.stderrText)")
            #expect(profile.stdoutText.contains("\"rows\": \(rows)"), "\(project): \(profile.stdoutText)")
        }
        // From inside a subproject, metrics and params are that project's, as dvc answers there.
        try "{\"score\": 0.9}\n".write(toFile: repo + "/project-1/metrics.json", atomically: false, encoding: .utf8)
        try "rows: 4\n".write(toFile: repo + "/project-1/params.yaml", atomically: false, encoding: .utf8)
        let metrics = try gitopsML(["diff", "metrics", "HEAD", "--json"], in: repo + "/project-1")
        #expect(metrics.status == 0, "\(metrics.stderrText)")
        #expect(metrics.stdoutText.contains("project-1/metrics.json") && metrics.stdoutText.contains("\"new\": 0.9"))
        #expect(!metrics.stdoutText.contains("project-2"), "\(metrics.stdoutText)")
        let params = try gitopsML(["diff", "params", "HEAD"], in: repo + "/project-1")
        #expect(
            params.stdoutText.contains("project-1/params.yaml") && params.stdoutText.contains("rows"),
            "\(params.stdoutText)")
        // From the root, the root's: it has no dvc.yaml, no metrics.json, so nothing to compare.
        #expect(try gitopsML(["diff", "metrics", "HEAD"], in: repo).stdoutText.isEmpty)
    }
}
