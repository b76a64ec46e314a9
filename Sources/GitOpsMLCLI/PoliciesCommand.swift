import ArgumentParser
import Config
import GitOpsMLCore

/// `gitops-ml policies list|show`: the bundled presets a policy can extend (`extends: builtin:NAME`).
struct PoliciesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policies", abstract: "List and print the bundled policy presets.",
        subcommands: [List.self, Show.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The presets, one a line.")

        func run() {
            let width = PolicyLibrary.names.map(\.count).max() ?? 0
            for name in PolicyLibrary.names {
                guard let summary = PolicyLibrary.summary(name) else { continue }
                let padded = (PolicyLibrary.scheme + name).padding(
                    toLength: width + PolicyLibrary.scheme.count, withPad: " ", startingAt: 0)
                let kind = summary.kind.padding(toLength: 15, withPad: " ", startingAt: 0)
                print("\(padded)  \(kind)  \(summary.description)")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "A preset's YAML.")

        @Argument(help: "The preset (gates/binary-classification, or builtin:gates/binary-classification).")
        var name: String

        func run() throws {
            let bare = name.hasPrefix(PolicyLibrary.scheme) ? String(name.dropFirst(PolicyLibrary.scheme.count)) : name
            guard let text = PolicyLibrary.text(bare) else {
                throw GitOpsMLError.usage(
                    "no preset \(name) (presets: \(PolicyLibrary.names.joined(separator: ", ")))")
            }
            print(text, terminator: "")
        }
    }
}
