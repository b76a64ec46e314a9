import Foundation
import GitOpsMLCore

/// The one format of gitops-ml's caches under `.git/gitops-ml/` (the registry's tag index, the history
/// cache): a header naming the cache and its version, a key line (what the records were computed from),
/// then one record per line, fields separated by tabs and escaped. A missing, foreign or damaged file
/// reads as nil — a cache is rebuilt from git, never trusted over it — and a save replaces the file
/// atomically (temporary file, rename), so two processes writing at once leave one whole cache.
public struct CacheFile: Sendable, Equatable {
    public var header: String
    public var key: String
    public var records: [[String]]

    public init(header: String, key: String, records: [[String]]) {
        self.header = header
        self.key = key
        self.records = records
    }

    public static func load(_ path: String, header: String) -> CacheFile? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        // Split on bytes: tab and newline never occur inside an escaped field.
        let lines = [UInt8](data).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count >= 2, String(decoding: lines[0], as: UTF8.self) == header else { return nil }
        let records = lines.dropFirst(2).filter { !$0.isEmpty }.map { line in
            line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map {
                unescape(String(decoding: $0, as: UTF8.self))
            }
        }
        return CacheFile(header: header, key: String(decoding: lines[1], as: UTF8.self), records: records)
    }

    /// Best effort: a cache that cannot be written is simply not there next time.
    public func save(to path: String) {
        var text = header + "\n" + Self.escape(key) + "\n"
        for record in records { text += record.map(Self.escape).joined(separator: "\t") + "\n" }
        let folder = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? OutputFile.write(Array(text.utf8), to: path, kind: OutputFile.check(path))
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    static func unescape(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "\\")) else { return text }
        var out = ""
        var escaped = false
        for character in text {
            if escaped {
                switch character {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                default: out.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}
