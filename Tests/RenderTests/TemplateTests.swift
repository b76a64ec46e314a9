import Config
import Foundation
import Testing

@testable import Render

@Suite struct TemplateTests {
    func render(_ text: String, _ context: [String: TemplateValue]) throws -> String {
        try Template(name: "t.yaml", text: text).render(context)
    }

    @Test func valuesLoopsAndConditions() throws {
        let text = """
            name: <@ model.name @>
            items:
            <@ for item in items @>
              - <@ item @>
            <@ end @>
            <@ if not missing @>
            flag: <@ flag @>
            <@ else @>
            never
            <@ end @>
            """
        let out = try render(
            text,
            [
                "model": .map(["name": .text("churn")]), "items": .list([.text("a"), .number(2)]),
                "flag": .bool(true), "missing": .null,
            ])
        #expect(out == "name: churn\nitems:\n  - a\n  - 2\nflag: true\n")
    }

    @Test func quoteAndJSONEscapeEverythingYAMLCouldRead() throws {
        let hostile = "a\"b: c\n- d # e ${{ secrets.X }} \u{2028}"
        let out = try render(
            "v: <@ x | quote @>\nl: <@ l | json @>\n", ["x": .text(hostile), "l": .list([.text(hostile)])])
        let parsed = try YAMLReader.parse(Array(out.utf8), file: "out")
        #expect(
            parsed == .object([(key: "v", value: .string(hostile)), (key: "l", value: .array([.string(hostile)]))]))
        #expect(!out.contains("\n-"))
    }

    @Test func unsafeBareValuesAreRefusedWithTheLine() throws {
        for value in ["a b", "x: y", "$(rm -rf /)", "a;b", "'q'", "#c", "-", "{x}", "a\nb", ""] {
            #expect(throws: TemplateError.self) { _ = try render("a: 1\nb: <@ v @>\n", ["v": .text(value)]) }
        }
        do {
            _ = try render("a: 1\nb: <@ v @>\n", ["v": .text("a b")])
        } catch let error as TemplateError {
            #expect(error.description.hasPrefix("t.yaml:2: the value of 'v'"))
            #expect(error.description.contains("use '| quote'"))
        }
        #expect(try render("<@ v @>", ["v": .text("ghcr.io/org/img@sha256:ab+c=1")]) == "ghcr.io/org/img@sha256:ab+c=1")
    }

    @Test func errorsNameTheTemplateAndLine() throws {
        let cases: [(String, String)] = [
            ("a: 1\n\nb: <@ model.nmae @>\n", "t.yaml:3: unknown variable 'model.nmae'"),
            ("<@ for x in items @>\nx\n", "t.yaml:1: 'for x in items' is never closed with '<@ end @>'"),
            ("a\n<@ end @>\n", "t.yaml:2: 'end' without a block"),
            ("a: <@ x | upper @>\n", "t.yaml:1: unknown filter 'upper' (known: quote, json)"),
            ("a: <@ x\n", "t.yaml:1: unterminated '<@'"),
            ("a: <@ items @>\n", "t.yaml:1: 'items' is a list, a mapping or empty; use '| json'"),
        ]
        for (text, message) in cases {
            do {
                _ = try render(text, ["model": .map(["name": .text("m")]), "items": .list([])])
                Issue.record("no error for \(text)")
            } catch let error as TemplateError {
                #expect(error.description == message)
            }
        }
    }

    /// Prometheus and GitHub expressions pass through untouched: the delimiters cannot collide.
    @Test func otherTemplateLanguagesPassThrough() throws {
        let text = "run: echo ${{ github.sha }} {{ $labels.instance }} [[ -n x ]]\n"
        #expect(try render(text, [:]) == text)
    }

    @Test func bundledTemplatesMatchTheTemplatesFolder() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../templates"
        )
        .standardized.path
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder).filter {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDirectory)
                && !isDirectory.boolValue
        }
        #expect(files.sorted() == TemplateLibrary.bundledPaths, "run `make templates`")
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            #expect(TemplateLibrary.bundled(file) == text, "templates/\(file) changed: run `make templates`")
        }
    }
}
