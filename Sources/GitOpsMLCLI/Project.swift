import Config
import Foundation
import GitOpsMLCore
import GitStore

/// The repository and configuration a command works on, opened from the global options.
struct Project {
    let repository: Repository
    /// nil when the project has no gitops-ml.yaml (commands fall back to DVC's files and defaults).
    let config: ProjectConfig?

    init(_ options: GlobalOptions) throws {
        options.apply()
        repository = try Repository(at: options.repo)
        config = try Project.loadConfig(options.config, repository: repository)
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

    /// A view of `text` as a revision: a git revspec or `workspace`.
    func files(_ text: String) throws -> RevisionFiles {
        if text.hasPrefix("env:") || text.hasPrefix("registry:") {
            throw GitOpsMLError.usage(
                "'\(text)': environment and registry revisions need release records; name a git revision")
        }
        return try repository.fileView(Revision(text))
    }
}

extension Repository {
    /// The `*.yaml`/`*.yml` files directly in `folder` at a revision (or in the work tree).
    func policyFiles(in folder: String, at files: RevisionFiles) throws -> [String] {
        let clean = TrackedFiles.normalize(folder)
        let names: [String]
        if let commit = files.commit {
            do {
                names = try listTree(at: commit.hex, path: clean).filter { $0.kind == .blob }.map(\.name)
            } catch let error as GitError where error.code == .pathNotFound {
                return []
            }
        } else {
            names = (try? FileManager.default.contentsOfDirectory(atPath: root + "/" + clean)) ?? []
        }
        return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map { clean + "/" + $0 }
    }
}
