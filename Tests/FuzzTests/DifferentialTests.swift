import Foundation
import GitOpsMLCore
import Testing

@testable import Config
@testable import Datasets

/// The readers against Python's: every document of the corpus parses to the same values as tomllib,
/// json and float() give, or both refuse it. The committed corpus (Tests/Reference/
/// make_differential_corpus.py, seed 1) always runs; `make test` adds a fresh one with a new seed
/// (GITOPS_ML_DIFFERENTIAL names it), so every run explores new documents.
@Suite("Readers agree with Python's tomllib, json and float()")
struct DifferentialTests {
    /// The committed corpus and, when GITOPS_ML_DIFFERENTIAL names one, the fresh one: a corpus that is
    /// named but cannot be read fails the test instead of being left out.
    static func corpora() throws -> [(name: String, entries: [[String: Any]])] {
        var files: [URL] = []
        guard
            let committed = Bundle.module.url(
                forResource: "differential", withExtension: "json", subdirectory: "Corpus")
        else { throw CommandError("the committed corpus Corpus/differential.json is not in the test bundle") }
        files.append(committed)
        if let fresh = ProcessInfo.processInfo.environment["GITOPS_ML_DIFFERENTIAL"] {
            files.append(URL(fileURLWithPath: fresh))
        }
        return try files.map { url in
            guard let data = try? Data(contentsOf: url),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let entries = object["entries"] as? [[String: Any]], !entries.isEmpty
            else { throw CommandError("\(url.path): not a differential corpus with entries") }
            return ("\(url.lastPathComponent) (seed \(object["seed"] ?? "?"))", entries)
        }
    }

    /// A parsed value in the corpus's tagged form.
    static func tagged(_ value: StructuredValue) -> [String: Any] {
        switch value {
        case .null: return ["t": "null"]
        case .bool(let flag): return ["t": "bool", "v": flag]
        case .int(let number): return ["t": "int", "v": String(number)]
        case .double(let number): return ["t": "float", "v": number]
        case .string(let text): return ["t": "str", "v": text]
        case .array(let items): return ["t": "array", "v": items.map(tagged)]
        case .object(let pairs): return ["t": "object", "v": pairs.map { [$0.key, tagged($0.value)] as [Any] }]
        }
    }

    /// Python's float repr read back, or its words for the non-finite ones.
    static func pythonFloat(_ text: String) -> Double? {
        switch text {
        case "nan": return .nan
        case "inf": return .infinity
        case "-inf": return -.infinity
        default: return Double(text)
        }
    }

    static func same(_ ours: [String: Any], _ theirs: [String: Any]) -> Bool {
        guard let kind = theirs["t"] as? String, kind == ours["t"] as? String else { return false }
        switch kind {
        case "null": return true
        case "bool": return (ours["v"] as? Bool) == (theirs["v"] as? Bool)
        case "int", "str": return (ours["v"] as? String) == (theirs["v"] as? String)
        case "float":
            guard let a = ours["v"] as? Double, let b = (theirs["v"] as? String).flatMap(pythonFloat) else {
                return false
            }
            return a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern
        case "array":
            guard let a = ours["v"] as? [[String: Any]], let b = theirs["v"] as? [[String: Any]], a.count == b.count
            else { return false }
            return zip(a, b).allSatisfy { same($0, $1) }
        case "object":
            guard let a = ours["v"] as? [[Any]], let b = theirs["v"] as? [[Any]], a.count == b.count else {
                return false
            }
            return zip(a, b).allSatisfy { left, right in
                (left.first as? String) == (right.first as? String)
                    && same(left.last as? [String: Any] ?? [:], right.last as? [String: Any] ?? [:])
            }
        default: return false
        }
    }

    @Test func everyDocumentAsPythonReadsIt() throws {
        let corpora = try Self.corpora()
        for (name, entries) in corpora {
            var compared = 0
            for entry in entries {
                guard let format = entry["format"] as? String, let text = entry["text"] as? String,
                    let expected = entry["expected"] as? [String: Any], let kind = expected["t"] as? String,
                    kind != "skip"
                else { continue }
                compared += 1
                let ours: [String: Any]
                do {
                    switch format {
                    case "toml": ours = Self.tagged(try TOMLReader.parse(Array(text.utf8), file: "d.toml"))
                    case "json": ours = Self.tagged(try JSONReader.parse(Array(text.utf8), file: "d.json"))
                    default:
                        guard let number = Column.number(text) else { throw CommandError("not a number") }
                        ours = ["t": "float", "v": number]
                    }
                } catch {
                    #expect(
                        kind == "error",
                        "\(name): \(format) \(text.debugDescription): we refuse (\(error)), Python reads it")
                    continue
                }
                #expect(
                    Self.same(ours, expected),
                    "\(name): \(format) \(text.debugDescription): ours \(ours), Python \(expected)")
            }
            #expect(compared > entries.count / 2, "\(name): most entries are compared")
        }
    }
}

struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
