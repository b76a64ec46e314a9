/// How `pandas.read_csv` reads a field by default where a plain decimal reader would differ: its
/// `na_values` (each one a null) and its infinity spellings (a number). The drift, profile and
/// expectations of a column follow from these, so they are pandas' own lists, not a selection.
public enum PandasText {
    /// pandas' `STR_NA_VALUES` (pandas 2.x), matched exactly (a field with spaces around it is text).
    public static let nullTokens: Set<String> = [
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
        "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
    ]

    /// ±∞ for `inf` or `infinity` in any case with an optional sign, as pandas' C parser reads them (no
    /// spaces around); nil for anything else.
    static func infinity(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var index = start
        guard index < end else { return nil }
        let negative = buffer[index] == UInt8(ascii: "-")
        if negative || buffer[index] == UInt8(ascii: "+") { index += 1 }
        let length = end - index
        guard length == 3 || length == 8 else { return nil }
        // ASCII letters lower-cased by setting bit 5 (no other byte becomes a letter of "infinity" by it).
        for offset in 0..<length where buffer[index + offset] | 0x20 != infinityWord[offset] { return nil }
        return negative ? -.infinity : .infinity
    }

    private static let infinityWord = Array("infinity".utf8)

    static func infinity(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { infinity($0, 0, $0.count) }
    }
}

/// A string compared and hashed by its Unicode scalars, as Python, pandas and Great Expectations compare
/// text; Swift's `String` equality is canonical equivalence (`café` == `cafe\u{301}`), which they do not
/// share. Dictionaries of text columns are keyed by it, so two spellings are two values.
public struct CodePoints: Hashable, Sendable {
    public let text: String
    public init(_ text: String) { self.text = text }

    public static func == (a: CodePoints, b: CodePoints) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }

    public func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
