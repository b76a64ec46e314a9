import Config
import Foundation
import GitOpsMLCore
import TestSupport

/// Runs one job of a generated workflow on this machine as a GitHub-hosted runner runs it: the steps in
/// order, `run:` scripts with `bash -e -o pipefail` in the workspace, `GITHUB_OUTPUT`, `GITHUB_ENV`,
/// `GITHUB_PATH` and `GITHUB_STEP_SUMMARY` as files, a failed step ending the job except for the steps whose
/// `if:` asks to run anyway. Each `uses:` step is replaced by its documented local equivalent:
///
/// - `actions/checkout` (fetch-depth 0, no LFS smudge, no persisted credentials): `git clone` of the origin
///   and a detached checkout of the event's commit;
/// - `actions/setup-python`: nothing (python3, and DVC from the test venv, are on the PATH);
/// - `actions/upload-artifact` / `download-artifact`: a copy into / out of a folder per artifact name;
/// - the "Install gitops-ml" step (a release download): the binary under test put on `GITHUB_PATH`;
/// - a local composite action (`./.github/actions/…`): its steps, read from the tree the workflow file is in
///   (as if committed with it), with its inputs;
/// - `gh` (the pull-request comment): a stand-in on the PATH that records its arguments.
///
/// Every `${{ … }}` must be in `expressions` (the event's values): an expression the harness does not know
/// fails the run rather than being guessed.
struct WorkflowHarness {
    struct Step {
        var id: String?
        var name: String
        var uses: String?
        var run: String?
        var condition: String?
        var with: [String: String]
        var env: [String: String]
    }

    struct Outcome {
        /// Each step's name and whether it passed (nil: skipped).
        var steps: [(name: String, passed: Bool?)]
        var log: String
        var succeeded: Bool { !steps.contains { $0.passed == false } }
    }

    let origin: String
    let commit: String
    var expressions: [String: String]
    let root: String
    var artifacts: String { root + "/artifacts" }

    init(origin: String, commit: String, expressions: [String: String], root: String) throws {
        self.origin = origin
        self.commit = commit
        self.expressions = expressions
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/artifacts", withIntermediateDirectories: true)
    }

    static func steps(of job: String, in workflow: String) throws -> [Step] {
        let bytes = try requireValue(FileManager.default.contents(atPath: workflow), "no \(workflow)")
        let top = try requireValue(try YAMLReader.compose(Array(bytes), file: workflow), "empty \(workflow)")
        let jobs = try ConfigNode(top, file: workflow).mapping().required("jobs").mapping()
        return try jobs.required(job).mapping().required("steps").list().map(step)
    }

    static func step(_ node: ConfigNode) throws -> Step {
        let map = try node.mapping()
        func strings(_ key: String) throws -> [String: String] {
            guard let found = map.optional(key) else { return [:] }
            return Dictionary(
                uniqueKeysWithValues: try found.mapping().all().map { ($0.key, try $0.node.string()) })
        }
        return Step(
            id: try map.optional("id")?.string(), name: try map.optional("name")?.string() ?? "",
            uses: try map.optional("uses")?.string(),
            run: try map.optional("run")?.string(), condition: try map.optional("if")?.string(),
            with: try strings("with"), env: try strings("env"))
    }

    /// `text` with each `${{ expression }}` replaced by its value for this event.
    func substitute(_ text: String) throws -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else { break }
            let expression = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let value = expressions[expression] else {
                throw CommandFailed(description: "the harness does not know the expression ${{ \(expression) }}")
            }
            result += rest[..<open.lowerBound] + value
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    /// Whether a step runs: without `if:`, only while every step passed; `!cancelled()` and `always()` run
    /// after a failure too; `steps.ID.outputs.NAME == 'VALUE'` compares an earlier step's output; other
    /// terms are the event's values.
    func runs(_ step: Step, afterFailure failed: Bool, outputs: [String: [String: String]] = [:]) throws -> Bool {
        guard var condition = step.condition else { return !failed }
        condition = condition.trimmingCharacters(in: .whitespaces)
        if condition.hasPrefix("${{") && condition.hasSuffix("}}") {
            condition = String(condition.dropFirst(3).dropLast(2)).trimmingCharacters(in: .whitespaces)
        }
        var statusFunction = false
        for term in condition.components(separatedBy: " && ").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            switch term {
            case "!cancelled()", "always()": statusFunction = true
            case "success()": if failed { return false }
            case let comparison where comparison.hasPrefix("steps.") && comparison.contains(" == "):
                let sides = comparison.components(separatedBy: " == ")
                let path = sides[0].split(separator: ".").map(String.init)
                guard path.count == 4, path[2] == "outputs" else {
                    throw CommandFailed(description: "the harness does not know the condition \(term)")
                }
                let wanted = sides[1].trimmingCharacters(in: CharacterSet(charactersIn: "' "))
                if outputs[path[1]]?[path[3]] != wanted { return false }
            default:
                guard let value = expressions[term] else {
                    throw CommandFailed(description: "the harness does not know the condition \(term)")
                }
                if value != "true" { return false }
            }
        }
        return statusFunction || !failed
    }

    func run(job: String, of workflow: String, environment base: [String: String]) throws -> Outcome {
        let runnerTemp = root + "/runner-temp-\(job)"
        var harness = self
        harness.expressions["runner.temp"] = runnerTemp
        return try harness.runSteps(job: job, of: workflow, environment: base, runnerTemp: runnerTemp)
    }

    private func runSteps(job: String, of workflow: String, environment base: [String: String], runnerTemp: String)
        throws -> Outcome
    {
        let workspace = root + "/workspace-\(job)"
        let bin = root + "/bin"
        for folder in [runnerTemp, bin] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try "#!/bin/sh\necho \"$*\" >> \"\(root)/gh-calls\"\n".write(
            toFile: bin + "/gh", atomically: false, encoding: .utf8)
        chmod(bin + "/gh", 0o755)
        let files = ["GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"].map {
            ($0, runnerTemp + "/" + $0.lowercased())
        }
        for (_, path) in files { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        var outcome = Outcome(steps: [], log: "")
        var failed = false
        var outputs: [String: [String: String]] = [:]
        // The tree the workflow file is in (…/.github/workflows/NAME.yml): its local actions are read from there.
        let tree = ((workflow as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        let context = Context(
            base: base, workspace: workspace, runnerTemp: runnerTemp, bin: bin,
            tree: (tree as NSString).deletingLastPathComponent)
        for step in try Self.steps(of: job, in: workflow) {
            guard try runs(step, afterFailure: failed, outputs: outputs) else {
                outcome.steps.append((step.name, nil))
                continue
            }
            var passed = true
            do {
                try execute(step, context, log: &outcome.log)
            } catch {
                outcome.log += "== \(step.name) FAILED\n\(error)\n"
                passed = false
                failed = true
            }
            outcome.steps.append((step.name, passed))
            // Each step writes its outputs to a file of its own.
            let written = try String(contentsOfFile: runnerTemp + "/github_output", encoding: .utf8)
            if let id = step.id {
                outputs[id] = Dictionary(
                    written.split(separator: "\n").compactMap { line -> (String, String)? in
                        let parts = line.split(separator: "=", maxSplits: 1)
                        return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                    }, uniquingKeysWith: { _, last in last })
            }
            _ = FileManager.default.createFile(atPath: runnerTemp + "/github_output", contents: nil)
        }
        return outcome
    }

    struct Context {
        var base: [String: String]
        var workspace: String
        var runnerTemp: String
        var bin: String
        /// The tree the workflow was read from (generated, as if committed with the checked-out commit).
        var tree: String
    }

    /// One step, with the environment a runner gives it: the job's, `GITHUB_ENV`'s lines, the step's `env:`,
    /// and `GITHUB_PATH`'s folders (as written so far, so that a step sees what an earlier one installed).
    private func execute(_ step: Step, _ context: Context, log: inout String) throws {
        var environment = context.base
        for name in ["GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY"] {
            environment[name] = context.runnerTemp + "/" + name.lowercased()
        }
        environment["RUNNER_TEMP"] = context.runnerTemp
        environment["GITHUB_WORKSPACE"] = context.workspace
        for line in (try String(contentsOfFile: context.runnerTemp + "/github_env", encoding: .utf8)).split(
            separator: "\n")
        {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { environment[String(parts[0])] = String(parts[1]) }
        }
        for (name, value) in step.env { environment[name] = try substitute(value) }
        let paths = (try String(contentsOfFile: context.runnerTemp + "/github_path", encoding: .utf8)).split(
            separator: "\n")
        environment["PATH"] =
            ([context.bin] + paths.reversed().map(String.init) + [context.base["PATH"] ?? "/usr/bin:/bin"])
            .joined(separator: ":")
        if let uses = step.uses, uses.hasPrefix("./") {
            try composite(uses, step: step, context, log: &log)
        } else if let uses = step.uses {
            try emulate(uses, step: step, workspace: context.workspace, environment: environment)
        } else if step.name.hasPrefix("Install gitops-ml") {
            let added = paths.map { $0 + "\n" }.joined() + (gitopsMLBinary as NSString).deletingLastPathComponent
            try (added + "\n").write(toFile: context.runnerTemp + "/github_path", atomically: false, encoding: .utf8)
        } else if let script = step.run {
            let output = try TestSupport.run(
                ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", try substitute(script) + "\n"],
                in: context.workspace, environment: environment, timeout: 600)
            log += "== \(step.name)\n\(output)"
        }
    }

    /// A local composite action (`uses: ./.github/actions/NAME`), read from the tree the workflow came from
    /// (the runner reads it from the checkout of the same commit): its steps in order, `inputs.NAME` from the
    /// step's `with:` (else the input's default).
    private func composite(_ uses: String, step: Step, _ context: Context, log: inout String) throws {
        let file = context.tree + "/" + uses.dropFirst(2) + "/action.yml"
        let bytes = try requireValue(FileManager.default.contents(atPath: file), "no \(file)")
        let top = try requireValue(try YAMLReader.compose(Array(bytes), file: file), "empty \(file)")
        let action = try ConfigNode(top, file: file).mapping()
        var inner = self
        for (name, input) in try action.optional("inputs")?.mapping().all() ?? [] {
            let value = try step.with[name].map(substitute) ?? input.mapping().optional("default")?.string() ?? ""
            inner.expressions["inputs." + name] = value
        }
        let runs = try action.required("runs").mapping()
        guard try runs.required("using").string() == "composite" else {
            throw CommandFailed(description: "\(file): the harness runs composite actions only")
        }
        for node in try runs.required("steps").list() {
            let nested = try Self.step(node)
            if nested.run != nil, try node.mapping().optional("shell")?.string() != "bash" {
                throw CommandFailed(description: "\(file): a composite run step needs shell: bash")
            }
            log += "== \(step.name) → \(nested.name)\n"
            try inner.execute(nested, context, log: &log)
        }
    }

    private func emulate(_ uses: String, step: Step, workspace: String, environment: [String: String]) throws {
        let action = String(uses.split(separator: "@")[0])
        switch action {
        case "actions/checkout":
            guard step.with["fetch-depth"] == "0", step.with["persist-credentials"] == "false",
                step.with["lfs"] == nil
            else { throw CommandFailed(description: "checkout with \(step.with): the harness clones in full only") }
            var env = environment
            env["GIT_LFS_SKIP_SMUDGE"] = "1"
            try TestSupport.run(["git", "clone", "-q", "--no-checkout", origin, workspace], environment: env)
            try TestSupport.run(["git", "checkout", "-q", "--detach", commit], in: workspace, environment: env)
        case "actions/setup-python":
            break
        case "actions/upload-artifact":
            let name = try requireValue(step.with["name"], "upload-artifact without a name")
            let path = try substitute(try requireValue(step.with["path"], "upload-artifact without a path"))
            let target = artifacts + "/" + name
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            // A folder uploads its contents; a file, itself.
            try TestSupport.run([
                "bash", "-c", "if [ -d \"$0\" ]; then cp -R \"$0\"/. \"$1\"/; else cp \"$0\" \"$1\"/; fi", path, target,
            ])
        case "actions/download-artifact":
            let name = try requireValue(step.with["name"], "download-artifact without a name")
            let path = try substitute(try requireValue(step.with["path"], "download-artifact without a path"))
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try TestSupport.run(["bash", "-c", "cp -R \"$0\"/. \"$1\"/", artifacts + "/" + name, path])
        default:
            throw CommandFailed(description: "the harness has no local equivalent for \(uses)")
        }
    }
}

/// The value, or an error with `message` (a harness precondition, not a test expectation).
func requireValue<T>(_ value: T?, _ message: String) throws -> T {
    guard let value else { throw CommandFailed(description: message) }
    return value
}
