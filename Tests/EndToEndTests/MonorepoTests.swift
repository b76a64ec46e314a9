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
            // Each project pushes to a remote of its own.
            try run(
                [dvc, "remote", "add", "-q", "-d", "local", temp.sub("remote-" + project)], in: folder,
                environment: environment)
            try run([dvc, "push", "-q"], in: folder, environment: environment, timeout: 300)
        }
        try """
        version: 1
        models:
          m: {metrics: project-1/metrics.json, serving: {image: "ghcr.io/acme/m:1.0"}}
        datasets:
          first: {path: project-1/table.csv}
          second: {path: project-2/table.csv}
        environments:
          staging: {branch: gitops, namespace: m-staging}

        """.write(toFile: repo + "/gitops-ml.yaml", atomically: false, encoding: .utf8)
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

        // The generated workflows' fetch, in a fresh clone (no caches): each declared file from its own
        // project's remote into that project's cache, run from the project's folder as DVC requires.
        let clone = temp.path + "/clone"
        try run(["git", "clone", "-q", "file://" + repo, clone])
        #expect(try gitopsML(["generate", "workflows"], in: clone).status == 0)
        let fetched = try DVCFetchTests().runFetchStep(
            in: clone, base: "", rules: "", dvc: dvc, environment: environment, runnerTemp: temp.sub("runner"))
        #expect(fetched.contains("fetched from DVC:\nproject-1/table.csv\nproject-2/table.csv"), "\(fetched)")
        for (project, rows) in [("project-1", 3), ("project-2", 5)] {
            let profile = try gitopsML(["data", "profile", "\(project)/table.csv@HEAD", "--json"], in: clone)
            #expect(profile.stdoutText.contains("\"rows\": \(rows)"), "\(project): \(profile.stderrText)")
        }

        // Each subproject's pipeline is judged by its own lock: project-2's code changed without dvc repro.
        try git("checkout", "-q", "--", ".", in: repo)
        try "print('changed')\n".write(toFile: repo + "/project-2/make.py", atomically: false, encoding: .utf8)
        try git("commit", "-qam", "project-2's code changed, not reproduced", in: repo)
        let check = try gitopsML(["check", "--suite", "config", "--no-note", "--format", "json"], in: repo)
        #expect(check.status == 1, "\(check.stdoutText)\(check.stderrText)")
        #expect(check.stdoutText.contains("\"id\": \"config/project-1/dvc.lock\""), "\(check.stdoutText)")
        #expect(check.stdoutText.contains("config/project-2/dvc.lock/make/project-2/make.py"), "\(check.stdoutText)")
    }
}
