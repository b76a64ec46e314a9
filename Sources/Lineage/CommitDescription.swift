import Foundation
import GitOpsMLCore

/// How lineage outputs name a commit: one line for people, an object for JSON.
extension CommitInfo {
    static func day(_ date: Date) -> String {
        ISO8601DateFormatter.string(
            from: date, timeZone: TimeZone(identifier: "UTC") ?? .current, formatOptions: [.withFullDate])
    }

    /// `abc123def456 2026-01-02 Dana Scientist: subject`
    var summaryLine: String {
        "\(id.short) \(CommitInfo.day(author.time)) \(author.name): \(message.prefix { $0 != "\n" })"
    }

    var lineageJSON: StructuredValue {
        .object([
            ("commit", .string(id.hex)), ("author", .string(author.name)), ("email", .string(author.email)),
            ("time", .string(ISO8601DateFormatter().string(from: author.time))),
            ("subject", .string(String(message.prefix { $0 != "\n" }))),
        ])
    }
}
