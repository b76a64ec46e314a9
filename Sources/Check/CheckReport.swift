import Foundation
import Gates
import GitOpsMLCore

/// The outcome of a check run: what was compared and every finding. Deterministic for the same inputs
/// (no timestamps), so that its digest identifies the run.
public struct CheckReport: Sendable {
    public static let schemaVersion = 1

    public var toolVersion: String
    public var base: (name: String, commit: String?)?
    public var head: (name: String, commit: String?)
    public var findings: [Finding]

    public init(
        toolVersion: String, base: (name: String, commit: String?)?, head: (name: String, commit: String?),
        findings: [Finding]
    ) {
        self.toolVersion = toolVersion
        self.base = base
        self.head = head
        self.findings = findings
    }

    public var verdict: Finding.Status { findings.verdict }

    // MARK: JSON (schemas/check-report.schema.json)

    public var json: StructuredValue {
        func revision(_ side: (name: String, commit: String?)) -> StructuredValue {
            .object([("rev", .string(side.name)), ("commit", side.commit.map(StructuredValue.string) ?? .null)])
        }
        let summary: [(key: String, value: StructuredValue)] = Finding.Status.allCases.map {
            ($0.rawValue, .int(findings.count($0)))
        }
        return .object([
            ("schema_version", .int(CheckReport.schemaVersion)),
            ("tool", .object([("name", .string("gitops-ml")), ("version", .string(toolVersion))])),
            ("verdict", .string(verdict.rawValue)),
            ("base", base.map(revision) ?? .null),
            ("head", revision(head)),
            ("summary", .object(summary)),
            ("findings", .array(findings.map(Self.json))),
        ])
    }

    public static func json(_ finding: Finding) -> StructuredValue {
        var fields: [(key: String, value: StructuredValue)] = [
            ("id", .string(finding.id)), ("suite", .string(finding.suite.rawValue)), ("check", .string(finding.check)),
            ("status", .string(finding.status.rawValue)), ("message", .string(finding.message)),
            ("observed", finding.observed ?? .null), ("expected", finding.expected ?? .null),
        ]
        if let location = finding.location {
            var place: [(key: String, value: StructuredValue)] = [("file", .string(location.file))]
            if let line = location.line { place.append(("line", .int(line))) }
            fields.append(("location", .object(place)))
        }
        if let details = finding.details { fields.append(("details", details)) }
        return .object(fields)
    }

    /// The JSON text stored as the git note and written by `--format json`.
    public var jsonText: String { json.strictJSON.json(indent: 2) + "\n" }

    // MARK: Text

    public func text(color: Bool) -> String {
        func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        let marks: [Finding.Status: String] = [
            .pass: paint("✔", "32"), .fail: paint("✘", "31"), .warn: paint("!", "33"), .skip: paint("-", "90"),
            .error: paint("✘", "35"),
        ]
        var lines = [
            "gitops-ml check: \(head.name)\(head.commit.map { " (\($0.prefix(12)))" } ?? "") against \(base.map { "\($0.name)\($0.commit.map { c in " (\(c.prefix(12)))" } ?? "")" } ?? "no champion")"
        ]
        for suite in Finding.Suite.allCases {
            let items = findings.filter { $0.suite == suite }
            guard !items.isEmpty else { continue }
            lines.append("")
            lines.append(paint(suite.rawValue, "1"))
            for finding in items {
                let place = finding.location.map { " [\($0)]" } ?? ""
                lines.append(
                    "  \(marks[finding.status] ?? "?") \(finding.message)\(finding.status == .pass ? "" : paint(place, "90"))"
                )
            }
        }
        lines.append("")
        lines.append(verdictLine(markdown: false).replacingOccurrences(of: "**", with: ""))
        return lines.joined(separator: "\n") + "\n"
    }

    func verdictLine(markdown: Bool) -> String {
        let counts = Finding.Status.allCases.reversed().compactMap { status -> String? in
            let count = findings.count(status)
            return count == 0 ? nil : "\(count) \(status.rawValue)"
        }.joined(separator: ", ")
        let empty = findings.contains { $0.id == "config/nothing-checked" }
        let word =
            verdict == .pass
            ? (markdown ? "✅ **pass**" : "PASS")
            : empty ? (markdown ? "❌ **nothing checked**" : "NOTHING CHECKED") : (markdown ? "❌ **fail**" : "FAIL")
        return "\(word): \(counts)"
    }

    // MARK: Markdown (step summary, pull-request comment)

    public var markdown: String {
        var lines = ["## gitops-ml check: \(verdictLine(markdown: true))", ""]
        lines.append(
            "`\(head.name)`\(head.commit.map { " (`\($0.prefix(12))`)" } ?? "") against \(base.map { "`\($0.name)`\($0.commit.map { c in " (`\(c.prefix(12))`)" } ?? "")" } ?? "no champion (first deployment)")"
        )
        let gates = findings.filter { $0.suite == .gate }
        if !gates.isEmpty {
            lines += [
                "", "| gate | champion | challenger | Δ | interval | p | n | method | result |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
            for gate in gates {
                let details = gate.details
                func number(_ key: String) -> String { details?[key]?.number.map(GateEvaluator.format) ?? "–" }
                let interval =
                    details?["interval"].flatMap { value -> String? in
                        guard case .array(let bounds) = value, bounds.count == 2, let low = bounds[0].number,
                            let high = bounds[1].number
                        else { return nil }
                        return "\(GateEvaluator.signed(low)) … \(GateEvaluator.signed(high))"
                    } ?? "–"
                let delta = details?["difference"]?.number.map(GateEvaluator.signed) ?? "–"
                let metric: String
                if case .string(let name)? = details?["metric"] { metric = name } else { metric = gate.id }
                // The test (with a bootstrap's resamples and seed) and the interval's method, as in the text.
                var method = "–"
                if case .string(let test)? = details?["test"] {
                    method = test
                    if case .string(let interval)? = details?["method"]?["interval"] { method += "; \(interval)" }
                }
                lines.append(
                    "| \(metric) | \(number("champion")) | \(number("challenger")) | \(delta) | \(interval) | \(number("p_value")) | \(number("n")) | \(Self.escape(method)) | \(Self.emoji(gate.status)) \(gate.status.rawValue) |"
                )
            }
        }
        let problems = findings.filter { $0.status != .pass }
        if !problems.isEmpty {
            lines += ["", "### Needs attention", ""]
            lines += problems.map {
                "- \(Self.emoji($0.status)) **\($0.id)**: \(Self.escape($0.message))\($0.location.map { " (`\($0)`)" } ?? "")"
            }
        }
        lines += [
            "", "<details><summary>All \(findings.count) findings</summary>", "",
            "| status | suite | check | message |", "|---|---|---|---|",
        ]
        lines += findings.map {
            "| \(Self.emoji($0.status)) \($0.status.rawValue) | \($0.suite) | \($0.check) | \(Self.escape($0.message)) |"
        }
        lines += ["", "</details>", ""]
        return lines.joined(separator: "\n")
    }

    static func emoji(_ status: Finding.Status) -> String {
        switch status {
        case .pass: return "✅"
        case .warn: return "⚠️"
        case .fail: return "❌"
        case .error: return "💥"
        case .skip: return "⏭️"
        }
    }

    /// Text made safe for one cell of a Markdown table.
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "<", with: "&lt;")
    }

    // MARK: JUnit XML

    public var junit: String {
        var lines = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>"]
        let failures = findings.count(.fail)
        let errors = findings.count(.error)
        lines.append(
            "<testsuites name=\"gitops-ml check\" tests=\"\(findings.count)\" failures=\"\(failures)\" errors=\"\(errors)\">"
        )
        for suite in Finding.Suite.allCases {
            let items = findings.filter { $0.suite == suite }
            guard !items.isEmpty else { continue }
            lines.append(
                "  <testsuite name=\"\(suite)\" tests=\"\(items.count)\" failures=\"\(items.count(.fail))\" errors=\"\(items.count(.error))\" skipped=\"\(items.count(.skip))\">"
            )
            for finding in items {
                var attributes =
                    "classname=\"\(Self.xml(suite.rawValue + "." + finding.check))\" name=\"\(Self.xml(finding.id))\""
                if let location = finding.location {
                    attributes += " file=\"\(Self.xml(location.file))\""
                    if let line = location.line { attributes += " line=\"\(line)\"" }
                }
                let message = Self.xml(finding.message)
                switch finding.status {
                case .pass: lines.append("    <testcase \(attributes)/>")
                case .skip: lines.append("    <testcase \(attributes)><skipped message=\"\(message)\"/></testcase>")
                case .warn:
                    lines.append("    <testcase \(attributes)><system-out>warning: \(message)</system-out></testcase>")
                case .fail:
                    lines.append(
                        "    <testcase \(attributes)><failure message=\"\(message)\">\(message)</failure></testcase>")
                case .error:
                    lines.append(
                        "    <testcase \(attributes)><error message=\"\(message)\">\(message)</error></testcase>")
                }
            }
            lines.append("  </testsuite>")
        }
        lines.append("</testsuites>")
        return lines.joined(separator: "\n") + "\n"
    }

    static func xml(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\n": out += "&#10;"
            // Control characters are not allowed in XML 1.0.
            case _ where scalar.value < 0x20 && scalar != "\t": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    // MARK: GitHub workflow commands

    /// `::error file=…,line=…::message` for failures and errors, `::warning` for warnings.
    public var githubAnnotations: String {
        findings.compactMap { finding -> String? in
            let command: String
            switch finding.status {
            case .fail, .error: command = "error"
            case .warn: command = "warning"
            default: return nil
            }
            var properties = ["title=\(Self.githubProperty(finding.id))"]
            if let location = finding.location {
                properties.insert("file=\(Self.githubProperty(location.file))", at: 0)
                if let line = location.line { properties.insert("line=\(line)", at: 1) }
            }
            return "::\(command) \(properties.joined(separator: ","))::\(Self.githubData(finding.message))"
        }.joined(separator: "\n") + "\n"
    }

    static func githubData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    static func githubProperty(_ text: String) -> String {
        githubData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }
}
