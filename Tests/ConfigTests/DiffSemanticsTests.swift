import GitOpsMLCore
import Testing

@testable import Config

@Suite("DVC-compatible value diffs and tolerances")
struct DiffSemanticsTests {
    @Test(arguments: [
        (0.1, "0.1"), (1.0, "1.0"), (1e-5, "1e-05"), (0.0001, "0.0001"), (1e16, "1e+16"), (1e15, "1000000000000000.0"),
        (123456789.125, "123456789.125"), (-2.5e-7, "-2.5e-07"), (0.30000000000000004, "0.30000000000000004"),
        (1.5e300, "1.5e+300"), (0.0, "0.0"), (-0.0, "-0.0"), (12345678901234567890.0, "1.2345678901234567e+19"),
    ])
    func floatsPrintAsPythonRepr(value: Double, expected: String) {
        #expect(StructuredValue.pythonFloat(value) == expected)
    }

    @Test func listsAndStringsPrintAsPythonRepr() {
        let list = StructuredValue.array([.int(32), .double(0.5), .string("it's"), .string("a"), .bool(true), .null])
        #expect(list.pythonRepr == #"[32, 0.5, "it's", 'a', True, None]"#)
    }

    @Test func metricsKeepScalarsAndFlatten() {
        let value = StructuredValue.object([
            ("acc", .double(0.9)), ("list", .array([.int(1)])), ("none", .null), ("flag", .bool(true)),
            ("nested", .object([("f1", .int(1)), ("empty", .object([]))])),
        ])
        guard case .values(let pairs) = FileValues.metrics(value) else { Issue.record("no values"); return }
        #expect(pairs.map(\.key) == ["acc", "flag", "nested.f1"])
        #expect(FileValues.metrics(.double(3)) == .values([("", .double(3))]))
    }

    @Test func paramsShowListsAsPythonAndFilterKeys() {
        let value = StructuredValue.object([
            ("layers", .array([.int(32), .int(64)])),
            ("opt", .object([("lr", .double(0.1)), ("name", .string("adam"))])),
        ])
        #expect(
            FileValues.params(value)
                == .values([("layers", .string("[32, 64]")), ("opt.lr", .double(0.1)), ("opt.name", .string("adam"))]))
        #expect(
            FileValues.params(value, keys: ["opt"])
                == .values([("opt.lr", .double(0.1)), ("opt.name", .string("adam"))]))
    }

    @Test func equalNumbersAreUnchangedAndDiffsFollowPython() {
        let old: [String: FileValues] = [
            "m.json": .values([
                ("a", .double(0.2)), ("b", .int(1)), ("c", .int(3)), ("d", .double(0.8)), ("gone", .int(1)),
            ])
        ]
        let new: [String: FileValues] = [
            "m.json": .values([
                ("a", .double(0.20)), ("b", .double(1.0)), ("c", .int(5)), ("d", .double(0.9)), ("added", .string("x")),
            ])
        ]
        let changes = ValueDiff.compare(old: old, new: new)
        #expect(changes.map(\.key) == ["c", "d", "gone", "added"])
        #expect(changes[0].diff == .int(2))
        #expect(changes[1].diff == .double(0.9 - 0.8))
        #expect(changes[2].new == nil && changes[2].diff == nil)
        #expect(changes[3].old == nil)
        #expect(ValueDiff.compare(old: old, new: new, includeUnchanged: true).count == 6)
        // A file missing on one side.
        let added = ValueDiff.compare(old: ["m.json": .missing], new: ["m.json": .values([("a", .int(1))])])
        #expect(added == [ValueChange(path: "m.json", key: "a", old: nil, new: .int(1), diff: nil)])
        #expect(ValueDiff.json(added).json() == #"{"m.json": {"a": {"old": null, "new": 1}}}"#)
    }

    @Test func tolerancesParseAndJudge() throws {
        let drop = try Tolerance(parsing: "accuracy<-0.01")
        #expect(drop.key == "accuracy" && drop.comparison == .less && drop.limit == -0.01 && !drop.relative)
        let change = ValueChange(path: "m.json", key: "accuracy", old: .double(0.9), new: .double(0.85), diff: nil)
        #expect(drop.violation(change) != nil)
        #expect(
            drop.violation(
                ValueChange(path: "m.json", key: "accuracy", old: .double(0.9), new: .double(0.895), diff: nil)) == nil)
        let relative = try Tolerance(parsing: "eval/m.json:loss >= 5%")
        #expect(relative.path == "eval/m.json" && relative.comparison == .greaterOrEqual && relative.relative)
        #expect(relative.limit == 0.05)
        let loss = ValueChange(path: "eval/m.json", key: "loss", old: .double(0.2), new: .double(0.25), diff: nil)
        #expect(relative.applies(to: loss) && relative.violation(loss) != nil)
        #expect(!relative.applies(to: ValueChange(path: "other.json", key: "loss", old: nil, new: nil, diff: nil)))
        // A metric that disappeared violates any rule on it.
        #expect(
            drop.violation(ValueChange(path: "m.json", key: "accuracy", old: .double(0.9), new: nil, diff: nil)) != nil)
        for bad in ["accuracy", "<0.1", "acc<x", "acc<<1"] {
            #expect(throws: GitOpsMLError.self) { try Tolerance(parsing: bad) }
        }
    }
}
