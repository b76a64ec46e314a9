import Foundation
import GitOpsMLCore

/// `data origin`'s outputs.
extension DataOrigin {
    public var text: String {
        var lines: [String] = []
        guard let current else {
            lines.append("\(path) is not in \(revision) (\(commit.short))")
            if let removal = removals.first { lines.append("removed by \(removal.summaryLine)") }
            return lines.joined(separator: "\n") + "\n"
        }
        lines.append("\(path) at \(revision) (\(commit.short)): \(current.digest) in \(current.carrier)")
        lines.append("introduced by \(current.introduced.summaryLine)")
        for commit in current.reintroduced { lines.append("  brought back by \(commit.summaryLine)") }
        for commit in current.rewrites { lines.append("  pointer rewritten, same data: \(commit.summaryLine)") }
        lines += ["", "versions, newest first:"]
        for version in versions {
            let marker = version.digest == current.digest ? "*" : " "
            lines.append("\(marker) \(version.digest.prefix(19))…  introduced by \(version.introduced.summaryLine)")
            for commit in version.reintroduced { lines.append("      brought back by \(commit.summaryLine)") }
            for commit in version.rewrites { lines.append("      pointer rewritten, same data: \(commit.summaryLine)") }
        }
        for removal in removals { lines.append("  removed by \(removal.summaryLine)") }
        return lines.joined(separator: "\n") + "\n"
    }

    public var json: StructuredValue {
        func version(_ version: Version) -> StructuredValue {
            .object([
                ("digest", .string(version.digest)), ("carrier", .string(version.carrier)),
                ("introduced", version.introduced.lineageJSON),
                ("reintroduced", .array(version.reintroduced.map(\.lineageJSON))),
                ("rewrites", .array(version.rewrites.map(\.lineageJSON))),
            ])
        }
        return .object([
            ("path", .string(path)), ("revision", .string(revision)), ("commit", .string(commit.hex)),
            ("current", current.map(version) ?? .null), ("versions", .array(versions.map(version))),
            ("removals", .array(removals.map(\.lineageJSON))),
        ])
    }
}
