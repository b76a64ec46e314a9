import Config
import Foundation
import GitOpsMLCore
import Promotion
import Trust

/// `lineage`'s outputs: text for people, JSON for tools, Mermaid and DOT graphs (data → training commit →
/// model version → gate report → promotions → deployments and rollbacks).
extension ModelLineage {
    public var text: String {
        var lines = ["\(model) \(version)", "  source      \(source.summaryLine)"]
        if let artifactDigest { lines.append("  artifact    \(artifactPath ?? "?") \(artifactDigest)") }
        for item in data {
            var text = "  data        \(item.name) (\(item.path)) \(item.digest ?? "absent")"
            if let introduced = item.introduced { text += ", introduced by \(introduced.summaryLine)" }
            if let shallow = item.shallow { text += ", introduced: unknown (\(shallow))" }
            if let recorded = item.recorded { text += " — the promotion recorded \(recorded)" }
            lines.append(text)
        }
        if let paramsDigest { lines.append("  params      \(paramsDigest)") }
        if let previousVersion {
            lines.append(
                paramChanges.isEmpty
                    ? "  params diff none since \(previousVersion)"
                    : "  params diff since \(previousVersion): "
                        + paramChanges.map {
                            "\($0.path):\($0.key) \($0.old?.json() ?? "—") → \($0.new?.json() ?? "—")"
                        }
                        .joined(separator: ", "))
        }
        lines.append("  code        \(code.count) files at \(source.id.short) (blob ids in --format json)")
        if let report {
            lines.append(
                "  gate report \(report.verdict) (\(report.findings) findings) \(report.digest.prefix(19))…"
                    + (report.signed ? ", signed" : ", unsigned"))
            for gate in report.gates {
                lines.append(
                    "    \(gate.status.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(gate.check): \(gate.message)"
                )
            }
        }
        if let reportProblem { lines.append("  gate report ✘ \(reportProblem)") }
        for promotion in promotions {
            lines.append(
                "  promoted    to \(promotion.environment) by \(promotion.commit.summaryLine)"
                    + (promotion.signed ? " [signed]" : " [unsigned]"))
        }
        for event in registryEvents {
            lines.append(
                "  registry    \(event.kind.rawValue)\(event.stage.map { (event.kind == .unassignment ? " from " : " to ") + $0 } ?? "") by \(event.author) on "
                    + "\(CommitInfo.day(event.time)) (tag \(event.tag))")
        }
        for deployment in deployments {
            let failed = deployment.checks.filter { $0.status != "Healthy" }.map(\.name)
            lines.append(
                "  deployed    \(deployment.environment) \(deployment.outcome.rawValue) "
                    + "\(CommitInfo.day(deployment.finished)) by \(deployment.agent)"
                    + (failed.isEmpty ? "" : " (failed: \(failed.joined(separator: ", ")))"))
        }
        for rollback in rollbacks {
            lines.append("  rolled back in \(rollback.environment) by \(rollback.commit.summaryLine)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: StructuredValue {
        func commit(_ info: CommitInfo) -> StructuredValue { info.lineageJSON }
        func optional(_ text: String?) -> StructuredValue { text.map(StructuredValue.string) ?? .null }
        return .object([
            ("model", .string(model)), ("version", .string(version)), ("source", commit(source)),
            (
                "artifact",
                .object([("path", optional(artifactPath)), ("digest", optional(artifactDigest))])
            ),
            (
                "data",
                .array(
                    data.map {
                        .object([
                            ("name", .string($0.name)), ("path", .string($0.path)), ("digest", optional($0.digest)),
                            ("introduced", $0.introduced.map(commit) ?? .null), ("shallow", optional($0.shallow)),
                            ("recorded", optional($0.recorded)),
                        ])
                    })
            ),
            ("params", optional(paramsDigest)), ("previous_version", optional(previousVersion)),
            ("params_diff", ValueDiff.json(paramChanges)),
            ("code", .object(code.map { ($0.path, StructuredValue.string($0.blob)) })),
            (
                "gate_report",
                report.map {
                    .object([
                        ("digest", .string($0.digest)), ("verdict", .string($0.verdict)),
                        ("findings", .int($0.findings)),
                        ("matches_promotion", .bool($0.matchesPromotion)), ("signed", .bool($0.signed)),
                        (
                            "gates",
                            .array(
                                $0.gates.map {
                                    .object([
                                        ("check", .string($0.check)), ("status", .string($0.status.rawValue)),
                                        ("message", .string($0.message)),
                                    ])
                                })
                        ),
                    ])
                } ?? .null
            ),
            ("gate_report_problem", optional(reportProblem)),
            (
                "registry",
                .array(
                    registryEvents.map {
                        .object([
                            ("event", .string($0.kind.rawValue)), ("stage", optional($0.stage)),
                            ("tag", .string($0.tag)), ("author", .string($0.author)),
                            ("time", .string(ISO8601DateFormatter().string(from: $0.time))),
                        ])
                    })
            ),
            (
                "promotions",
                .array(
                    promotions.map {
                        .object([
                            ("environment", .string($0.environment)), ("commit", commit($0.commit)),
                            ("signed", .bool($0.signed)),
                        ])
                    })
            ),
            (
                "deployments",
                .array(
                    deployments.map {
                        .object([
                            ("environment", .string($0.environment)), ("target", .string($0.target)),
                            ("commit", .string($0.commit)), ("outcome", .string($0.outcome.rawValue)),
                            ("finished", .string(ISO8601DateFormatter().string(from: $0.finished))),
                            ("agent", .string($0.agent)), ("restored", optional($0.restored)),
                        ])
                    })
            ),
            (
                "rollbacks",
                .array(
                    rollbacks.map {
                        .object([
                            ("environment", .string($0.environment)), ("commit", commit($0.commit)),
                            ("rolled_back", .string($0.rolledBack)),
                        ])
                    })
            ),
        ])
    }

    /// Nodes and edges of the graph, shared by Mermaid and DOT.
    var graph: (nodes: [(id: String, label: String)], edges: [(from: String, to: String, label: String)]) {
        var nodes: [(String, String)] = []
        var edges: [(String, String, String)] = []
        let sourceNode = "source"
        for (index, item) in data.enumerated() {
            let id = "data\(index)"
            nodes.append((id, "\(item.name)\\n\(item.digest.map { String($0.prefix(19)) } ?? "absent")"))
            edges.append((id, sourceNode, "trained on"))
        }
        nodes.append((sourceNode, "commit \(source.id.short)\\n\(source.author.name)"))
        nodes.append(("model", "\(model) \(version)"))
        edges.append((sourceNode, "model", "built"))
        if let report {
            let passed = report.gates.filter { $0.status == .pass }.count
            nodes.append(
                (
                    "report",
                    "gate report: \(report.verdict)"
                        + (report.gates.isEmpty ? "" : "\\n\(passed)/\(report.gates.count) gates passed")
                ))
            edges.append(("model", "report", "checked"))
        }
        let gate = report == nil ? "model" : "report"
        for (index, promotion) in promotions.enumerated() {
            let id = "promotion\(index)"
            nodes.append((id, "promoted to \(promotion.environment)\\n\(promotion.commit.id.short)"))
            edges.append((gate, id, "promoted"))
            for (number, deployment) in deployments.enumerated() where deployment.commit == promotion.commit.id.hex {
                let node = "deployment\(index)_\(number)"
                nodes.append((node, "\(deployment.environment): \(deployment.outcome.rawValue)"))
                edges.append((id, node, "deployed"))
            }
            for (number, rollback) in rollbacks.enumerated() where rollback.rolledBack == promotion.commit.id.hex {
                let node = "rollback\(index)_\(number)"
                nodes.append((node, "rolled back\\n\(rollback.commit.id.short)"))
                edges.append((id, node, "reverted"))
            }
        }
        return (nodes.map { (id: $0.0, label: $0.1) }, edges.map { (from: $0.0, to: $0.1, label: $0.2) })
    }

    public var mermaid: String {
        let (nodes, edges) = graph
        var lines = ["flowchart LR"]
        for node in nodes {
            let label = node.label.replacingOccurrences(of: "\\n", with: "<br/>").replacingOccurrences(
                of: "\"", with: "'")
            lines.append("  \(node.id)[\"\(label)\"]")
        }
        for edge in edges { lines.append("  \(edge.from) -->|\(edge.label)| \(edge.to)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public var dot: String {
        let (nodes, edges) = graph
        var lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box];"]
        for node in nodes {
            lines.append("  \(node.id) [label=\"\(node.label.replacingOccurrences(of: "\"", with: "'"))\"];")
        }
        for edge in edges { lines.append("  \(edge.from) -> \(edge.to) [label=\"\(edge.label)\"];") }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
