import Config
import Foundation
import GitOpsMLCore

/// Every rendered file is read back before anything is written: YAML and JSON must parse, workflows must
/// have triggers and jobs, Kubernetes documents an apiVersion, a kind and a name. A template that renders
/// something else is an error naming the template and the line of the rendered text.
enum Validation {
    enum Kind { case workflow, action, kubernetes, prometheusRules, json, config }

    static func check(_ file: RenderedFile, as kind: Kind) throws {
        let where_ = "\(file.template) (rendered as \(file.path))"
        if kind == .json {
            guard (try? JSONSerialization.jsonObject(with: Data(file.contents.utf8))) != nil else {
                throw GitOpsMLError.configuration("does not render valid JSON", at: SourceLocation(file: where_))
            }
            return
        }
        let documents = try YAMLNode.documents(file.contents, file: where_)
        guard !documents.isEmpty else {
            throw GitOpsMLError.configuration("renders an empty document", at: SourceLocation(file: where_))
        }
        for document in documents {
            guard let entries = document.entries else {
                throw document.error("expected a mapping at the top")
            }
            let keys = Set(entries.map(\.key))
            func require(_ names: [String]) throws {
                if let missing = names.first(where: { !keys.contains($0) }) {
                    throw document.error("renders no '\(missing)'")
                }
            }
            switch kind {
            case .workflow:
                try require(["name", "on", "jobs", "permissions"])
                try checkInjection(document)
            case .action:
                try require(["name", "description", "runs"])
                try checkInjection(document)
            case .prometheusRules: try require(["groups"])
            case .config, .json: break
            case .kubernetes:
                try require(["apiVersion", "kind"])
                if document["kind"]?.string != "Kustomization" {
                    guard let metadata = document["metadata"], metadata.isMapping, metadata["name"]?.string != nil
                    else {
                        throw document.error(
                            "renders a \(document["kind"]?.string ?? "resource") without metadata.name")
                    }
                }
            }
        }
    }

    /// Triggers that run a pull request's code with the repository's secrets and write token.
    static let privilegedTriggers: Set<String> = ["pull_request_target", "workflow_run"]

    /// A workflow (bundled or the project's own template) may not expand an expression inside a `run:`
    /// script — a pull request's title, branch name or body would become shell code there; values go
    /// through `env:` — nor run on a privileged trigger.
    static func checkInjection(_ document: YAMLNode) throws {
        if let on = document["on"] {
            let triggers = on.entries?.map(\.key) ?? on.items?.compactMap(\.string) ?? on.string.map { [$0] } ?? []
            if let trigger = triggers.first(where: privilegedTriggers.contains) {
                throw on.error(
                    "runs on \(trigger), which gives a pull request's code the repository's secrets: use pull_request")
            }
        }
        func walk(_ node: YAMLNode) throws {
            if let entries = node.entries {
                for (key, value) in entries {
                    if key == "run", let script = value.string, script.contains("${{") {
                        throw value.error(
                            "expands ${{ … }} inside a run: script (template injection): pass the value through env: and use \"$NAME\""
                        )
                    }
                    try walk(value)
                }
            } else if let items = node.items {
                try items.forEach(walk)
            }
        }
        try walk(document)
    }
}
