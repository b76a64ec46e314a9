import ArgumentParser
import Foundation
import GitOpsMLCore
import Lineage

extension DataCommand {
    /// `gitops-ml data origin DATASET[@REV]`: the commit that introduced the data present at REV.
    struct Origin: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "origin",
            abstract:
                "The commit that first introduced the dataset version at a revision, and every version's history.",
            discussion: """
                Digests as release records name them: a plain file's sha256, an LFS pointer's oid, a .dvc \
                pointer's or dvc.lock output's md5. A commit that rewrote a pointer file without changing the \
                data is listed as such, not as the origin.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument(help: "A dataset name from gitops-ml.yaml or a path, optionally @REV (default HEAD).")
        var dataset: String
        @Flag(name: .long, help: "JSON instead of text.") var json = false

        func run() throws {
            let project = try Project(global)
            let target = DataCommand.Target(dataset, project: project, defaultRevision: "HEAD")
            guard target.revision != "workspace" else {
                throw GitOpsMLError.usage("data origin reads history: name a revision (DATASET@REV), not the workspace")
            }
            let origin = try DataOrigin.trace(target.path, from: target.revision, in: project.repository)
            print(json ? Self.json(origin) : Self.text(origin), terminator: "")
        }

        static func line(_ commit: CommitInfo) -> String {
            let date = ISO8601DateFormatter.string(
                from: commit.author.time, timeZone: TimeZone(identifier: "UTC") ?? .current,
                formatOptions: [.withFullDate])
            let subject = commit.message.prefix { $0 != "\n" }
            return "\(commit.id.short) \(date) \(commit.author.name): \(subject)"
        }

        static func text(_ origin: DataOrigin) -> String {
            var lines: [String] = []
            guard let current = origin.current else {
                lines.append("\(origin.path) is not in \(origin.revision) (\(origin.commit.short))")
                if let removal = origin.removals.first { lines.append("removed by \(line(removal))") }
                return lines.joined(separator: "\n") + "\n"
            }
            lines.append(
                "\(origin.path) at \(origin.revision) (\(origin.commit.short)): \(current.digest) in \(current.carrier)"
            )
            lines.append("introduced by \(line(current.introduced))")
            for commit in current.reintroduced { lines.append("  brought back by \(line(commit))") }
            for commit in current.rewrites { lines.append("  pointer rewritten, same data: \(line(commit))") }
            lines += ["", "versions, newest first:"]
            for version in origin.versions {
                let marker = version.digest == current.digest ? "*" : " "
                lines.append("\(marker) \(version.digest.prefix(19))…  introduced by \(line(version.introduced))")
                for commit in version.reintroduced { lines.append("      brought back by \(line(commit))") }
                for commit in version.rewrites { lines.append("      pointer rewritten, same data: \(line(commit))") }
            }
            for removal in origin.removals { lines.append("  removed by \(line(removal))") }
            return lines.joined(separator: "\n") + "\n"
        }

        static func json(_ origin: DataOrigin) -> String {
            func commit(_ info: CommitInfo) -> StructuredValue {
                .object([
                    ("commit", .string(info.id.hex)), ("author", .string(info.author.name)),
                    ("email", .string(info.author.email)),
                    ("time", .string(ISO8601DateFormatter().string(from: info.author.time))),
                    ("subject", .string(String(info.message.prefix { $0 != "\n" }))),
                ])
            }
            func version(_ version: DataOrigin.Version) -> StructuredValue {
                .object([
                    ("digest", .string(version.digest)), ("carrier", .string(version.carrier)),
                    ("introduced", commit(version.introduced)),
                    ("reintroduced", .array(version.reintroduced.map(commit))),
                    ("rewrites", .array(version.rewrites.map(commit))),
                ])
            }
            let value = StructuredValue.object([
                ("path", .string(origin.path)), ("revision", .string(origin.revision)),
                ("commit", .string(origin.commit.hex)), ("current", origin.current.map(version) ?? .null),
                ("versions", .array(origin.versions.map(version))), ("removals", .array(origin.removals.map(commit))),
            ])
            return value.json(indent: 2) + "\n"
        }
    }
}
