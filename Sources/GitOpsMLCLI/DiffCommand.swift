import ArgumentParser
import Config
import Datasets
import Foundation
import GitOpsMLCore
import Lineage

/// `gitops-ml diff metrics|params [A] [B]`: DVC's `metrics diff` and `params diff`, read from git objects;
/// `diff artifacts A [B]`: the model and data files that changed, however they are kept.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff", abstract: "Compare metrics, params or model and data files between two revisions.",
        subcommands: [Metrics.self, Params.self, Artifacts.self])

    struct Metrics: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "metrics",
            abstract: "Show changes in metrics between two revisions (like `dvc metrics diff`).",
            discussion: """
                Metrics files come from --targets, else each revision's own dvc.yaml, else gitops-ml.yaml `metrics:`, else metrics.json. \
                With --fail-on, exits 1 when a change violates a tolerance: 'accuracy<-0.01' fails when \
                accuracy drops by more than 0.01; 'loss>5%' when loss grows by more than 5%.
                """)
        @OptionGroup var diff: DiffOptions
        @Option(name: .long, parsing: .singleValue, help: "A tolerance on a metric's change; repeatable.")
        var failOn: [String] = []

        func run() throws { try diff.run(.metrics, failOn: failOn) }
    }

    struct Params: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "params", abstract: "Show changes in params between two revisions (like `dvc params diff`).",
            discussion:
                "Params files come from --targets, else each revision's own dvc.yaml plus params.yaml, else gitops-ml.yaml `params:`."
        )
        @OptionGroup var diff: DiffOptions
        @Option(name: .long, parsing: .singleValue, help: "A tolerance on a numeric param's change; repeatable.")
        var failOn: [String] = []

        func run() throws { try diff.run(.params, failOn: failOn) }
    }
}

extension DiffCommand {
    struct Artifacts: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "artifacts",
            abstract: "Model and data files added, deleted or modified between two commits (like `dvc diff`).",
            discussion: """
                DVC outputs (.dvc pointers and dvc.lock, by md5, as `dvc diff` compares them), git-lfs pointers \
                (by oid) and plain files (by content): those gitops-ml.yaml declares and those whose kind says \
                model or data (ONNX, safetensors, pickle, PyTorch, Parquet, CSV…). Exit 0 whether or not \
                anything changed; --json in the shape of `dvc diff --json`, with digests and sizes.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The old revision.") var a: String
        @Argument(help: "The new revision (default: HEAD).") var b: String = "HEAD"
        @OptionGroup var output: OutputOptions<TextOrJSON>

        func run() throws {
            let project = try Project(global)
            guard a != "workspace", b != "workspace" else {
                throw GitOpsMLError.usage("diff artifacts compares commits: commit the work tree first (or name HEAD)")
            }
            let diff = try ArtifactDiff.between(
                try project.revisions.commit(a), try project.revisions.commit(b), in: project.repository,
                config: project.config)
            if output.chosen == .json {
                print(diff.json.json(indent: 2))
            } else if diff.changes.isEmpty {
                print("no model or data file changed between \(a) and \(b)")
            } else {
                print(diff.text, terminator: "")
            }
        }
    }
}

struct DiffOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions

    @Argument(help: "The old revision (default: HEAD).")
    var a: String = "HEAD"

    @Argument(help: "The new revision (default: the workspace; required in a bare repository).")
    var b: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Only these files.")
    var targets: [String] = []

    @Flag(name: .long, help: "Include unchanged values.")
    var all = false

    @Option(name: .long, help: "Digits after the decimal point in the table (default 5).")
    var precision: Int = 5

    enum Format: String, OutputFormat { case text, json, markdown }
    /// JSON in the shape of `dvc metrics diff --json`; Markdown as `--md` prints it.
    @OptionGroup var output: OutputOptions<Format>

    func validate() throws {
        guard precision >= 0 && precision <= 17 else { throw ValidationError("--precision must be between 0 and 17") }
    }

    func run(_ kind: TrackedFiles.Kind, failOn: [String]) throws {
        let tolerances = try failOn.map(Tolerance.init(parsing:))
        let project = try Project(global)
        guard let newRevision = b ?? (project.repository.isBare ? nil : "workspace") else {
            throw GitOpsMLError.usage("a bare repository has no workspace: name the new revision (diff A B)")
        }
        // DVC outputs (metrics of `dvc repro`) read from the local DVC cache when they are there.
        let stores = DataStores.of(gitDirectory: project.repository.gitDirectory, workTree: project.repository.workTree)
        let old = ResolvedFiles(try project.files(a), stores: stores, absentWhenNotCached: true)
        let new = ResolvedFiles(try project.files(newRevision), stores: stores, absentWhenNotCached: true)
        // --targets as typed: relative to the current folder, as dvc takes them.
        let targets = try self.targets.map(project.typedPath)
        // From a monorepo's DVC subproject, its own dvc.yaml and files, as dvc answers there.
        let subproject = project.dvcProject
        let oldTargets = try TrackedFiles.targets(
            kind, in: old, config: project.config, explicit: targets, project: subproject)
        let newTargets = try TrackedFiles.targets(
            kind, in: new, config: project.config, explicit: targets, project: subproject)
        let oldValues = try TrackedFiles.values(kind, of: oldTargets, in: old)
        let newValues = try TrackedFiles.values(kind, of: newTargets, in: new)
        // A file named on the command line must exist on at least one side.
        for path in targets.map(TrackedFiles.normalize) where oldValues[path] == .missing && newValues[path] == .missing
        {
            throw GitOpsMLError.environment("\(path): no such file at \(a) or at \(newRevision)")
        }
        // What could not be loaded is said (dvc says it failed to load them), never an empty answer.
        var unloaded: [String: String] = [:]
        for (side, files) in [(a, old), (newRevision, new)] {
            for (path, message) in files.notPulled.all.sorted(by: { $0.key < $1.key }) {
                FileHandle.standardError.write(Data("gitops-ml: \(path) at \(side) not loaded: \(message)\n".utf8))
                unloaded[path] = message
            }
        }
        let everything = ValueDiff.compare(old: oldValues, new: newValues, includeUnchanged: true)
        let shown = all ? everything : everything.filter(\.changed)

        if output.chosen == .json {
            print(ValueDiff.json(shown, withDiff: true).json(indent: 2))
        } else if !shown.isEmpty {
            print(
                DiffTable.render(
                    shown, kind: kind, old: a, new: newRevision, precision: precision,
                    markdown: output.chosen == .markdown))
        }

        var violations: [String] = []
        for tolerance in tolerances {
            let matching = everything.filter(tolerance.applies(to:))
            if matching.isEmpty {
                violations.append(
                    unloaded.isEmpty
                        ? "--fail-on '\(tolerance)': no such \(kind == .metrics ? "metric" : "param") in either revision"
                        : "--fail-on '\(tolerance)': not found, and \(unloaded.keys.sorted().joined(separator: ", ")) could not be loaded (not in the local DVC cache: `dvc pull`, or `dvc fetch --all-commits` for other revisions)"
                )
            }
            violations += matching.compactMap(tolerance.violation)
        }
        if !violations.isEmpty { throw CheckFailure(lines: violations) }
    }
}
