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
            case .workflow: try require(["name", "on", "jobs", "permissions"])
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
}
