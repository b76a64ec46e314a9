import Config
import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The generated install step, run as a runner runs it against the real release archive (`make dist`, which
/// `make test` builds first): the download (a `curl` stand-in that serves the archive from dist/ and records
/// the URL asked for), the check of the pinned sha256, the extraction, `GITHUB_PATH`. A wrong checksum stops
/// it before anything is installed; without one, the build provenance is asked for (`gh attestation verify`).
@Suite("The generated install step")
struct InstallStepTests {
    let temp = TemporaryDirectory("install-step")
    static let archive: String? = {
        let dist = packageRoot + "/dist"
        var system = utsname()
        uname(&system)
        let arch = withUnsafeBytes(of: &system.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return (try? FileManager.default.contentsOfDirectory(atPath: dist))?
            .first { $0.hasSuffix("-linux-\(arch).tar.gz") }.map { dist + "/" + $0 }
    }()

    /// The install step of the rendered composite action, for a project pinning `sha256`: its script and
    /// its `env:` as rendered (`${{ github.token }}` left to the caller).
    func installStep(sha256: String?) throws -> (script: String, env: [String: String]) {
        let project = try makeRepository(
            in: temp.sub("project-\(sha256?.prefix(6) ?? "none")"),
            files: [
                "gitops-ml.yaml": """
                version: 1
                models:
                  m: {metrics: metrics.json, serving: {image: "ghcr.io/acme/m:1.0"}}
                environments:
                  staging: {branch: gitops, namespace: m-staging}
                workflows:
                  gitops_ml_repository: acme/gitops-ml
                \(sha256.map { "  gitops_ml_sha256: \($0)" } ?? "")

                """,
                "metrics.json": "{\"accuracy\": 0.8}\n",
            ])
        let generated = try gitopsML(["generate", "workflows"], in: project)
        #expect(generated.status == 0, "\(generated.stderrText)")
        let file = project + "/.github/actions/gitops-ml/action.yml"
        let bytes = try #require(FileManager.default.contents(atPath: file))
        let top = ConfigNode(try #require(try YAMLReader.compose(Array(bytes), file: file)), file: file)
        for node in try top.mapping().required("runs").mapping().required("steps").list() {
            let step = try node.mapping()
            guard try step.optional("name")?.string().hasPrefix("Install gitops-ml") == true else { continue }
            let env = try step.required("env").mapping().all().map { ($0.key, try $0.node.string()) }
            return (try step.required("run").string(), Dictionary(uniqueKeysWithValues: env))
        }
        throw CommandFailed(description: "no install step in \(file)")
    }

    /// A stand-in written through a close-on-exec descriptor: a child another test spawns meanwhile must not
    /// inherit it open for writing, or executing the stand-in fails with ETXTBSY (exit 126; seen once in CI).
    static func executable(_ text: String, at path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw CommandFailed(description: "cannot write \(path)") }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count else {
            throw CommandFailed(description: "cannot write \(path)")
        }
    }

    /// Runs the script with the runner's files and the stand-ins; the exit status, the folders it added to
    /// `GITHUB_PATH`, and what `curl` and `gh` were asked.
    func install(_ step: (script: String, env: [String: String]), archive: String, in name: String) throws -> (
        status: Int32, paths: [String], curl: String, gh: String, stderr: String
    ) {
        let runner = temp.sub(name)
        let bin = temp.sub(name + "-bin")
        let calls = runner + "/calls"
        try Self.executable(
            """
            #!/bin/sh
            # curl stand-in: the release archive from dist/, written where --output says.
            echo "curl $*" >> "\(calls)"
            while [ $# -gt 0 ]; do if [ "$1" = --output ]; then cp "\(archive)" "$2"; fi; shift; done
            """, at: bin + "/curl")
        try Self.executable("#!/bin/sh\necho \"gh $*\" >> \"\(calls)\"\n", at: bin + "/gh")
        _ = FileManager.default.createFile(atPath: runner + "/github_path", contents: nil)
        _ = FileManager.default.createFile(atPath: calls, contents: nil)
        var environment = gitTestEnvironment
        environment["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        environment["RUNNER_TEMP"] = runner
        environment["GITHUB_PATH"] = runner + "/github_path"
        for (key, value) in step.env { environment[key] = value == "${{ github.token }}" ? "not-a-token" : value }
        var output = try Subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step.script], directory: runner,
            environment: environment, timeout: 120)
        // The fork-to-exec window of another thread's spawn can still hold a stand-in open: once more.
        if output.status == 126, output.stderrText.contains("Text file busy") {
            _ = FileManager.default.createFile(atPath: calls, contents: nil)
            output = try Subprocess.run(
                ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step.script], directory: runner,
                environment: environment, timeout: 120)
        }
        let paths = try String(contentsOfFile: runner + "/github_path", encoding: .utf8).split(separator: "\n")
            .map(String.init)
        let recorded = try String(contentsOfFile: calls, encoding: .utf8)
        return (
            output.status, paths, recorded.split(separator: "\n").filter { $0.hasPrefix("curl") }.joined(),
            recorded.split(separator: "\n").filter { $0.hasPrefix("gh") }.joined(), output.stderrText
        )
    }

    /// The published action's build from source (`version` empty), run with stand-ins for `sudo`, `swift`
    /// and `pkg-config`: on ubuntu-22.04's libgit2 1.1 it stops with a message naming the `version` input
    /// and builds nothing; on 1.5 and later (Debian 12's, ubuntu-24.04's 1.7) it runs `apt-get update`
    /// before installing, builds, and says where the binary is.
    @Test func theActionsSourceBuildRefusesAnOldLibgit2() throws {
        let file = packageRoot + "/action.yml"
        let bytes = try #require(FileManager.default.contents(atPath: file))
        let top = ConfigNode(try #require(try YAMLReader.compose(Array(bytes), file: file)), file: file)
        let step = try #require(
            try top.mapping().required("runs").mapping().required("steps").list().map { try $0.mapping() }.first {
                try $0.optional("name")?.string() == "Install gitops-ml"
            })
        let script = try step.required("run").string()
        func build(libgit2: String) throws -> (status: Int32, calls: [String], output: String, stderr: String) {
            let runner = temp.sub("source-\(libgit2)")
            let bin = temp.sub("source-\(libgit2)-bin")
            let action = temp.sub("source-\(libgit2)-action")
            let calls = runner + "/calls"
            _ = FileManager.default.createFile(atPath: calls, contents: nil)
            _ = FileManager.default.createFile(atPath: runner + "/output", contents: nil)
            for (name, body) in [
                ("sudo", "echo \"sudo $*\" >> \"\(calls)\""),
                ("pkg-config", "echo \(libgit2)"),
                (
                    "swift",
                    "echo \"swift $*\" >> \"\(calls)\"; mkdir -p \"\(action)/.build/release\"; : > \"\(action)/.build/release/gitops-ml\""
                ),
            ] {
                try Self.executable("#!/bin/sh\n\(body)\n", at: bin + "/" + name)
            }
            var environment = gitTestEnvironment
            environment["PATH"] = bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            environment["RUNNER_TEMP"] = runner
            environment["GITHUB_OUTPUT"] = runner + "/output"
            environment["ACTION_PATH"] = action
            environment["VERSION"] = ""
            var result = try Subprocess.run(
                ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], directory: runner,
                environment: environment, timeout: 60)
            // The fork-to-exec window of another thread's spawn can still hold a stand-in open: once more.
            if result.status == 126, result.stderrText.contains("Text file busy") {
                _ = FileManager.default.createFile(atPath: calls, contents: nil)
                result = try Subprocess.run(
                    ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], directory: runner,
                    environment: environment, timeout: 60)
            }
            return (
                result.status,
                try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").map(String.init),
                try String(contentsOfFile: runner + "/output", encoding: .utf8), result.stderrText
            )
        }
        let old = try build(libgit2: "1.1.0")
        #expect(old.status == 1)
        #expect(
            old.stderr.contains("building gitops-ml needs libgit2 1.5 or later; this runner has 1.1.0")
                && old.stderr.contains("version input"), "\(old.stderr)")
        #expect(!old.calls.contains { $0.hasPrefix("swift") } && old.output.isEmpty)
        for version in ["1.5.1", "1.7.2"] {
            let built = try build(libgit2: version)
            #expect(built.status == 0, "\(version): \(built.stderr)")
            #expect(built.calls.first == "sudo apt-get update -q", "\(built.calls)")
            #expect(built.calls.contains { $0.hasPrefix("swift build -c release --product gitops-ml") })
            #expect(built.output.hasPrefix("path=") && built.output.contains("gitops-ml-bin/gitops-ml"))
        }
    }

    @Test(.enabled(if: InstallStepTests.archive != nil, "needs the release archive in dist/ (make dist)"))
    func theReleaseArchiveIsVerifiedAndInstalled() throws {
        let archive = try #require(Self.archive)
        let sha256 = try #require(
            try String(contentsOfFile: archive + ".sha256", encoding: .utf8).split(separator: " ").first.map(
                String.init))
        let name = (archive as NSString).lastPathComponent
        let pinned = try installStep(sha256: sha256)
        #expect(pinned.env["GITOPS_ML_SHA256"] == sha256 && pinned.env["GITOPS_ML_VERSION"] == GitOpsMLVersion.current)

        var installed = try install(pinned, archive: archive, in: "pinned")
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(
            installed.curl.contains(
                "https://github.com/acme/gitops-ml/releases/download/v\(GitOpsMLVersion.current)/\(name)"))
        #expect(installed.gh.isEmpty, "a pinned checksum needs no attestation: \(installed.gh)")
        let folder = try #require(installed.paths.first)
        let version = try Subprocess.run([folder + "/gitops-ml", "version"])
        #expect(version.status == 0 && version.stdoutText.contains(GitOpsMLVersion.current), "\(version.stdoutText)")

        // One wrong digit: nothing is installed.
        let wrong = (sha256.first == "0" ? "1" : "0") + sha256.dropFirst()
        var tampered = pinned
        tampered.env["GITOPS_ML_SHA256"] = wrong
        installed = try install(tampered, archive: archive, in: "wrong")
        #expect(installed.status != 0 && installed.paths.isEmpty)

        // No checksum: the build provenance is verified instead.
        installed = try install(try installStep(sha256: nil), archive: archive, in: "none")
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.gh.contains("gh attestation verify") && installed.gh.contains("--repo acme/gitops-ml"))
    }
}
