import Foundation
import GitOpsMLCore
import Testing

@testable import Config

/// Documents written to crash, hang or fool the readers: each is refused at its file and line in
/// milliseconds, or read as Python reads it.
@Suite("Hostile JSON, YAML and TOML")
struct HostileDocumentsTests {
    func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func aYAMLAliasBombFailsFast() {
        var lines = [#"a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]"#]
        var previous = "a"
        for name in "bcdefghij" {
            lines.append(
                "\(name): &\(name) [" + Array(repeating: "*" + previous, count: 9).joined(separator: ",") + "]")
            previous = String(name)
        }
        let started = Date()
        let text = message { _ = try YAMLReader.parse(Array(lines.joined(separator: "\n").utf8), file: "params.yaml") }
        #expect(text.contains("params.yaml:1: invalid YAML: it expands to more than 1000000 values"), "\(text)")
        #expect(Date().timeIntervalSince(started) < 10)  // a hang is what this guards against, not a benchmark
    }

    @Test func deepYAMLAndTOMLAreRefusedNotACrash() {
        let flow = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(
            message { _ = try YAMLReader.parse(Array(("a: " + flow).utf8), file: "p.yaml") }.contains(
                "p.yaml:1: invalid YAML: nested more than 1000 levels deep"))
        let staircase = "a:\n" + (0..<3000).map { String(repeating: " ", count: $0) + "- \n" }.joined()
        #expect(
            message { _ = try YAMLReader.parse(Array(staircase.utf8), file: "s.yaml") }.contains("nested more than"))
        #expect(
            message { _ = try TOMLReader.parse(Array(("a = " + flow).utf8), file: "p.toml") }.contains(
                "p.toml:1: invalid TOML: arrays and tables nested more than 256 deep"))
        let tables = String(repeating: "{a = ", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(message { _ = try TOMLReader.parse(Array(("x = " + tables).utf8), file: "t.toml") }.contains("nested"))
        #expect(
            message { _ = try JSONReader.parse(Array(flow.utf8), file: "m.json") }.contains(
                "m.json:1: invalid JSON: nested more than 512 levels deep"))
    }

    /// Few values, but each a copy of one long string: 100 aliases of 100 aliases of 100,000 characters
    /// (100 KB of YAML, 1 GB expanded) are refused by their size, in milliseconds.
    @Test func aYAMLAliasBombOfLongStringsIsChargedItsSize() {
        let big = String(repeating: "x", count: 100_000)
        let text =
            "a: &a \"\(big)\"\nb: &b [" + Array(repeating: "*a", count: 100).joined(separator: ", ")
            + "]\nc: [" + Array(repeating: "*b", count: 100).joined(separator: ", ") + "]\n"
        let started = Date()
        let refused = message { _ = try YAMLReader.parse(Array(text.utf8), file: "params.yaml") }
        #expect(refused.hasPrefix("params.yaml:1: invalid YAML: it expands to more than 1000000 values"), "\(refused)")
        #expect(Date().timeIntervalSince(started) < 20)  // a hang guard (it took 566 s), not a benchmark
        // One long string, once, is a value like any other.
        let once = message { _ = try YAMLReader.parse(Array("a: \"\(big)\"\n".utf8), file: "params.yaml") }
        #expect(once == "accepted")
    }

    /// Dotted keys and table names nest as deep as they have parts: 50,000 parts in 100 KB crashed the
    /// reader (SIGSEGV); now each is refused at its line, as deep arrays and inline tables are, and so are
    /// inline tables that each add a long dotted key.
    @Test func tomlDottedKeysAndHeadersAreBoundedLikeNesting() {
        let long = Array(repeating: "a", count: 50_000).joined(separator: ".")
        let dotted = message { _ = try TOMLReader.parse(Array("\(long) = 1\n".utf8), file: "p.toml") }
        #expect(dotted == "p.toml:1: invalid TOML: keys and tables nested more than 256 deep", "\(dotted)")
        let header = message { _ = try TOMLReader.parse(Array("x = 1\n[\(long)]\n".utf8), file: "p.toml") }
        #expect(header == "p.toml:2: invalid TOML: a table name of more than 256 parts", "\(header)")
        let part = Array(repeating: "b", count: 62).joined(separator: ".")
        let inline = "a = " + String(repeating: "{\(part) = ", count: 200) + "1" + String(repeating: "}", count: 200)
        let nested = message { _ = try TOMLReader.parse(Array(inline.utf8), file: "p.toml") }
        #expect(nested.hasPrefix("p.toml:1: invalid TOML:") && nested.contains("more than 256 deep"), "\(nested)")
        // Within the bound, a dotted key under a dotted header reads as tomllib reads it.
        let fine = message { _ = try TOMLReader.parse(Array("[a.b]\nc.d = 1\n".utf8), file: "p.toml") }
        #expect(fine == "accepted")
    }

    @Test func tomlReadsScalarsNotCharacters() throws {
        // A combining mark right after the opening quote is content (tomllib: {'a': '\u0301x'}).
        let value = try TOMLReader.parse(Array("a = \"\u{301}x\"\nb = 'q\u{301}'\n".utf8), file: "p.toml")
        #expect(value == .object([("a", .string("\u{301}x")), ("b", .string("q\u{301}"))]))
        let crlf = try TOMLReader.parse(Array("a = 1\r\nb = \"\"\"x\r\ny\"\"\"\r\n".utf8), file: "p.toml")
        #expect(crlf == .object([("a", .int(1)), ("b", .string("x\ny"))]))
        #expect(
            message { _ = try TOMLReader.parse(Array("a = \"x\u{1}\"\n".utf8), file: "p.toml") }.contains(
                "control character"))
    }

    @Test func jsonDuplicateKeysAreAnErrorAsInYAML() {
        #expect(
            message { _ = try JSONReader.parse(Array("{\"a\": 1,\n \"a\": 2}".utf8), file: "m.json") }.contains(
                "duplicate key \"a\""))
        #expect(
            message { _ = try YAMLReader.parse(Array("a: 1\na: 2\n".utf8), file: "m.yaml") }.contains("duplicate key"))
    }

    @Test func aTableOfManyKeysIsNotQuadratic() throws {
        let keys = (0..<50_000).map { "k\($0) = \($0)" }.joined(separator: "\n")
        let started = Date()
        guard case .object(let pairs) = try TOMLReader.parse(Array(keys.utf8), file: "big.toml") else {
            Issue.record("not a table")
            return
        }
        #expect(pairs.count == 50_000)
        #expect(Date().timeIntervalSince(started) < 20)
    }

    /// Found by the differential corpus (Tests/FuzzTests/DifferentialTests): documents tomllib and json
    /// refuse that these readers used to accept, each now refused.
    @Test(arguments: [
        "a = 0xc\u{0}d07\n",  // a NUL ended the number for strtod: read as 12
        "a = 134986.9562\u{0}393202\n",
        "a = 494_215_E40_698\n",  // an underscore next to the exponent
        "a = 58:52119864899\n",  // date-like, not a date or a time
        "a = 4111-5012943\n", "a = -286-_562_11_789\n", "a = 3.:4e-10\n", "a = 2023-02-29\n", "a = 24:00:00\n",
        "a = 0b-1010\n",  // Int(_:radix:) took the sign
        "a = \"\\u+009b\"\n",  // and so did the escape's hex digits
    ])
    func tomlRegressions(document: String) {
        #expect(message { _ = try TOMLReader.parse(Array(document.utf8), file: "p.toml") }.contains("invalid TOML"))
    }

    @Test func tomlDatesAsTomllibReadsThem() throws {
        for date in ["1979-05-27", "1979-05-27T07:32:00Z", "1979-05-27 07:32:00.999-07:00", "2024-02-29", "07:32:00"] {
            #expect(
                try TOMLReader.parse(Array("a = \(date)\n".utf8), file: "p.toml")
                    == .object([("a", .string(date.replacingOccurrences(of: " ", with: "T")))]))
        }
    }

    @Test func jsonEscapesTakeHexDigitsOnly() {
        #expect(
            message { _ = try JSONReader.parse(Array(#"["\u+0e9"]"#.utf8), file: "m.json") }.contains(
                "invalid \\u escape"))
    }
}
