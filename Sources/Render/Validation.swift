import Config
import Foundation
import GitOpsMLCore
import Yams

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
        let documents = try YAMLReader.composeAll(file.contents, file: where_)
        guard !documents.isEmpty else {
            throw GitOpsMLError.configuration("renders an empty document", at: SourceLocation(file: where_))
        }
        for document in documents {
            let node = ConfigNode(document, file: where_)
            guard case .mapping(let mapping) = document else { throw node.error("expected a mapping at the top") }
            let keys = Set(mapping.keys.compactMap(\.string))
            func require(_ names: [String]) throws {
                if let missing = names.first(where: { !keys.contains($0) }) {
                    throw node.error("renders no '\(missing)'")
                }
            }
            switch kind {
            case .workflow:
                try require(["name", "on", "jobs", "permissions"])
                try checkInjection(document, file: where_)
            case .action: try require(["name", "description", "runs"])
            case .prometheusRules: try require(["groups"])
            case .config, .json: break
            case .kubernetes:
                try require(["apiVersion", "kind"])
                if mapping["kind"]?.string != "Kustomization" {
                    guard case .mapping(let metadata)? = mapping["metadata"], metadata["name"]?.string != nil else {
                        throw node.error("renders a \(mapping["kind"]?.string ?? "resource") without metadata.name")
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
    static func checkInjection(_ document: Node, file: String) throws {
        if case .mapping(let mapping) = document, let on = mapping["on"] {
            let triggers: [String]
            switch on {
            case .scalar(let scalar): triggers = [scalar.string]
            case .sequence(let items): triggers = items.compactMap(\.string)
            case .mapping(let map): triggers = map.keys.compactMap(\.string)
            default: triggers = []
            }
            if let trigger = triggers.first(where: privilegedTriggers.contains) {
                throw ConfigNode(on, file: file).error(
                    "runs on \(trigger), which gives a pull request's code the repository's secrets: use pull_request")
            }
        }
        func walk(_ node: Node) throws {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    if key.string == "run", let script = value.string, script.contains("${{") {
                        throw ConfigNode(value, file: file).error(
                            "expands ${{ … }} inside a run: script (template injection): pass the value through env: and use \"$NAME\""
                        )
                    }
                    try walk(value)
                }
            case .sequence(let items): try items.forEach(walk)
            default: break
            }
        }
        try walk(document)
    }
}
