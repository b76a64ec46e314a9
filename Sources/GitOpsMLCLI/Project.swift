import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// The repository and configuration a command works on, opened from the global options.
struct Project {
    let repository: Repository
    /// nil when the project has no gitops-ml.yaml (commands fall back to DVC's files and defaults).
    let config: ProjectConfig?
    /// `--config`'s file, which replaces gitops-ml.yaml wherever rules are read (nil without the option:
    /// the rules then come from the revision Trust names, not from the work tree).
    let explicitConfig: ProjectConfig?

    init(_ options: GlobalOptions) throws {
        options.apply()
        repository = try Repository(at: options.repo)
        config = try Project.loadConfig(options.config, repository: repository)
        explicitConfig = options.config == nil ? nil : config
        Log.debug(
            "opened repository",
            ["root": repository.root, "bare": "\(repository.isBare)", "config": config == nil ? "none" : "loaded"])
    }

    /// `--config` when given (it must exist); else gitops-ml.yaml in the work tree, or at HEAD when bare.
    private static func loadConfig(_ explicit: String?, repository: Repository) throws -> ProjectConfig? {
        if let explicit {
            guard let data = FileManager.default.contents(atPath: explicit) else {
                throw GitOpsMLError.usage("--config \(explicit): no such file")
            }
            return try ProjectConfig.parse([UInt8](data), file: explicit)
        }
        // A bare repository's configuration is the one at HEAD; an empty bare repository has none.
        if repository.isBare && (try? repository.resolve("HEAD")) == nil { return nil }
        let revision: Revision = repository.isBare ? .git("HEAD") : .workspace
        guard let bytes = try repository.read(ProjectConfig.fileName, at: revision) else { return nil }
        return try ProjectConfig.parse(bytes, file: ProjectConfig.fileName)
    }

    /// A path typed on the command line, as git and dvc take it: relative to the current folder when that
    /// is inside the work tree (`data origin script.py` from `project-1/` is `project-1/script.py`), else
    /// to the repository root. `..` may climb back towards the root, never out of it.
    func typedPath(_ typed: String) throws -> String {
        guard let workTree = repository.workTree, !typed.hasPrefix("/") else { return try RepositoryPath.clean(typed) }
        let root = URL(fileURLWithPath: workTree).resolvingSymlinksInPath().standardizedFileURL.path
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).resolvingSymlinksInPath()
            .standardizedFileURL.path
        guard here.hasPrefix(root + "/") else { return try RepositoryPath.clean(typed) }
        var parts = here.dropFirst(root.count + 1).split(separator: "/").map(String.init)
        for part in typed.split(separator: "/").map(String.init) where part != "." && !part.isEmpty {
            if part == ".." {
                guard !parts.isEmpty else { return try RepositoryPath.clean(typed) }  // the error names the climb
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        return try RepositoryPath.clean(parts.joined(separator: "/"))
    }

    /// The DVC project the current folder is in, as dvc finds it: the nearest folder from here up to (not
    /// including) the work tree's root with its own `.dvc/` (a monorepo's `dvc init --subdir`); empty at
    /// the root or outside a subproject.
    var dvcProject: String {
        guard let workTree = repository.workTree else { return "" }
        let root = URL(fileURLWithPath: workTree).resolvingSymlinksInPath().standardizedFileURL.path
        var folder = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).resolvingSymlinksInPath()
            .standardizedFileURL.path
        while folder.hasPrefix(root + "/") {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/.dvc", isDirectory: &isDirectory),
                isDirectory.boolValue
            {
                return String(folder.dropFirst(root.count + 1))
            }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return ""
    }

    /// `env:` and `registry:` revisions, release records and branch tips (Promotion's `Revisions`).
    var revisions: Revisions { Revisions(repository: repository, config: config) }

    func files(_ text: String) throws -> RevisionFiles { try revisions.files(text) }
    func branchTip(_ branch: String) -> ObjectID? { revisions.branchTip(branch) }
    func releaseRecord(environment: String, model: String) throws -> ReleaseRecord? {
        try revisions.releaseRecord(environment: environment, model: model)
    }
}
