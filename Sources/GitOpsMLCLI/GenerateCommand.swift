import ArgumentParser
import Check
import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Render

/// `gitops-ml generate workflows|manifests|monitoring|all`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Render GitHub Actions workflows, Kubernetes manifests and monitoring from gitops-ml.yaml.",
        discussion: """
            Templates come from the project's templates/ folder when it has the file, else from those bundled \
            in gitops-ml. Every file is read back (YAML/JSON, shape) before anything is written. With --check \
            nothing is written: the differences are printed and the exit code is 1 when there are any.
            """,
        subcommands: [Workflows.self, Manifests.self, Monitoring.self, All.self])

    struct Options: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: "Write nothing; print differences with the files on disk and exit 1 if any.")
        var check = false
        @Option(name: .long, help: "The folder to write into (default: the repository's work tree).")
        var output: String?
    }

    struct Workflows: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "ml-ci.yml, ml-promote.yml and ml-drift.yml under .github/workflows/.")
        @OptionGroup var options: Options
        func run() throws {
            let context = try GenerateContext(options.global)
            try context.emit(try context.renderer.workflows(), options)
        }
    }

    struct Manifests: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "deploy/<env>/ for each environment (or --env), and deploy/gitops-ml-agent/.")
        @OptionGroup var options: Options
        @Option(name: .long, parsing: .singleValue, help: "Only this environment (repeatable).")
        var env: [String] = []
        func run() throws {
            let context = try GenerateContext(options.global)
            try context.emit(try context.manifests(env), options)
        }
    }

    struct Monitoring: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prometheus alert rules (plain and PrometheusRule) and a Grafana dashboard under monitoring/.")
        @OptionGroup var options: Options
        func run() throws {
            let context = try GenerateContext(options.global)
            try context.emit(try context.renderer.monitoring(), options)
        }
    }

    struct All: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Workflows, manifests and monitoring.")
        @OptionGroup var options: Options
        func run() throws {
            let context = try GenerateContext(options.global)
            let files =
                try context.renderer.workflows() + context.manifests([]) + context.renderer.monitoring()
            try context.emit(files, options)
        }
    }
}

/// The project a generate command renders, and where its output goes.
struct GenerateContext {
    let project: Project
    let config: ProjectConfig
    let renderer: Renderer

    init(_ options: GlobalOptions) throws {
        project = try Project(options)
        guard var config = project.config else {
            throw GitOpsMLError.usage("no gitops-ml.yaml in \(project.repository.root): run `gitops-ml init` first")
        }
        // The agent fetches from gitops_repository, else from where this repository's origin points.
        if config.gitopsRepository == nil {
            config.gitopsRepository = project.repository.configuredRemoteURL("origin")
            if config.gitopsRepository == nil {
                Output.error(
                    "warning: the agent's repository is unknown (no gitops_repository in gitops-ml.yaml, no origin remote): deploy/gitops-ml-agent/configmap.yaml names none"
                )
            }
        }
        self.config = config
        let root = project.repository.root
        renderer = Renderer(
            config: config, library: TemplateLibrary(overridesAt: root + "/templates"), facts: .of(folder: root))
    }

    /// Every environment's folder (or only `names`), then the agent's.
    func manifests(_ names: [String]) throws -> [RenderedFile] {
        var files: [RenderedFile] = []
        for name in names.isEmpty ? config.environments.keys.sorted() : names {
            files += try renderer.manifests(environment: name, releases: try releases(name))
        }
        return files + (try renderer.agent())
    }

    /// The environment's release records: from the work tree when it has them, else from the
    /// environment's branch (local, then origin's).
    func releases(_ environment: String) throws -> [String: ReleaseRecord] {
        var records: [String: ReleaseRecord] = [:]
        for model in config.models.keys {
            let path = ReleaseRecord.path(environment: environment, model: model)
            if !project.repository.isBare, let bytes = try project.repository.read(path, at: .workspace) {
                records[model] = try ReleaseRecord.parse(bytes, file: path)
            } else {
                records[model] = try project.releaseRecord(environment: environment, model: model)
            }
        }
        return records
    }

    /// The project's DeployPolicy rules (its policies folder in the work tree) on the rendered manifests of
    /// each environment: errors that no annotation suppresses.
    func deployViolations(_ files: [RenderedFile]) throws -> [String] {
        let view = try project.files(project.repository.isBare ? "HEAD" : "workspace")
        guard let policies = try RuleSet.load(view, source: "workspace", config: config)?.deployPolicies,
            !policies.isEmpty
        else { return [] }
        var problems: [String] = []
        for environment in config.environments.keys.sorted() {
            let rendered = files.filter { $0.path.hasPrefix("deploy/\(environment)/") }.map {
                (path: $0.path, text: $0.contents)
            }
            for violation in try DeployRules.evaluate(policies, environment: environment, files: rendered)
            where violation.suppressed == nil {
                if violation.severity == .error {
                    problems.append("\(violation)")
                } else {
                    Output.error("warning: \(violation)")
                }
            }
        }
        return problems
    }

    func emit(_ files: [RenderedFile], _ options: GenerateCommand.Options) throws {
        guard let root = options.output ?? (project.repository.isBare ? nil : project.repository.root) else {
            throw GitOpsMLError.usage("a bare repository has no work tree: give --output")
        }
        if options.check {
            let diff = try FileSet.differences(files, root: root)
            print(diff, terminator: "")
            var problems = try deployViolations(files)
            if !diff.isEmpty {
                problems.insert("generated files differ from the files on disk: run `gitops-ml generate`", at: 0)
            }
            guard problems.isEmpty else { throw CheckFailure(lines: problems) }
            return
        }
        for path in try FileSet.write(files, root: root) { print("wrote \(path)") }
    }
}

extension ProjectFacts {
    /// What a project folder's files say: git-lfs in .gitattributes; DVC by dvc.yaml or .dvc/, at the root
    /// or in the DVC projects of a monorepo (`dvc init --subdir`, up to three folders down), whose remote
    /// names the DVC extra when the root has none.
    static func of(folder: String) -> ProjectFacts {
        let attributes = try? String(contentsOfFile: folder + "/.gitattributes", encoding: .utf8)
        let projects = dvcProjects(in: folder, depth: 3)
        return ProjectFacts(
            usesLFS: attributes?.contains("filter=lfs") ?? false,
            usesDVC: FileManager.default.fileExists(atPath: folder + "/dvc.yaml") || !projects.isEmpty,
            dvcExtra: projects.lazy.compactMap { DataStores.dvcRemoteExtra(workTree: $0) }.first)
    }

    /// The folders with their own `.dvc/`, the root first, then its subfolders breadth first (hidden ones,
    /// `.git` among them, skipped), looking into at most `limit` folders: a data folder of a million image
    /// folders is not walked.
    static func dvcProjects(in folder: String, depth: Int, limit: Int = 2000) -> [String] {
        var found: [String] = []
        var level = [folder]
        var visited = 0
        for _ in 0...depth {
            var next: [String] = []
            for directory in level {
                visited += 1
                guard visited <= limit else { return found }
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: directory + "/.dvc", isDirectory: &isDirectory),
                    isDirectory.boolValue
                {
                    found.append(directory)
                }
                let children = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
                for child in children.sorted() where !child.hasPrefix(".") {
                    if FileManager.default.fileExists(atPath: directory + "/" + child, isDirectory: &isDirectory),
                        isDirectory.boolValue
                    {
                        next.append(directory + "/" + child)
                    }
                }
            }
            level = next
        }
        return found
    }
}
