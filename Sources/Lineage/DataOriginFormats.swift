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
        lines.append(
            current.atShallowBoundary
                ? "introduced at or before \(current.introduced.summaryLine): \(Self.shallowWarning(current))"
                : "introduced by \(current.introduced.summaryLine)")
        for commit in current.reintroduced { lines.append("  brought back by \(commit.summaryLine)") }
        for commit in current.rewrites { lines.append("  pointer rewritten, same data: \(commit.summaryLine)") }
        lines += ["", "versions, newest first:"]
        for version in versions {
            let marker = version.digest == current.digest ? "*" : " "
            lines.append(
                "\(marker) \(version.digest.prefix(19))…  introduced \(version.atShallowBoundary ? "at or before" : "by") \(version.introduced.summaryLine)"
            )
            for commit in version.reintroduced { lines.append("      brought back by \(commit.summaryLine)") }
            for commit in version.rewrites { lines.append("      pointer rewritten, same data: \(commit.summaryLine)") }
        }
        for removal in removals { lines.append("  removed by \(removal.summaryLine)") }
        return lines.joined(separator: "\n") + "\n"
    }

    static func shallowWarning(_ version: Version) -> String {
        "history is shallow before \(version.introduced.id.short); fetch with fetch-depth: 0 (git fetch --unshallow) to know where it began"
    }

    public var json: StructuredValue {
        func version(_ version: Version) -> StructuredValue {
            .object([
                ("digest", .string(version.digest)), ("carrier", .string(version.carrier)),
                // Past a shallow boundary the introduction is unknown: null, with the boundary and the fetch.
                ("introduced", version.atShallowBoundary ? .null : version.introduced.lineageJSON),
                ("introduced_at_or_before", version.atShallowBoundary ? version.introduced.lineageJSON : .null),
                ("shallow", version.atShallowBoundary ? .string(Self.shallowWarning(version)) : .null),
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
