import Testing

@testable import GitOpsMLCore

@Suite("Unified line diffs")
struct LineDiffTests {
    /// Applies a unified diff to `old` the way `patch` does, hunk by hunk, checking every context and
    /// removed line against the old text.
    func apply(_ diff: String, to old: String) throws -> String {
        var source = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var result: [String] = []
        var position = 0
        for line in diff.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(2) where !line.isEmpty {
            if line.hasPrefix("@@ -") {
                let start = try #require(Int(line.dropFirst(4).prefix { $0.isNumber }))
                let target = max(start - 1, 0)
                result += source[position..<target]
                position = target
            } else if line.hasPrefix("+") {
                result.append(String(line.dropFirst()))
            } else {
                try #require(source[position] == line.dropFirst(), "\(line) does not match line \(position + 1)")
                if line.hasPrefix(" ") { result.append(source[position]) }
                position += 1
            }
        }
        source = Array(source[position...])
        return (result + source).joined(separator: "\n")
    }

    @Test func diffsApplyBackToTheNewText() throws {
        var state: UInt64 = 11
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % bound
        }
        for _ in 0..<200 {
            let old = (0..<next(40)).map { _ in "line \(next(8))" }
            var new = old
            for _ in 0..<next(6) {
                switch next(3) {
                case 0 where !new.isEmpty: new.remove(at: next(new.count))
                case 1: new.insert("new \(next(5))", at: next(new.count + 1))
                default: if !new.isEmpty { new[next(new.count)] = "changed \(next(5))" }
                }
            }
            let (a, b) = (old.joined(separator: "\n"), new.joined(separator: "\n"))
            let diff = LineDiff.unified(old: a, new: b, oldName: "a", newName: "b")
            #expect(diff.isEmpty == (a == b))
            if !diff.isEmpty { #expect(try apply(diff, to: a) == b, "\(diff)") }
        }
    }

    /// Two 20,000-line manifests differing in three lines: linear in the lines, not a 400-million-cell table.
    @Test func largeFilesWithFewChangesDiffQuickly() throws {
        let old = (0..<20_000).map { "  key\($0): value\($0)" }
        var new = old
        new[5] = "  key5: changed"
        new.insert("  inserted: here", at: 10_000)
        new.remove(at: 19_000)
        let diff = LineDiff.unified(
            old: old.joined(separator: "\n"), new: new.joined(separator: "\n"), oldName: "a", newName: "b")
        #expect(diff.components(separatedBy: "\n@@").count == 4)
        #expect(try apply(diff, to: old.joined(separator: "\n")) == new.joined(separator: "\n"))
    }
}
