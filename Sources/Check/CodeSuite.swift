import Config
import Foundation
import GitOpsMLCore
import Processes

/// Configured commands (tests of the project's code) run with a timeout; their JUnit XML, when named,
/// turns into one finding per failed test case. A command that cannot start is an error, not a pass.
enum CodeSuite {
    static func run(_ check: ProjectConfig.CodeCheck, workTree: String?) -> [Finding] {
        let id = "code/\(check.name)"
        guard let workTree else {
            return [
                Finding(
                    id: id, suite: .code, check: "command", status: .error,
                    message: "\(check.name): code checks need a work tree (this repository is bare)")
            ]
        }
        let directory = check.workingDirectory.map { workTree + "/" + $0 } ?? workTree
        if let junit = check.junit { try? FileManager.default.removeItem(atPath: directory + "/" + junit) }
        let started = Date()
        let output: ProcessOutput
        do {
            output = try Subprocess.run(
                ["/bin/sh", "-c", check.run], directory: directory,
                environment: environment(ProcessSecrets.environment, passing: check.passEnv),
                timeout: check.timeout)
        } catch {
            return [
                Finding(id: id, suite: .code, check: "command", status: .error, message: "\(check.name): \(error)")
            ]
        }
        let seconds = Date().timeIntervalSince(started)
        var findings: [Finding] = []
        let tail = output.stderrText.split(separator: "\n").suffix(3).joined(separator: " | ")
        let status: Finding.Status
        let message: String
        if output.timedOut {
            (status, message) = (.fail, "\(check.name) timed out after \(String(format: "%g", check.timeout)) s")
        } else if output.status == 127 {
            (status, message) = (.error, "\(check.name): command not found: \(tail)")
        } else if output.status != 0 {
            (status, message) = (
                .fail, "\(check.name) exited with status \(output.status)\(tail.isEmpty ? "" : ": " + tail)"
            )
        } else {
            (status, message) = (.pass, "\(check.name) passed in \(String(format: "%.1f", seconds)) s")
        }
        findings.append(
            Finding(
                id: id, suite: .code, check: "command", status: status, message: message,
                details: .object([("exit_status", .int(Int(output.status))), ("seconds", .double(seconds))])))
        if let junit = check.junit, !output.timedOut {
            findings += JUnitResults.findings(path: directory + "/" + junit, name: check.name, relativeTo: workTree)
        }
        return findings
    }
}

extension CodeSuite {
    /// The environment a code check runs in: this process's, without the credentials a test has no need
    /// of and a hostile one would print (GitHub's tokens, the runner's OIDC request, gitops-ml's own
    /// tokens), unless `pass_env` names them.
    static func environment(_ environment: [String: String], passing: [String]) -> [String: String] {
        environment.filter { name, _ in passing.contains(name) || !ProcessSecrets.isSecret(name) }
    }
}

/// Reads JUnit XML (pytest, surefire, go-junit-report…): the counts, and a finding per failed case.
enum JUnitResults {
    static func findings(path: String, name: String, relativeTo root: String) -> [Finding] {
        let id = "code/\(name)/junit"
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            return [
                Finding(
                    id: id, suite: .code, check: "junit", status: .error,
                    message: "\(name): no JUnit report at \(path)")
            ]
        }
        let cases = XMLScan.elements(named: "testcase", in: text)
        guard !cases.isEmpty || text.contains("<testsuite") else {
            return [
                Finding(
                    id: id, suite: .code, check: "junit", status: .error, message: "\(name): \(path) is not JUnit XML")
            ]
        }
        var failed: [Finding] = []
        var skipped = 0
        for element in cases {
            let caseName = [element.attributes["classname"], element.attributes["name"]].compactMap { $0 }.joined(
                separator: ".")
            if element.body.contains("<skipped") { skipped += 1 }
            guard
                let failure = XMLScan.elements(named: "failure", in: element.body).first
                    ?? XMLScan.elements(named: "error", in: element.body).first
            else { continue }
            let file = element.attributes["file"]
            let line = element.attributes["line"].flatMap(Int.init)
            let reason =
                failure.attributes["message"] ?? failure.body.split(separator: "\n").first.map(String.init) ?? "failed"
            failed.append(
                Finding(
                    id: "\(id)/\(caseName)", suite: .code, check: "junit", status: .fail,
                    message: "\(caseName): \(XMLScan.unescape(reason))",
                    location: file.map { SourceLocation(file: $0, line: line) }))
        }
        let summary = Finding(
            id: id, suite: .code, check: "junit", status: failed.isEmpty ? .pass : .fail,
            message: "\(name): \(cases.count) tests, \(failed.count) failed, \(skipped) skipped",
            details: .object([("tests", .int(cases.count)), ("failed", .int(failed.count)), ("skipped", .int(skipped))])
        )
        return [summary] + failed
    }
}

/// Just enough XML to read JUnit reports: elements by name, their attributes and inner text.
enum XMLScan {
    struct Element {
        var attributes: [String: String]
        var body: String
    }

    static func elements(named name: String, in text: String) -> [Element] {
        var result: [Element] = []
        var rest = text[...]
        while let open = rest.range(of: "<" + name) {
            let after = rest[open.upperBound...]
            guard let first = after.first,
                first == " " || first == ">" || first == "/" || first == "\n" || first == "\t",
                let close = after.firstIndex(of: ">")
            else {
                rest = after
                continue
            }
            let tag = after[..<close]
            let attributes = parseAttributes(String(tag))
            if tag.hasSuffix("/") {
                result.append(Element(attributes: attributes, body: ""))
                rest = after[after.index(after: close)...]
                continue
            }
            let bodyStart = after.index(after: close)
            let end = after[bodyStart...].range(of: "</" + name + ">")
            let body = end.map { String(after[bodyStart..<$0.lowerBound]) } ?? ""
            result.append(Element(attributes: attributes, body: body))
            rest = end.map { after[$0.upperBound...] } ?? after[bodyStart...]
        }
        return result
    }

    static func parseAttributes(_ tag: String) -> [String: String] {
        var attributes: [String: String] = [:]
        var rest = tag[...]
        while let equals = rest.firstIndex(of: "=") {
            let key =
                rest[..<equals].split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).last.map(String.init)
                ?? ""
            var valueStart = rest.index(after: equals)
            guard valueStart < rest.endIndex else { break }
            let quote = rest[valueStart]
            guard quote == "\"" || quote == "'" else { break }
            valueStart = rest.index(after: valueStart)
            guard let valueEnd = rest[valueStart...].firstIndex(of: quote) else { break }
            attributes[key] = unescape(String(rest[valueStart..<valueEnd]))
            rest = rest[rest.index(after: valueEnd)...]
        }
        return attributes
    }

    static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#10;", with: " ").replacingOccurrences(of: "&amp;", with: "&")
    }
}
