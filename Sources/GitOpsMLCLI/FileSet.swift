import Foundation
import GitOpsMLCore
import Render

/// Writing rendered files under a folder: each atomically (a temporary file renamed into place), only
/// when its text changed, and nothing at all unless every file was rendered and every target checked first.
enum FileSet {
    /// Writes the files that differ from disk; returns their paths. Every target is checked first (not a
    /// folder, no symlink out of `root`), so that one bad target stops the command before any file changed.
    static func write(_ files: [RenderedFile], root: String) throws -> [String] {
        let changed = files.filter {
            FileManager.default.contents(atPath: root + "/" + $0.path) != Data($0.contents.utf8)
        }
        let kinds = try changed.map { try OutputFile.check(root + "/" + $0.path, within: root) }
        for (file, kind) in zip(changed, kinds) {
            try OutputFile.write(Array(file.contents.utf8), to: root + "/" + file.path, kind: kind)
        }
        return changed.map(\.path)
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
