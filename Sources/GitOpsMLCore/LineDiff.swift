/// A unified diff of two texts by lines, for `generate --check` and `promote --dry-run`: the standard
/// library's `difference(from:)` (Myers' algorithm, O((n + m)·d) for d changed lines, where the table of
/// a longest common subsequence was O(n·m) in time and memory), removals before additions in each hunk.
public enum LineDiff {
    public static func unified(old: String, new: String, oldName: String, newName: String, context: Int = 3) -> String {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var removed = Set<Int>()
        var inserted = Set<Int>()
        for change in b.difference(from: a) {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        enum Edit { case same(String), removed(String), added(String) }
        var edits: [Edit] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, removed.contains(i) {
                edits.append(.removed(a[i]))
                i += 1
            } else if j < b.count, inserted.contains(j) {
                edits.append(.added(b[j]))
                j += 1
            } else {
                edits.append(.same(a[i]))
                i += 1
                j += 1
            }
        }
        let changed = edits.indices.filter { if case .same = edits[$0] { return false } else { return true } }
        guard !changed.isEmpty else { return "" }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        var index = 0
        while index < changed.count {
            // A hunk: changes closer than 2 × context lines apart are shown together.
            var last = index
            while last + 1 < changed.count, changed[last + 1] - changed[last] <= 2 * context { last += 1 }
            let start = max(0, changed[index] - context)
            let end = min(edits.count - 1, changed[last] + context)
            var oldLine = 1
            var newLine = 1
            for edit in edits[..<start] {
                switch edit {
                case .same: oldLine += 1; newLine += 1
                case .removed: oldLine += 1
                case .added: newLine += 1
                }
            }
            var body: [String] = []
            var oldCount = 0
            var newCount = 0
            for edit in edits[start...end] {
                switch edit {
                case .same(let line): body.append(" " + line); oldCount += 1; newCount += 1
                case .removed(let line): body.append("-" + line); oldCount += 1
                case .added(let line): body.append("+" + line); newCount += 1
                }
            }
            out.append("@@ -\(oldLine),\(oldCount) +\(newLine),\(newCount) @@")
            out += body
            index = last + 1
        }
        return out.joined(separator: "\n") + "\n"
    }
}
