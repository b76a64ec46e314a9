import Foundation
import GitOpsMLCore
import GitStore
import PropertyBased
import TestSupport
import Testing

@testable import Config
@testable import Datasets
@testable import Promotion

/// The parsers under mutation: documents from the committed corpus (Corpus/seeds.json and the
/// differential corpus) with random edits — tricky tokens inserted, bytes removed or replaced, invalid
/// UTF-8, halves repeated — must parse or be refused with one of gitops-ml's own errors; never a crash, a
/// trap or a hang. Each target runs for GITOPS_ML_FUZZ_SECONDS (2 by default; `make test` gives 20).
/// A crash found becomes a case in HostileDocumentsTests or HostileInputTests.
@Suite("Fuzzing the parsers")
struct ParserFuzzTests {
    static let seconds = Double(ProcessInfo.processInfo.environment["GITOPS_ML_FUZZ_SECONDS"] ?? "") ?? 2

    static let seeds: [String: [String]] = {
        guard let url = Bundle.module.url(forResource: "seeds", withExtension: "json", subdirectory: "Corpus"),
            let data = try? Data(contentsOf: url),
            var seeds = (try? JSONSerialization.jsonObject(with: data)) as? [String: [String]]
        else { return [:] }
        for entry in (try? DifferentialTests.corpora())?.first?.entries ?? [] {
            guard let format = entry["format"] as? String, let text = entry["text"] as? String else { continue }
            seeds[format, default: []].append(text)
        }
        return seeds
    }()

    static let tokens: [[UInt8]] =
        [
            "\"", "'", "[", "]", "{", "}", "=", ",", ".", "#", "\\", "\n", "\r\n", " ", "\t", ":", "- ", "? ", "&a ",
            "*a", "!!str ", "%", "|", ">", "0x", "1e9999", "-", "_", "\u{301}", "\u{FEFF}", "\u{2028}", "\\u+00",
            "\\U0001F600", "\"\"\"", "'''", "@", "#1", "!", "~", "^", "{-1}", "..", ":/", "nan", "inf",
            "9223372036854775808",
        ].map { Array($0.utf8) } + [[0], [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0x7F], [0x1B]]

    /// `seed` with the edits that `codes` describe (each code picks an edit, a place and a token).
    static func mutate(_ seed: String, _ codes: [Int]) -> [UInt8] {
        var bytes = Array(seed.utf8)
        for code in codes {
            let place = bytes.isEmpty ? 0 : (code / 8) % (bytes.count + 1)
            let token = tokens[(code / 8 / max(bytes.count + 1, 1)) % tokens.count]
            switch code % 8 {
            case 0, 1, 2: bytes.insert(contentsOf: token, at: place)
            case 3: if place < bytes.count { bytes.remove(at: place) }
            case 4: if place < bytes.count { bytes.replaceSubrange(place..<place + 1, with: token) }
            case 5: bytes = Array(bytes.prefix(place))
            case 6: bytes.insert(contentsOf: bytes[place...].prefix(64), at: place)
            default: if place < bytes.count { bytes[place] ^= UInt8(truncatingIfNeeded: code >> 3) | 1 }
            }
        }
        return bytes
    }

    /// Checks that `error` is a refusal as the CLI reports one: gitops-ml's own error, one line, and for a
    /// file reader a configuration error (exit 2) that names the file it was given (`file`).
    static func refusal(_ error: any Error, target: String, input: [UInt8], file: String? = nil) {
        guard let error = error as? any CategorizedError else {
            Issue.record("\(target): \(type(of: error)) \(error) for \(input)")
            return
        }
        let text = error.description
        if text.isEmpty || text.contains("\n") {
            Issue.record("\(target): not one line: \(text.debugDescription) for \(input)")
        }
        if let file {
            if error.category != .configuration {
                Issue.record("\(target): \(error.category), not a configuration error: \(text) for \(input)")
            }
            if !text.hasPrefix(file) { Issue.record("\(target): does not name \(file): \(text) for \(input)") }
        }
    }

    /// Runs each parser on `bytes`; a refusal must be clean (see `refusal`) for the file that parser was given.
    static func parse(_ bytes: [UInt8], target: String, _ parsers: [(file: String, parse: ([UInt8]) throws -> Void)]) {
        for (file, parse) in parsers {
            do { try parse(bytes) } catch { refusal(error, target: target, input: bytes, file: file) }
        }
    }

    /// Runs `body` on mutated seeds of `target` until the time is up; only gitops-ml's own errors may come out.
    static func fuzz(_ target: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async {
        let seeds = Self.seeds[target] ?? []
        #expect(!seeds.isEmpty, "a corpus for \(target)")
        guard !seeds.isEmpty else { return }
        let started = Date()
        var runs = 0
        repeat {
            await propertyCheck(
                count: 200, input: Gen.element(of: seeds), Gen.int(in: 0...(1 << 40)).array(of: 0...6)
            ) { seed, codes in
                guard let seed else { return }
                do {
                    try body(mutate(seed, codes))
                } catch {
                    refusal(error, target: target, input: mutate(seed, codes))
                }
            }
            runs += 200
        } while Date().timeIntervalSince(started) < seconds
        print("fuzz \(target): \(runs) inputs in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    @Test func json() async {
        await Self.fuzz("json") {
            Self.parse($0, target: "json", [("f.json", { _ = try JSONReader.parse($0, file: "f.json") })])
        }
    }

    @Test func toml() async {
        await Self.fuzz("toml") {
            Self.parse($0, target: "toml", [("f.toml", { _ = try TOMLReader.parse($0, file: "f.toml") })])
        }
    }

    @Test func yaml() async {
        await Self.fuzz("yaml") { bytes in
            Self.parse(
                bytes, target: "yaml",
                [
                    ("f.yaml", { _ = try YAMLReader.parse($0, file: "f.yaml") }),
                    ("gitops-ml.yaml", { _ = try ProjectConfig.parse($0, file: "gitops-ml.yaml") }),
                    ("policies/p.yaml", { _ = try Policy.parse($0, file: "policies/p.yaml") }),
                ])
        }
    }

    @Test func csv() async {
        await Self.fuzz("csv") { bytes in
            Self.parse(
                bytes, target: "csv",
                [
                    ("f.csv", { _ = try Dataset.read($0, file: "f.csv") }),
                    ("f.csv", { _ = try CSVTable.parse($0, file: "f.csv") }),
                ])
        }
    }

    @Test func numbers() async {
        await Self.fuzz("number") { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            // 1e9999 overflows to infinity, as in Python; the data readers then refuse it as not finite.
            if let value = Column.number(text) { #expect(!value.isNaN, "\(text) read as \(value)") }
        }
    }

    @Test func gtoTags() async {
        await Self.fuzz("tags") { bytes in
            let name = String(decoding: bytes, as: UTF8.self)
            if let tag = RegistryTag(parsing: name) {
                #expect(RegistryTag(parsing: tag.name) != nil, "\(name) parses, its own name \(tag.name) does not")
            }
        }
    }

    @Test func revisions() async throws {
        let temp = TemporaryDirectory("fuzz-revisions")
        let directory = try makeRepository(in: temp.path, files: ["file": "x\n"])
        try commitFiles(["file": "y\n"], message: "second", in: directory)
        let repository = try Repository(at: directory)
        let box = UncheckedBox(repository)
        await Self.fuzz("revisions") { bytes in
            let spec = String(decoding: bytes, as: UTF8.self)
            _ = try box.value.resolve(spec)
            _ = try box.value.fileView(Revision(spec)).read("file")
        }
    }
}

/// A repository handed to the property (run on one task at a time).
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
