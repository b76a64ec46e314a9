import ArgumentParser
import Config
import Datasets
import Foundation
import GitOpsMLCore
import Render

/// `gitops-ml init [DIR]`: gitops-ml.yaml, commented policies and the workflows for an existing project.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write gitops-ml.yaml, policies/ and the GitHub Actions workflows for a project.",
        discussion: """
            Reads what is there: dvc.yaml (its metrics and params), params.yaml, metrics files, data files and \
            .dvc pointers under data/, the current branch. Refuses to overwrite existing files without --force.
            """)

    @Argument(help: "The project folder (default: the current folder).")
    var directory: String = "."

    @Option(
        name: .long,
        help:
            "The model's name (default: the folder's name), or NAME=PATH to name its artifact too (default: what init finds)."
    )
    var model: String?

    /// `--model NAME` or `--model NAME=PATH`.
    private var modelName: String? { model.map { String($0.prefix { $0 != "=" }) } }
    private var modelPath: String? {
        guard let model, let equals = model.firstIndex(of: "=") else { return nil }
        return String(model[model.index(after: equals)...])
    }

    @Flag(name: .long, help: "Overwrite existing files.")
    var force = false

    func run() throws {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw GitOpsMLError.usage("\(directory): no such folder")
        }
        // GitHub runs workflows only from the repository root's .github/, and check reads gitops-ml.yaml
        // there: a project folder inside a repository would get files nothing reads.
        var parent = (root as NSString).deletingLastPathComponent
        while parent != "/" && !parent.isEmpty {
            if FileManager.default.fileExists(atPath: parent + "/.git")
                && !FileManager.default.fileExists(atPath: root + "/.git")
            {
                throw GitOpsMLError.usage(
                    "\(root) is inside the repository at \(parent): init writes gitops-ml.yaml and .github/workflows/ at the repository root, where GitHub and check read them; run it there (one gitops-ml.yaml per repository)"
                )
            }
            parent = (parent as NSString).deletingLastPathComponent
        }
        let facts = ProjectFacts.of(folder: root)
        let scaffold = try detect(root, facts: facts)
        let library = TemplateLibrary(overridesAt: root + "/templates")
        var files = try scaffold.render(library: library)
        let config = try ProjectConfig.parse(Array(files[0].contents.utf8), file: ProjectConfig.fileName)
        files += try Renderer(config: config, library: library, facts: facts).workflows()
        let existing = files.map(\.path).filter { FileManager.default.fileExists(atPath: root + "/" + $0) }
        if !existing.isEmpty && !force {
            throw GitOpsMLError.usage(
                "\(existing.joined(separator: ", ")) already exist\(existing.count == 1 ? "s" : ""); use --force to overwrite"
            )
        }
        for path in try FileSet.write(files, root: root) { print("wrote \(path)") }
        for guess in scaffold.guesses { print("guessed: \(guess)") }
        // The next step as it works: `check` reads the rules from commits, so they must be committed first
        // (or read from the work tree).
        print(
            """
            next: review gitops-ml.yaml (serving image, environments) and policies/, then commit them:
              git add gitops-ml.yaml policies .github && git commit -m "Adopt gitops-ml"
              gitops-ml check
            or check the work tree before committing: gitops-ml check --head workspace --rules workspace
            """)
    }

    /// What the folder holds.
    private func detect(_ root: String, facts: ProjectFacts) throws -> Scaffold {
        let view = DirectoryFiles(root: root)
        let name = Self.label(URL(fileURLWithPath: root).lastPathComponent)
        var scaffold = Scaffold(
            project: name.isEmpty ? "project" : name, model: modelName ?? (name.isEmpty ? "model" : name))
        scaffold.usesDVC = facts.usesDVC
        let branch = InitGuesses.defaultBranch(root: root)
        (scaffold.defaultBranch, scaffold.defaultBranchSource) = branch
        scaffold.guesses.append("default branch \(branch.name): \(branch.source)")
        // A monorepo of DVC projects in subfolders (none at the root): a model per project.
        let projects =
            try view.read("dvc.yaml") == nil
            ? ProjectFacts.dvcProjects(in: root, depth: 3).filter { $0 != root }.map {
                String($0.dropFirst(root.count + 1))
            } : []
        if projects.isEmpty {
            scaffold.metrics = try TrackedFiles.targets(.metrics, in: view, config: nil).map(\.path)
            scaffold.params = try TrackedFiles.targets(.params, in: view, config: nil).map(\.path)
            // The evaluation stage's metrics file is the model's (not the training stage's).
            scaffold.modelMetrics = Self.evaluationFile(scaffold.metrics)
        } else {
            try scaffoldModels(of: projects, into: &scaffold, root: root, view: view)
        }
        // In a monorepo the first model's gate comes from its own project's metrics.
        let gate = InitGuesses.gateMetric(
            root: root,
            metricsFiles: projects.first.map { first in scaffold.metrics.filter { $0.hasPrefix(first + "/") } }
                ?? scaffold.metrics, view: view,
            stores: DataStores.of(gitDirectory: root + "/.git", workTree: root))
        (scaffold.gateMetric, scaffold.gateReason) = gate
        scaffold.guesses.append(gate.metric == nil ? "no gate: \(gate.reason)" : "gate metric \(gate.reason)")
        for folder in ["", "eval", "evaluation", "reports", "data", "results"] {
            let prefix = folder.isEmpty ? "" : folder + "/"
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + folder)) ?? []
            if let file = entries.sorted().first(where: {
                $0.lowercased().contains("prediction") && $0.hasSuffix(".csv")
            }) {
                scaffold.predictions = prefix + file
                break
            }
        }
        let exists = { (path: String) in ((try? DataResolver.storage(of: path, in: view)) ?? nil) != nil }
        // Models and datasets a DVC project (dvc.yaml `artifacts:`) or a GTO registry (artifacts.yaml)
        // declares, under the names `registry` and `promote` will meet in their tags.
        let declared = Self.declaredArtifacts(in: view)
        // Their own names where Kubernetes takes them, so that `registry` and `promote` meet GTO's tags.
        func declaredName(_ declared: String) -> String {
            Renderer.isDNSLabel(declared, maxLength: 55) ? declared : Self.label(declared)
        }
        if let first = declared.first(where: { $0.type == "model" }) {
            if model == nil { scaffold.model = declaredName(first.name) }
            scaffold.modelArtifact = first.path
        }
        for other in declared.filter({ $0.type == "model" }).dropFirst() {
            let name = declaredName(other.name)
            guard !name.isEmpty, name != scaffold.model, !scaffold.otherModels.contains(where: { $0.name == name })
            else { continue }
            scaffold.otherModels.append(.init(name: name, artifact: other.path))
        }
        for dataset in declared where dataset.type == "dataset" {
            let name = Self.label(dataset.name)
            guard !name.isEmpty, !scaffold.datasets.contains(where: { $0.path == dataset.path }) else { continue }
            scaffold.datasets.append((name: name, path: dataset.path, columns: header(dataset.path, in: root)))
        }
        if !projects.isEmpty {
            // Each project's model was found in its own folder.
        } else if let path = modelPath {
            // Named on the command line: no guess, but a repository path (a URL is refused here too).
            scaffold.modelArtifact = try RepositoryPath.clean(path)
        } else if let artifact = scaffold.modelArtifact, exists(artifact) {
            scaffold.guesses.append(
                "model \(scaffold.model): \(artifact), as dvc.yaml artifacts: or artifacts.yaml declares it")
        } else {
            // A declared path HEAD does not hold (a registry's artifacts.yaml left behind when the pipeline
            // moved its model) gives way to a model file that exists.
            let stale = scaffold.modelArtifact.map {
                "dvc.yaml artifacts: or artifacts.yaml declares \($0), which HEAD does not hold; "
            }
            // Files that exist (in the work tree, or as a DVC or LFS pointer or a dvc.lock output) before
            // outputs dvc.yaml only declares (a pipeline never reproduced has none).
            var candidates = InitGuesses.modelFiles(root: root, view: view)
            candidates = candidates.filter(exists) + (stale == nil ? candidates.filter { !exists($0) } : [])
            if let stale, candidates.isEmpty {
                scaffold.guesses.append(
                    "model \(scaffold.model): \(stale)no other model file found: set models.\(scaffold.model).artifact")
            } else if let first = candidates.first {
                scaffold.modelArtifact = first
                scaffold.guesses.append(
                    "model \(scaffold.model): \(stale ?? "")\(first)"
                        + (exists(first)
                            ? ""
                            : " (dvc.yaml declares it, but neither git nor a dvc.lock has it: reproduce the pipeline and commit dvc.lock)")
                        + (candidates.count > 1
                            ? ", the first of \(candidates.count) model files (\(candidates.dropFirst().prefix(3).joined(separator: ", "))\(candidates.count > 4 ? ", …" : "")); set models.\(scaffold.model).artifact to choose another"
                            : ""))
            } else {
                scaffold.guesses.append(
                    "no model file found (ONNX, safetensors, pickle, joblib, PyTorch…): set models.\(scaffold.model).artifact"
                )
            }
        }
        for skipped in Self.remoteArtifacts(in: view) {
            scaffold.guesses.append(
                "\(skipped.name) is at \(skipped.path), remote storage: not a repository file, left out")
        }
        let dataFiles = ((try? FileManager.default.contentsOfDirectory(atPath: root + "/data")) ?? []).sorted()
        for file in dataFiles {
            let base = file.hasSuffix(".dvc") ? String(file.dropLast(4)) : file
            guard !scaffold.datasets.contains(where: { $0.path == "data/\(base)" }), !base.hasPrefix(".") else {
                continue
            }
            guard ProjectConfig.Dataset.isReadable(base) else {
                scaffold.guesses.append("data/\(base) is not CSV, TSV or JSON Lines: not declared as a dataset")
                continue
            }
            let stem = Self.label(String(base.prefix { $0 != "." }))
            guard !stem.isEmpty else { continue }
            scaffold.datasets.append((name: stem, path: "data/\(base)", columns: header("data/\(base)", in: root)))
        }
        for dataset in scaffold.datasets where !ProjectConfig.Dataset.isReadable(dataset.path) {
            scaffold.guesses.append(
                "dataset \(dataset.name) (\(dataset.path)) is not CSV, TSV or JSON Lines: declared for lineage, no data tests or drift"
            )
        }
        // A matrix of numbers with no header row (numpy's savetxt, read back with genfromtxt): pandas would
        // take its first row for column names, so no data tests are written for it.
        for dataset in scaffold.datasets
        where ProjectConfig.Dataset.isReadable(dataset.path) && Self.firstLineIsNumbers(dataset.path, in: root) {
            scaffold.headerless.insert(dataset.path)
            scaffold.guesses.append(
                "dataset \(dataset.name) (\(dataset.path)) has no header row (its first line is numbers, as numpy's savetxt writes): declared for lineage, no data tests or drift"
            )
        }
        return scaffold
    }

    /// The evaluation stage's metrics file among `files` (not the training stage's).
    static func evaluationFile(_ files: [String]) -> String? {
        files.min { InitGuesses.evaluationRank($0) < InitGuesses.evaluationRank($1) }
    }

    /// One model per DVC project of a monorepo (its folder's name; `--model` names the first), each with
    /// its project's metrics file and model file, and every project's metrics and params declared.
    private func scaffoldModels(
        of projects: [String], into scaffold: inout Scaffold, root: String, view: any FileView
    ) throws {
        var names: Set<String> = []
        scaffold.namespaceBase = scaffold.project
        for (index, project) in projects.enumerated() {
            let metrics = try TrackedFiles.targets(.metrics, in: view, config: nil, project: project).map(\.path)
            scaffold.metrics += metrics.filter { !scaffold.metrics.contains($0) }
            scaffold.params += try TrackedFiles.targets(.params, in: view, config: nil, project: project).map(\.path)
                .filter { !scaffold.params.contains($0) }
            var name = Self.label(String(project.split(separator: "/").last ?? ""))
            if index == 0, let modelName { name = modelName }
            if name.isEmpty || names.contains(name) { name = "model-\(index + 1)" }
            names.insert(name)
            let artifact =
                modelPath.flatMap { index == 0 ? try? RepositoryPath.clean($0) : nil }
                ?? InitGuesses.modelFiles(root: root, view: view, project: project).first
            if index == 0 {
                (scaffold.model, scaffold.modelArtifact) = (name, artifact)
                scaffold.modelMetrics = Self.evaluationFile(metrics)
            } else {
                // Its own gate, from its own metrics (the first project's is chosen with the others below).
                let gate = InitGuesses.gateMetric(
                    root: root, metricsFiles: metrics, view: view,
                    stores: DataStores.of(gitDirectory: root + "/.git", workTree: root))
                scaffold.otherModels.append(
                    .init(name: name, artifact: artifact, metrics: Self.evaluationFile(metrics), gate: gate))
            }
            scaffold.guesses.append(
                "model \(name): the DVC project in \(project)/, "
                    + (artifact.map { "model file \($0)" } ?? "no model file found: set models.\(name).artifact")
                    + (Self.evaluationFile(metrics).map { ", metrics \($0)" } ?? ", no metrics file"))
        }
    }

    /// dvc.yaml (interpolated) or artifacts.yaml, parsed; nil when absent or unreadable.
    static func declarations(_ file: String, in view: any FileView) -> StructuredValue? {
        if file.hasSuffix("dvc.yaml") { return (try? DVCFile.read(file, in: view)) ?? nil }
        guard let bytes = try? view.read(file) else { return nil }
        return try? YAMLReader.parse(bytes, file: file)
    }

    /// Artifacts dvc.yaml or artifacts.yaml declares at a URL (`s3://…`): not files of the repository.
    static func remoteArtifacts(in view: any FileView) -> [(name: String, path: String)] {
        var found: [(name: String, path: String)] = []
        for (file, key) in [("dvc.yaml", "artifacts"), ("artifacts.yaml", nil)] {
            guard let root = Self.declarations(file, in: view),
                case .object(let entries)? = key.map({ root[$0] }) ?? root
            else { continue }
            for (name, value) in entries {
                if case .string(let path)? = value["path"], path.contains("://") { found.append((name, path)) }
            }
        }
        return found
    }

    /// `artifacts:` of dvc.yaml and GTO's artifacts.yaml: name, type (model, dataset, …) and path (inside the
    /// repository).
    static func declaredArtifacts(in view: any FileView) -> [(name: String, type: String, path: String)] {
        var found: [(name: String, type: String, path: String)] = []
        for (file, key) in [("dvc.yaml", "artifacts"), ("artifacts.yaml", nil)] {
            guard let root = Self.declarations(file, in: view) else { continue }
            guard case .object(let entries)? = key.map({ root[$0] }) ?? root else { continue }
            for (name, value) in entries where !found.contains(where: { $0.name == name }) {
                // A path that leaves the repository is not taken (nor read for its header).
                guard case .string(let declaredPath)? = value["path"],
                    let path = try? RepositoryPath.clean(declaredPath)
                else { continue }
                let type: String
                if case .string(let declared)? = value["type"] { type = declared } else { type = "" }
                found.append((name, type, path))
            }
        }
        return found
    }

    /// The header row of a plain CSV/TSV file (not of a pointer or JSON Lines), for the data policy.
    private func header(_ path: String, in root: String) -> [String] {
        guard path.hasSuffix(".csv") || path.hasSuffix(".tsv"), let line = Self.firstLine(path, in: root) else {
            return []
        }
        let separator: Character = path.hasSuffix(".tsv") ? "\t" : ","
        return line.split(separator: separator).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"\r ")) }
    }

    /// Whether the first line of the plain file at `path` is only numbers (separated by commas, tabs or
    /// spaces).
    static func firstLineIsNumbers(_ path: String, in root: String) -> Bool {
        guard let line = firstLine(path, in: root) else { return false }
        let fields = line.split(whereSeparator: { $0 == "," || $0 == "\t" || $0 == " " || $0 == "\r" })
        return !fields.isEmpty && fields.allSatisfy { Double($0) != nil }
    }

    /// The first line of the plain file at `path` in `root` (not of an LFS pointer); nil when there is none,
    /// or when it is not a regular file inside `root`.
    static func firstLine(_ path: String, in root: String) -> Substring? {
        guard let full = DirectoryFiles.contained(path, in: root), let handle = FileHandle(forReadingAtPath: full)
        else { return nil }
        defer { try? handle.close() }
        let head = String(decoding: (try? handle.read(upToCount: 65536)) ?? Data(), as: UTF8.self)
        guard let line = head.split(separator: "\n").first, !line.hasPrefix("version ") else { return nil }
        return line
    }

    /// A name made fit for Kubernetes: lowercase, '-' for anything else.
    static func label(_ text: String) -> String {
        let mapped = text.lowercased().map { ($0.isASCII && ($0.isLetter || $0.isNumber)) ? $0 : "-" }
        return String(String(mapped).split(separator: "-").joined(separator: "-").prefix(55))
    }
}

/// A plain folder seen as a revision (for `init`, which may run before the first commit).
struct DirectoryFiles: FileView {
    let root: String
    var revision: Revision { .workspace }
    func read(_ path: String) throws -> [UInt8]? {
        Self.contained(path, in: root).flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) }
    }

    /// `root/path` resolved, when it is a regular file inside `root` (a symlink may lead only within it: the
    /// folder under review must not make init read `/etc` or block on a FIFO); else nil.
    static func contained(_ path: String, in root: String) -> String? {
        guard let resolved = realpath(root + "/" + path, nil), let base = realpath(root, nil) else { return nil }
        defer {
            free(resolved)
            free(base)
        }
        let (target, top) = (String(cString: resolved), String(cString: base))
        var info = stat()
        guard target.hasPrefix(top == "/" ? "/" : top + "/"), stat(target, &info) == 0,
            info.st_mode & S_IFMT == S_IFREG
        else { return nil }
        return target
    }
    func list(_ folder: String, limit: Int) throws -> [String] {
        let names = (try? FileManager.default.subpathsOfDirectory(atPath: root + "/" + folder)) ?? []
        return Array(names.map { folder + "/" + $0 }.sorted().prefix(limit))
    }
}
