/// The text of a decimal number, as data files hold it and as polars and Python's `float()` read it:
/// `[+-]digits[.digits][(e|E)[+-]digits]` or `[+-].digits…`. No hex (`0x10`, `0x1p3`), no `inf` or
/// `nan` words, no underscores, no spaces: Swift's `Double(String)` and `strtod` accept more.
public enum DecimalGrammar {
    public static func matches<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        var index = bytes.startIndex
        func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
        func digits() -> Int {
            var count = 0
            while index != bytes.endIndex && isDigit(bytes[index]) {
                count += 1
                index = bytes.index(after: index)
            }
            return count
        }
        if index != bytes.endIndex && (bytes[index] == 0x2B || bytes[index] == 0x2D) {
            index = bytes.index(after: index)
        }
        var mantissa = digits()
        if index != bytes.endIndex && bytes[index] == 0x2E {
            index = bytes.index(after: index)
            mantissa += digits()
        }
        guard mantissa > 0 else { return false }
        if index != bytes.endIndex && (bytes[index] == 0x65 || bytes[index] == 0x45) {
            index = bytes.index(after: index)
            if index != bytes.endIndex && (bytes[index] == 0x2B || bytes[index] == 0x2D) {
                index = bytes.index(after: index)
            }
            guard digits() > 0 else { return false }
        }
        return index == bytes.endIndex
    }
}
