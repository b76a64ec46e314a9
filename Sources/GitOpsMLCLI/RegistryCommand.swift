import ArgumentParser
import Foundation
import GitOpsMLCore
import GitStore
import Promotion

/// `gitops-ml registry`: GTO-compatible model registry in git tags.
struct RegistryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "A GTO-compatible model registry in git tags: register versions, assign stages, show state.",
        discussion: """
            Reads and writes GTO's annotated tags (model@v1.2.3, model@v1.2.3!, model#stage#N, model#stage!#N, \
            model@deprecated; dir:model as dir=model). `show` and `history` answer what `gto show` and \
            `gto history` answer, with the same JSON fields.
            """,
        subcommands: [Show.self, History.self, Register.self, Assign.self, Unassign.self, Deprecate.self])

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Latest version and stages of every model, or one model's versions.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A model: list its versions instead.") var model: String?
        @OptionGroup var output: OutputOptions<TextOrJSON>
        @Flag(name: .long, help: "Include deprecated models and versions.") var all = false

        func run() throws {
            let state = try Registry(try Repository(at: global.repo)).state()
            if let model {
                guard let versions = state.versionsJSON(model, includeDeprecated: all) else {
                    throw Registry.Failure.unknownArtifact(model)
                }
                if output.chosen == .json { return print(versions.json(indent: 4)) }
                var rows = [["version", "stages", "commit", "created_at", "ref"]]
                if case .array(let items) = versions {
                    for item in items {
                        let fields = Dictionary(uniqueKeysWithValues: item.objectPairs.map { ($0.key, $0.value) })
                        var stages: [String] = []
                        if case .array(let list)? = fields["stages"] {
                            stages = list.compactMap { $0.objectPairs.first { $0.key == "stage" }?.value.text }
                        }
                        rows.append([
                            fields["version"]?.text ?? "", stages.joined(separator: ", "),
                            String((fields["commit_hexsha"]?.text ?? "").prefix(7)), fields["created_at"]?.text ?? "",
                            fields["ref"]?.text ?? "",
                        ])
                    }
                }
                return print(Table.text(header: rows[0], rows: Array(rows.dropFirst())))
            }
            let summary = state.showJSON(includeDeprecated: all)
            if output.chosen == .json { return print(summary.json(indent: 4)) }
            let stages = state.stages
            var rows = [["name", "latest"] + stages.map { "#" + $0 }]
            for (name, value) in summary.objectPairs {
                let fields = Dictionary(uniqueKeysWithValues: value.objectPairs.map { ($0.key, $0.value) })
                let stageValues = Dictionary(
                    uniqueKeysWithValues: (fields["stage"]?.objectPairs ?? []).map { ($0.key, $0.value) })
                rows.append([name, fields["version"]?.text ?? "-"] + stages.map { stageValues[$0]?.text ?? "-" })
            }
            print(Table.text(header: rows[0], rows: Array(rows.dropFirst())))
        }
    }

    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every registry event, newest first.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "Only this model.") var model: String?
        @OptionGroup var output: OutputOptions<TextOrJSON>

        func run() throws {
            let history = try Registry(try Repository(at: global.repo)).state().historyJSON(model)
            if output.chosen == .json { return print(history.json(indent: 4)) }
            var rows = [["timestamp", "artifact", "event", "version", "stage", "commit", "ref"]]
            if case .array(let events) = history {
                for event in events {
                    let fields = Dictionary(uniqueKeysWithValues: event.objectPairs.map { ($0.key, $0.value) })
                    rows.append(
                        ["timestamp", "artifact", "event", "version", "stage", "commit", "ref"].map { key in
                            let text = fields[key]?.text ?? "-"
                            return key == "commit" ? String(text.prefix(7)) : text
                        })
                }
            }
            print(Table.text(header: rows[0], rows: Array(rows.dropFirst())))
        }
    }

    struct WriteOptions: ParsableArguments {
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "The tag's message (default: gto's).") var message: String?
        @Option(name: .long, help: "Push the new tag to this remote.") var push: String?

        /// Pushes the new tag when asked; a push that fails takes the tag back, so that running the command
        /// again does not find its own half-done work (a counter taken, a version already registered).
        func finish(_ repository: Repository, tag: String) throws {
            guard let push else { return print("created tag \(tag)") }
            do {
                try repository.push(push, refspecs: ["refs/tags/\(tag):refs/tags/\(tag)"])
            } catch {
                let removed = (try? repository.deleteReference("refs/tags/\(tag)")) != nil
                throw GitOpsMLError.environment(
                    "pushing \(tag) to \(Redaction.url(push)) failed (\(error)); \(removed ? "the tag was removed here, nothing changed" : "remove it with git tag -d \(tag)")"
                )
            }
            print("created tag \(tag)")
            print("pushed \(tag) to \(Redaction.url(push))")
        }
    }

    struct Register: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a commit as a new version of a model.")
        @OptionGroup var options: WriteOptions
        @Argument var model: String
        @Option(name: .long, help: "The version (v1.2.3); default: the highest one bumped.") var version: String?
        @Option(name: .long, help: "major, minor or patch (default patch).") var bump: String?
        @Option(name: .long, help: "The commit (default HEAD).") var rev = "HEAD"

        func run() throws {
            let repository = try Repository(at: options.global.repo)
            guard version == nil || bump == nil else { throw GitOpsMLError.usage("give --version or --bump, not both") }
            let part = try bump.map {
                guard let part = SemVer.Part(rawValue: $0) else {
                    throw GitOpsMLError.usage("--bump: major, minor or patch")
                }
                return part
            }
            let result = try Registry(repository).register(
                model, commit: try repository.resolve(rev), version: version, bump: part ?? .patch,
                message: options.message)
            try options.finish(repository, tag: result.tag)
        }
    }

    struct Assign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Assign a stage to a version.")
        @OptionGroup var options: WriteOptions
        @Argument var model: String
        @Option(name: .long) var stage: String
        @Option(name: .long, help: "The version (default: the one registered at --rev).") var version: String?
        @Option(name: .long, help: "The commit whose registered version to use (default HEAD).") var rev = "HEAD"

        func run() throws {
            let repository = try Repository(at: options.global.repo)
            let tag = try Registry(repository).assign(
                model, stage: stage, version: version, commit: version == nil ? try repository.resolve(rev) : nil,
                message: options.message)
            try options.finish(repository, tag: tag)
        }
    }

    struct Unassign: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take a stage away from a version.")
        @OptionGroup var options: WriteOptions
        @Argument var model: String
        @Option(name: .long) var stage: String
        @Option(name: .long, help: "The version (default: the one holding the stage).") var version: String?

        func run() throws {
            let repository = try Repository(at: options.global.repo)
            let tag = try Registry(repository).unassign(model, stage: stage, version: version, message: options.message)
            try options.finish(repository, tag: tag)
        }
    }

    struct Deprecate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deregister a version, or deprecate a whole model.")
        @OptionGroup var options: WriteOptions
        @Argument var model: String
        @Option(name: .long, help: "Deregister only this version.") var version: String?
        @Option(name: .long, help: "The commit a model deprecation is tagged on (default HEAD).") var rev = "HEAD"

        func run() throws {
            let repository = try Repository(at: options.global.repo)
            let tag = try Registry(repository).deprecate(
                model, version: version, commit: try repository.resolve(rev), message: options.message)
            try options.finish(repository, tag: tag)
        }
    }
}

extension StructuredValue {
    var objectPairs: [(key: String, value: StructuredValue)] {
        if case .object(let pairs) = self { return pairs }
        return []
    }

    var text: String? {
        switch self {
        case .string(let text): return text
        case .int(let value): return String(value)
        case .bool(let value): return String(value)
        default: return nil
        }
    }
}
