import ArgumentParser
import Config
import Datasets
import GitOpsMLCore
import Trust

/// `gitops-ml fetch-list --dvc|--lfs [--rev REV] [--rules REV]`: the declared files the checks read at REV
/// that live in a DVC remote or in git-lfs, one per line — what a CI job fetches before `check`, `promote`
/// or `data drift`, and nothing more (`dvc fetch` and `git lfs fetch --include` take these paths).
struct FetchListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch-list",
        abstract: "List the declared files at a revision that are DVC outputs (--dvc) or git-lfs objects (--lfs).",
        discussion: """
            The files are those gitops-ml.yaml declares (models' artifacts, metrics and predictions, the \
            metrics and params files, datasets), as the trusted rules declare them: --rules REV's, else the \
            default branch's, else REV's own, else the work tree's. Files kept in git are not listed: they \
            need no fetch.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(help: "The revision whose files are fetched (env:ENV, registry:MODEL#STAGE and exp:NAME included).")
    var rev = "HEAD"

    @Option(help: "The revision whose gitops-ml.yaml declares the files (default: the default branch).")
    var rules: String?

    @Flag(help: "List the DVC outputs (for dvc fetch).")
    var dvc = false

    @Flag(help: "List the git-lfs objects (for git lfs fetch --include).")
    var lfs = false

    func validate() throws {
        guard dvc != lfs else { throw ValidationError("give exactly one of --dvc and --lfs") }
    }

    func run() throws {
        let project = try Project(global)
        let files = try project.files(rev)
        let trusted: [UInt8]?
        if let rules {
            trusted = try project.files(rules).read(ProjectConfig.fileName)
        } else {
            trusted = try RulesInForce.defaultBranch(
                in: project.repository, configured: project.config?.defaultBranch, policies: false
            ).flatMap { try $0.files.read(ProjectConfig.fileName) }
        }
        // Rules from before adoption have no gitops-ml.yaml: the revision's own declares what it reads, else
        // the one `init` just wrote in the work tree (or --config).
        let config: ProjectConfig
        if let bytes = try trusted ?? files.read(ProjectConfig.fileName) {
            config = try ProjectConfig.parse(bytes, file: ProjectConfig.fileName)
        } else if let own = project.config {
            config = own
        } else {
            throw GitOpsMLError.configuration(
                "no \(ProjectConfig.fileName) at \(rules ?? "the default branch"), at \(rev) or in the work tree: nothing declares what to fetch (gitops-ml init writes one)"
            )
        }
        var listed: [String] = []
        // The paths each dvc.lock records (the root's, or a monorepo project's).
        var locked: [String: [String]] = [:]
        for path in config.declaredPaths {
            switch try DataResolver.storage(of: path, in: files) {
            case .dvc?: if dvc { listed.append(path) }
            case .dvcLock?:
                if dvc { listed.append(path) }
                if let (_, lock) = try DataResolver.identitySource(path, in: files) {
                    locked[lock, default: []].append(path)
                }
            case .lfs?: if lfs { listed.append(path) }
            case .blob?, nil: break
            }
        }
        // DVC 3 (what the workflows install) refuses a DVC 1 lock with a stack trace: say it once, here.
        for (lock, paths) in locked.sorted(by: { $0.key < $1.key }) where dvc {
            guard try DataResolver.dvcLockFormat(in: files, lock: lock) == "DVC 1" else { continue }
            throw GitOpsMLError.configuration(
                "\(lock) at \(rev) is in DVC 1's format (no schema: '2.0'), which DVC 3 cannot read to fetch \(paths.joined(separator: ", ")): rewrite it with DVC 2 or later (dvc commit, or dvc repro) and commit it",
                at: SourceLocation(file: lock))
        }
        for path in listed { print(path) }
    }
}

/// `gitops-ml rev-parse REV`: the commit a revision names, `env:`, `registry:` and `exp:` included — for a
/// workflow that needs a commit (a worktree of what an environment runs) where git knows only branches.
struct RevParseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rev-parse", abstract: "Print the commit a revision names (env:ENV, registry:…, exp:… too).")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The revision: a git revision, env:ENV, registry:MODEL#STAGE, registry:MODEL@VERSION or exp:NAME.")
    var revision: String

    func run() throws {
        guard let commit = try Project(global).files(revision).commit else {
            throw GitOpsMLError.usage("\(revision) is the work tree, not a commit")
        }
        print(commit.hex)
    }
}
