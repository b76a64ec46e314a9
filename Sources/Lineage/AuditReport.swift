import Foundation
import GitOpsMLCore

/// `audit`'s outputs: findings as text, JSON, Markdown (a step summary) or JUnit (a CI test report).
public struct AuditReport: Sendable {
    public var findings: [Finding]

    public init(findings: [Finding]) { self.findings = findings }

    public var verdict: Finding.Status { findings.verdict }

    public var failures: [Finding] { findings.filter { $0.status == .fail || $0.status == .error } }
    /// What was not audited, or not fully (a shallow history): said, without failing the audit.
    public var warnings: [Finding] { findings.filter { $0.status == .warn } }

    func commit(_ finding: Finding) -> String {
        if case .string(let hex)? = finding.details?["commit"] { return hex }
        return ""
    }

    /// Nothing but skips: no promotion has been made yet, so nothing is audited (a pass, said as such).
    public var isEmpty: Bool { findings.allSatisfy { $0.status == .skip } }
    static let nothing = "nothing to audit: no promotion commits on any environment branch yet"

    public var text: String {
        let skipped = findings.filter { $0.status == .skip }.map { "– [\($0.check)] \($0.message)" }
        if isEmpty { return (skipped + [Self.nothing]).joined(separator: "\n") + "\n" }
        var lines = skipped + warnings.map { "⚠ [\($0.check)] \($0.message)" }
        lines += failures.map { "✘ [\($0.check)] \($0.message)" }
        lines.append(
            "\(verdict == .pass ? "PASS" : "FAIL"): \(failures.count) failed, \(findings.count(.pass)) passed"
                + (warnings.isEmpty ? "" : ", \(warnings.count) to look at"))
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: StructuredValue {
        .object([
            ("verdict", .string(verdict.rawValue)),
            (
                "findings",
                .array(
                    findings.map {
                        .object([
                            ("rule", .string($0.check)), ("status", .string($0.status.rawValue)),
                            ("commit", .string(commit($0))), ("message", .string($0.message)),
                        ])
                    })
            ),
        ])
    }

    public var markdown: String {
        var lines = [
            "### gitops-ml audit: \(verdict == .pass ? "✅ pass" : "❌ fail")", "",
            isEmpty ? Self.nothing : "\(failures.count) failed, \(findings.count(.pass)) passed", "",
        ]
        if !(failures + warnings).isEmpty {
            lines += ["| rule | commit | finding |", "|---|---|---|"]
            for finding in warnings + failures {
                let text = finding.message.replacingOccurrences(of: "|", with: "\\|")
                lines.append("| \(finding.check) | `\(commit(finding).prefix(12))` | \(text) |")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public var junit: String {
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var lines = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<testsuite name="gitops-ml audit" tests="\#(findings.count)" failures="\#(failures.count)">"#,
        ]
        for finding in findings {
            let name = escape("\(finding.check) \(commit(finding).prefix(12))")
            if finding.status == .fail || finding.status == .error {
                lines.append(#"  <testcase classname="audit.\#(escape(finding.check))" name="\#(name)">"#)
                lines.append(#"    <failure message="\#(escape(finding.message))"/>"#)
                lines.append("  </testcase>")
            } else {
                lines.append(#"  <testcase classname="audit.\#(escape(finding.check))" name="\#(name)"/>"#)
            }
        }
        lines.append("</testsuite>")
        return lines.joined(separator: "\n") + "\n"
    }
}
