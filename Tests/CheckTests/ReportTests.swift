import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Check

/// The reporters and the gate-report verification of `Sources/Check`, each read back by an independent
/// reader: Python's XML parser for JUnit, GitHub's documented escaping for annotations, and the
/// verification's own refusals for reports that contradict themselves.
@Suite("Check reports")
struct ReportTests {
    static let hostile = "line one\nline two | <b>&amp;</b> \"quoted\" 100% a:b,c\u{1}end"

    static func report(head: String = String(repeating: "a", count: 40)) -> CheckReport {
        CheckReport(
            toolVersion: "test", base: nil, head: (name: "HEAD", commit: head),
            findings: [
                Finding(id: "gate/m/accuracy", suite: .gate, check: "significance", status: .fail, message: hostile),
                Finding(
                    id: "data/train/rows", suite: .data, check: "row_count", status: .warn, message: "few rows",
                    location: SourceLocation(file: "policies/data, v1.yaml", line: 7)),
                Finding(id: "model/m/auc", suite: .model, check: "threshold", status: .pass, message: "ok"),
                Finding(id: "code/tests", suite: .code, check: "junit", status: .skip, message: "nothing to run"),
                Finding(id: "config/params", suite: .config, check: "parse", status: .error, message: "bad\rfile"),
            ])
    }

    @Test func junitIsReadByPythonsXMLParserWithEveryMessageIntact() throws {
        let script = """
            import sys, xml.etree.ElementTree as ET
            root = ET.fromstring(sys.stdin.read())
            cases = root.findall('.//testcase')
            print(len(cases), root.get('tests'), root.get('failures'), root.get('errors'))
            for case in cases:
                for child in case:
                    print(case.get('name'), child.tag, repr(child.get('message')))
            """
        let output = try run(["python3", "-c", script], input: Self.report().junit)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "5 5 1 1", "\(output)")
        // XML 1.0 cannot carry U+0001: it becomes a space; everything else comes back as written.
        let failure = "gate/m/accuracy failure " + pythonRepr(Self.hostile.replacingOccurrences(of: "\u{1}", with: " "))
        #expect(lines.contains(failure), "\(output)")
        #expect(lines.contains("config/params error 'bad file'"), "\(output)")
        #expect(lines.contains("code/tests skipped 'nothing to run'"), "\(output)")
    }

    /// Python's repr of a string made of printable ASCII and \n: single quotes, \n escaped.
    func pythonRepr(_ text: String) -> String {
        let quote = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        return quote
            + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\r", with: "\\r") + quote
    }

    /// One workflow command per failure, error and warning, escaped as GitHub documents (`%`, CR and LF in
    /// data; also `:` and `,` in properties), so a message cannot end the command or forge another.
    @Test func githubAnnotationsAreOneCommandEachAndDecodeToTheMessage() {
        let lines = Self.report().githubAnnotations.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 3)
        func decode(_ text: Substring) -> String {
            text.replacingOccurrences(of: "%0A", with: "\n").replacingOccurrences(of: "%0D", with: "\r")
                .replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%2C", with: ",")
                .replacingOccurrences(of: "%25", with: "%")
        }
        let failure = lines[0]
        #expect(failure.hasPrefix("::error title=gate/m/accuracy::"))
        #expect(decode(failure.dropFirst("::error title=gate/m/accuracy::".count)) == Self.hostile)
        #expect(lines[1] == "::warning file=policies/data%2C v1.yaml,line=7,title=data/train/rows::few rows")
        #expect(lines[2].hasPrefix("::error title=config/params::bad%0Dfile"))
    }

    /// The gate table names each comparison's method as the text does: the test with a bootstrap's
    /// resamples and seed, and the interval's method.
    @Test func markdownGateTableNamesTheMethod() {
        let details: StructuredValue = .object([
            ("metric", .string("roc_auc")), ("champion", .double(0.8)), ("challenger", .double(0.82)),
            ("difference", .double(0.02)), ("p_value", .double(0.03)), ("n", .int(500)),
            ("test", .string("bootstrap (2000 resamples, seed 7)")),
            ("method", .object([("interval", .string("bootstrap expanded percentile"))])),
        ])
        let report = CheckReport(
            toolVersion: "test", base: nil, head: (name: "HEAD", commit: nil),
            findings: [
                Finding(
                    id: "gate/m/roc_auc", suite: .gate, check: "significance", status: .pass, message: "ok",
                    details: details)
            ])
        let lines = report.markdown.split(separator: "\n")
        #expect(lines.contains("| gate | champion | challenger | Δ | interval | p | n | method | result |"))
        #expect(
            lines.contains {
                $0.hasPrefix("| roc_auc |")
                    && $0.hasSuffix("| bootstrap (2000 resamples, seed 7); bootstrap expanded percentile | ✅ pass |")
            }, "\(report.markdown)")
    }

    @Test func markdownKeepsEachFindingInItsTableRow() {
        let markdown = Self.report().markdown
        let row = markdown.split(separator: "\n").first { $0.contains("line one") }
        #expect(row?.contains("line two \\| &lt;b>") == true, "\(markdown)")
        #expect(!markdown.contains("\nline two"), "a message's newline does not start a new line of the table")
    }

    /// Formats by their first bytes, on files written by the libraries that define them.
    @Test func artifactFormatsAreSniffedFromBytesTheirLibrariesWrite() throws {
        func python(_ code: String) throws -> [UInt8] {
            let output = try Subprocess.run(["python3", "-c", "import sys\n" + code])
            guard output.status == 0 else { throw CommandFailed(description: output.stderrText) }
            return output.stdout
        }
        for protocolVersion in 2...5 {
            let bytes = try python(
                "import pickle; sys.stdout.buffer.write(pickle.dumps({'w': [1.5, 2]}, protocol=\(protocolVersion)))")
            #expect(ArtifactFormat.sniff(bytes) == "pickle", "protocol \(protocolVersion)")
        }
        let zlib = try python("import zlib, pickle; sys.stdout.buffer.write(zlib.compress(pickle.dumps([1, 2])))")
        #expect(ArtifactFormat.sniff(zlib) == "joblib")
        // safetensors: u64 little-endian header length, then the JSON header (its documented layout).
        let safetensors = try python(
            "import json, struct; h = json.dumps({'w': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}).encode()\n"
                + "sys.stdout.buffer.write(struct.pack('<Q', len(h)) + h + b'\\x00\\x00\\x80\\x3f')")
        #expect(ArtifactFormat.sniff(safetensors) == "safetensors")
        #expect(ArtifactFormat.sniff(Array("{\"coef\": [0.1]}".utf8)) == "json")
        #expect(ArtifactFormat.sniff(Array("not a model".utf8)) == nil)
        #expect(ArtifactFormat.sniff([]) == nil)
    }
}
