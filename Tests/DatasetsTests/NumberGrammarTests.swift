import GitOpsMLCore
import Testing

@testable import Datasets

/// CSV numbers follow the grammar of pandas and Python's `float()` (`DecimalGrammar`, and pandas' `inf`
/// spellings): `0x10` and `0x1p3` are text, not 16 and 8, in the fast reader and in the RFC 4180 one
/// (which quoted files take).
@Suite("CSV number grammar")
struct NumberGrammarTests {
    @Test(arguments: [false, true])
    func hexAndWordsAreText(quoted: Bool) throws {
        let quote = quoted ? "\"q\"" : "q"
        let text = "a,b,c,d,\(quote)\n0x10,0x1p3,1.5,inf,x\n1,2,2.5e3,nan,y\n"
        let data = try Dataset.read(Array(text.utf8), file: "d.csv")
        #expect(data.column("a")?.type == .string, "0x10 is text")
        #expect(data.column("b")?.type == .string, "0x1p3 is text")
        #expect(data.column("c")?.type == .float)
        #expect(data.column("c")?.numbers == [1.5, 2500])
        // pandas reads `inf` as a number and `nan` as a null: a float column (PandasReferenceTests has the rest).
        #expect(data.column("d")?.type == .float)
        #expect(data.column("d")?.numbers == [.infinity, nil])
    }

    @Test func theGrammar() {
        for good in ["0", "-1", "+2.5", ".5", "5.", "1e3", "1E-3", "-.5e+2", "007"] {
            #expect(DecimalGrammar.matches(good.utf8), "\(good)")
        }
        for bad in ["", "0x10", "0x1p3", "inf", "nan", "1_000", " 1", "1 ", "e3", ".", "1e", "--1", "1.2.3", "١"] {
            #expect(!DecimalGrammar.matches(bad.utf8), "\(bad)")
        }
    }
}
