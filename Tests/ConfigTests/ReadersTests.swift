import GitOpsMLCore
import Testing

@testable import Config

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite("JSON, YAML and TOML readers")
struct ReadersTests {
    @Test func jsonKeepsIntsFloatsAndOrder() throws {
        let value = try JSONReader.parse(
            bytes(#"{"b": 1, "a": 1.0, "e": 2e3, "s": "\u00e9\n", "n": null, "t": true, "l": [1, -0.5], "nan": NaN}"#),
            file: "m.json")
        guard case .object(let pairs) = value else { throw CommandError("not an object") }
        #expect(pairs.map(\.key) == ["b", "a", "e", "s", "n", "t", "l", "nan"])
        #expect(value["b"] == .int(1))
        if case .double(let a)? = value["a"] { #expect(a == 1.0) } else { Issue.record("a is not a float") }
        #expect(value["e"].map { if case .double = $0 { true } else { false } } == true)
        #expect(value["s"] == .string("é\n"))
        #expect(value["l"] == .array([.int(1), .double(-0.5)]))
        if case .double(let nan)? = value["nan"] { #expect(nan.isNaN) } else { Issue.record("NaN not read") }
        // Duplicate keys: the last wins, as in Python.
        #expect(throws: GitOpsMLError.self) { try JSONReader.parse(bytes(#"{"a": 1, "a": 2}"#), file: "d.json") }
    }

    @Test(arguments: [
        ("{\n  \"a\": 1,\n}", 3), ("{\"a\": 01}", 1), ("[1, 2", 1), ("{\"a\" 1}", 1), ("\n\n\"unterminated", 3),
        ("{} {}", 1), ("", 1), ("{\"a\": tru}", 1),
    ])
    func jsonErrorsNameFileAndLine(text: String, line: Int) throws {
        let error = #expect(throws: GitOpsMLError.self) { try JSONReader.parse(bytes(text), file: "metrics.json") }
        #expect(error?.location == SourceLocation(file: "metrics.json", line: line))
        #expect(error?.category == .configuration)
        #expect(error?.description.hasPrefix("metrics.json:\(line): invalid JSON") == true)
    }

    @Test func invalidUTF8IsAnErrorAtItsLine() throws {
        let error = #expect(throws: GitOpsMLError.self) {
            try JSONReader.parse(bytes("{\n\"a\": \"") + [0xC3, 0x28] + bytes("\"}"), file: "m.json")
        }
        #expect(error?.description == "m.json:2: not valid UTF-8")
        #expect(throws: GitOpsMLError.self) { try YAMLReader.parse([0xFF, 0xFE, 0x41], file: "p.yaml") }
        #expect(throws: GitOpsMLError.self) { try TOMLReader.parse([0x61, 0x3D, 0x22, 0xFF, 0x22], file: "p.toml") }
    }

    @Test func deepNestingIsRefusedNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: GitOpsMLError.self) { try JSONReader.parse(bytes(deep), file: "deep.json") }
    }

    @Test func yamlUsesTheCoreSchemaOfYAML12() throws {
        let value = try YAMLReader.parse(
            bytes(
                """
                a: yes
                b: on
                c: true
                d: 0.20
                e: 10
                f: '10'
                g: ~
                h: 1e-3
                i: 0x1f
                j: .inf
                k: 1_000
                l: 2024-01-01
                m: [1, 2.5, x]
                """), file: "params.yaml")
        #expect(value["a"] == .string("yes"))
        #expect(value["b"] == .string("on"))
        #expect(value["c"] == .bool(true))
        #expect(value["d"] == .double(0.2))
        #expect(value["e"] == .int(10))
        #expect(value["f"] == .string("10"))
        #expect(value["g"] == .null)
        #expect(value["h"] == .double(0.001))
        #expect(value["i"] == .int(31))
        #expect(value["j"] == .double(.infinity))
        #expect(value["k"] == .int(1000))
        #expect(value["l"] == .string("2024-01-01"))
        #expect(value["m"] == .array([.int(1), .double(2.5), .string("x")]))
    }

    @Test func yamlErrorsNameFileAndLine() throws {
        let error = #expect(throws: GitOpsMLError.self) {
            try YAMLReader.parse(bytes("a: 1\nb: [1, 2\nc: 3\n"), file: "params.yaml")
        }
        #expect(error?.location?.file == "params.yaml")
        #expect((error?.location?.line ?? 0) >= 2)
        let duplicate = #expect(throws: GitOpsMLError.self) {
            try YAMLReader.parse(bytes("a: 1\na: 2\n"), file: "d.yaml")
        }
        #expect(duplicate?.description.contains("duplicate key") == true)
    }

    @Test func tomlTablesArraysAndStrings() throws {
        let value = try TOMLReader.parse(
            bytes(
                #"""
                # metrics
                title = "run 1" # comment
                count = 1_000
                hex = 0xff
                ratio = 6.5e-1
                ok = true
                when = 1979-05-27T07:32:00Z
                list = [1, 2,
                  3, ] # trailing comma
                inline = { x = 1, y.z = "two" }
                multi = """
                line one
                line two"""
                raw = 'C:\path'

                [train]
                accuracy = 0.91
                [train.per_class]
                a = 0.5

                [[runs]]
                name = "first"
                [[runs]]
                name = "second"
                [site."key with space"]
                v = -inf
                """#), file: "m.toml")
        #expect(value["title"] == .string("run 1"))
        #expect(value["count"] == .int(1000))
        #expect(value["hex"] == .int(255))
        #expect(value["ratio"] == .double(0.65))
        #expect(value["ok"] == .bool(true))
        #expect(value["when"] == .string("1979-05-27T07:32:00Z"))
        #expect(value["list"] == .array([.int(1), .int(2), .int(3)]))
        #expect(value["inline"] == .object([("x", .int(1)), ("y", .object([("z", .string("two"))]))]))
        #expect(value["multi"] == .string("line one\nline two"))
        #expect(value["raw"] == .string("C:\\path"))
        #expect(value["train"]?["accuracy"] == .double(0.91))
        #expect(value["train"]?["per_class"]?["a"] == .double(0.5))
        #expect(
            value["runs"] == .array([.object([("name", .string("first"))]), .object([("name", .string("second"))])]))
        #expect(value["site"]?["key with space"]?["v"] == .double(-.infinity))
        let flat = value.flattened().map(\.key)
        #expect(flat.contains("train.per_class.a"))
    }

    @Test(arguments: [
        ("a = 1\na = 2", 2), ("[t]\n[t]", 2), ("a = \"open", 1), ("a = 01", 1), ("x", 1), ("a = 1 b = 2", 1),
        ("a = [1, 2", 1), ("\n\nv = 1.", 3), ("\nb = {\"\"\"k\"\"\" = 1}", 2), ("\'\'\'k\'\'\' = 1", 1),
    ])
    func tomlErrorsNameFileAndLine(text: String, line: Int) throws {
        let error = #expect(throws: GitOpsMLError.self) { try TOMLReader.parse(bytes(text), file: "m.toml") }
        #expect(error?.location == SourceLocation(file: "m.toml", line: line), "\(String(describing: error))")
    }

    @Test func formatFollowsExtension() throws {
        #expect(StructuredFormat(path: "a/b.JSON") == .json)
        #expect(StructuredFormat(path: "x.yml") == .yaml)
        #expect(StructuredFormat(path: "x.toml") == .toml)
        #expect(try StructuredFormat.parse(bytes("a: 1"), path: "noext") == .object([("a", .int(1))]))
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
