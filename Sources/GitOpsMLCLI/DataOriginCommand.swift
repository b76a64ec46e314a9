import ArgumentParser
import Foundation
import GitOpsMLCore
import Lineage

extension DataCommand {
    /// `gitops-ml data origin DATASET[@REV]`: the commit that introduced the data present at REV.
    struct Origin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "origin",
            abstract:
                "The commit that first introduced the dataset version at a revision, and every version's history.",
            discussion: """
                Digests as release records name them: a plain file's sha256, an LFS pointer's oid, a .dvc \
                pointer's or dvc.lock output's md5. A commit that rewrote a pointer file without changing the \
                data is listed as such, not as the origin.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(
            help:
                "A dataset name from gitops-ml.yaml or a path, optionally @REV (default HEAD; also @exp:NAME, @registry:MODEL#STAGE) or @env:ENV (the version the environment runs)."
        )
        var dataset: String
        @OptionGroup var output: OutputOptions<TextOrJSON>

        func run() throws {
            let project = try Project(global)
            var target = try DataCommand.Target(dataset, project: project, defaultRevision: "HEAD")
            guard target.revision != "workspace" else {
                throw GitOpsMLError.usage("data origin reads history: name a revision (DATASET@REV), not the workspace")
            }
            if target.revision.hasPrefix("env:") {
                target.revision = try Self.sourceCommit(
                    of: target.path, environment: String(target.revision.dropFirst(4)), project: project)
            }
            // registry: and exp: revisions by the resolver every command uses; the name kept for the output.
            var origin = try DataOrigin.trace(
                target.path, from: try project.revisions.commit(target.revision), in: project.repository)
            origin.revision = target.revision
            // Never anywhere in the history: a name nobody declared and no file ever had, not an answer.
            if origin.current == nil && origin.versions.isEmpty && origin.removals.isEmpty {
                throw GitOpsMLError.environment(
                    "\(Redaction.quoted(dataset)) is not a dataset of gitops-ml.yaml, and no file \(target.path) is "
                        + "in the history of \(target.revision)")
            }
            print(output.chosen == .json ? origin.json.json(indent: 2) + "\n" : origin.text, terminator: "")
        }

        /// The source commit of the release in `environment` whose record names the dataset at `path`: the
        /// data the environment runs was read there.
        static func sourceCommit(of path: String, environment: String, project: Project) throws -> String {
            guard let config = project.config, config.environments[environment] != nil else {
                let known = project.config?.environments.keys.sorted().joined(separator: ", ") ?? ""
                throw GitOpsMLError.usage(
                    "no environment \(Redaction.quoted(environment)) in gitops-ml.yaml\(known.isEmpty ? "" : " (\(known))")"
                )
            }
            let names = config.datasets.filter { $0.value.path == path }.map(\.key)
            var found: [(model: String, digest: String, source: String)] = []
            for model in config.models.keys.sorted() {
                guard let record = try project.releaseRecord(environment: environment, model: model) else { continue }
                for name in names {
                    if let digest = record.data[name] { found.append((model, digest, record.sourceCommit)) }
                }
            }
            guard let first = found.first else {
                throw GitOpsMLError.environment("no release in \(environment) records the dataset \(path)")
            }
            guard found.allSatisfy({ $0.digest == first.digest }) else {
                throw GitOpsMLError.usage(
                    "the releases in \(environment) ran on different versions of \(path) ("
                        + found.map { "\($0.model): \($0.digest.prefix(19))" }.joined(separator: ", ")
                        + "): name the revision, DATASET@REV")
            }
            return first.source
        }
    }
}
