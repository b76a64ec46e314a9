import Foundation
import GitOpsMLCore
import Render

/// Writing rendered files under a folder: each atomically (a temporary file renamed into place), only
/// when its text changed, and nothing at all unless every file was rendered first.
enum FileSet {
    /// Writes the files that differ from disk; returns their paths.
    static func write(_ files: [RenderedFile], root: String) throws -> [String] {
        var written: [String] = []
        for file in files {
            let target = root + "/" + file.path
            if FileManager.default.contents(atPath: target) == Data(file.contents.utf8) { continue }
            do {
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(file.contents.utf8).write(to: URL(fileURLWithPath: target), options: .atomic)
            } catch {
                throw GitOpsMLError.environment("cannot write \(file.path): \(error.localizedDescription)")
            }
            written.append(file.path)
        }
        return written
    }

    /// A unified diff of every file whose text on disk differs from the rendered one (absent files
    /// compare as empty).
    static func differences(_ files: [RenderedFile], root: String) throws -> String {
        var out = ""
        for file in files {
            let data = FileManager.default.contents(atPath: root + "/" + file.path)
            let current = data.map { String(decoding: $0, as: UTF8.self) }
            guard current != file.contents else { continue }
            out += LineDiff.unified(
                old: current ?? "", new: file.contents, oldName: current == nil ? "/dev/null" : "a/\(file.path)",
                newName: "b/\(file.path)")
        }
        return out
    }
}
