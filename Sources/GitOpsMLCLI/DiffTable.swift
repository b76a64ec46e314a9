import Config
import Foundation
import GitOpsMLCore

/// The table of `diff metrics|params`: Path, Metric (or Param), A, B and, for metrics, Change.
enum DiffTable {
    static func render(
        _ changes: [ValueChange], kind: TrackedFiles.Kind, old: String, new: String, precision: Int, markdown: Bool
    ) -> String {
        var header = ["Path", kind == .metrics ? "Metric" : "Param", old, new]
        if kind == .metrics { header.append("Change") }
        let rows = changes.map { change -> [String] in
            var row = [change.path, change.key, cell(change.old, precision), cell(change.new, precision)]
            if kind == .metrics { row.append(change.diff.map { cell($0, precision) } ?? "-") }
            return row
        }
        return markdown ? Table.markdown(header: header, rows: rows) : Table.text(header: header, rows: rows)
    }

    /// Numbers rounded to `precision` digits after the point, as DVC shows them; text as is; absent as "-".
    static func cell(_ value: StructuredValue?, _ precision: Int) -> String {
        switch value {
        case nil, .null?: return "-"
        case .double(let number)?: return StructuredValue.pythonFloat(roundHalfEven(number, precision))
        case .string(let text)?: return text
        case let other?: return other.pythonRepr
        }
    }

    /// Python's `round(x, n)`: correctly rounded, ties to even.
    static func roundHalfEven(_ value: Double, _ digits: Int) -> Double {
        guard value.isFinite else { return value }
        let text = String(format: "%.\(digits)f", value)  // printf rounds the exact binary value correctly
        return Double(text) ?? value
    }
}

/// Plain and Markdown tables.
enum Table {
    static func text(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingTrailingSpaces()
        }
        return ([Output.paint(line(header), "1")] + rows.map(line)).joined(separator: "\n")
    }

    static func markdown(header: [String], rows: [[String]]) -> String {
        func escape(_ cell: String) -> String { cell.replacingOccurrences(of: "|", with: "\\|") }
        let lines =
            [
                "| " + header.map(escape).joined(separator: " | ") + " |",
                "|" + header.map { _ in "--------|" }.joined(),
            ]
            + rows.map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.hasSuffix(" ") { copy.removeLast() }
        return copy
    }
}
