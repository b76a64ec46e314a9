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
        @Argument(help: "A dataset name from gitops-ml.yaml or a path, optionally @REV (default HEAD).")
        var dataset: String
        @Flag(name: .long, help: "JSON instead of text.") var json = false

        func run() throws {
            let project = try Project(global)
            let target = DataCommand.Target(dataset, project: project, defaultRevision: "HEAD")
            guard target.revision != "workspace" else {
                throw GitOpsMLError.usage("data origin reads history: name a revision (DATASET@REV), not the workspace")
            }
            let origin = try DataOrigin.trace(target.path, from: target.revision, in: project.repository)
            // Never anywhere in the history: a name nobody declared and no file ever had, not an answer.
            if origin.current == nil && origin.versions.isEmpty && origin.removals.isEmpty {
                throw GitOpsMLError.environment(
                    "\(Redaction.quoted(dataset)) is not a dataset of gitops-ml.yaml, and no file \(target.path) is "
                        + "in the history of \(target.revision)")
            }
            print(json ? origin.json.json(indent: 2) + "\n" : origin.text, terminator: "")
        }
    }
}
