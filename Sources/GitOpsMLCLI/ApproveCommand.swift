import ArgumentParser
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import Trust

/// `gitops-ml approve MODEL --env ENV`: a reviewer's signed approval of a source commit for an environment,
/// kept in git (`refs/notes/gitops-ml-approvals`), which a PromotionPolicy's `approvals` counts.
struct ApproveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve a source commit's promotion to an environment, signed, in git notes.",
        discussion: """
            Writes a note on the source commit under refs/notes/gitops-ml-approvals in a notes commit signed \
            with your key, whose trailers say what is approved. With --push, lands it on the remote by \
            compare-and-swap. A PromotionPolicy's approvals count distinct allowed signers.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The model.") var model: String
    @Option(name: .long, help: "The environment the promotion goes to.") var env: String
    @Option(name: .long, help: "The source commit (default HEAD).") var rev = "HEAD"
    @Option(name: .long, help: "Push the approval to this remote (a name or URL).") var push: String?
    @OptionGroup var signing: SigningOptions

    func run() throws {
        let project = try Project(global)
        guard let config = project.config, config.models[model] != nil, config.environments[env] != nil else {
            throw GitOpsMLError.usage("approve needs a model and an environment of gitops-ml.yaml")
        }
        guard let signer = try signing.signer() else {
            throw GitOpsMLError.usage("an approval must be signed: --sign ssh --signing-key KEY")
        }
        let repository = project.repository
        let source = try repository.resolve(rev)
        let reviewer = try repository.defaultSignature()
        let message = Approvals.message(model: model, environment: env, source: source, reviewer: reviewer.name)
        let sign: (String) throws -> String = { try signer.sign($0) }
        let change: (String?) -> String = {
            Approvals.noteText(existing: $0, model: model, environment: env, reviewer: reviewer.name, at: Date())
        }
        if let push {
            _ = try NotesPublisher.update(
                Approvals.ref, on: source, remote: try repository.remoteURL(push), author: reviewer, sign: sign,
                commitMessage: message, change: change)
        } else {
            try repository.setNote(
                change(try repository.note(for: source, ref: Approvals.ref)), for: source, ref: Approvals.ref,
                author: reviewer, sign: sign, commitMessage: message)
        }
        print(
            "approved \(model) from \(source.short) for \(env)\(push.map { " (pushed to \(Redaction.url($0)))" } ?? "")"
        )
    }
}
