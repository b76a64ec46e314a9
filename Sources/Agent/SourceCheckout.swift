import Foundation
import GitOpsMLCore
import GitStore

/// The files of a release's source commit on this host, where its serving command runs:
/// `root/<commit>/`, written from git objects (no work tree, no checkout of the environment branch) into a
/// temporary folder renamed into place, so a folder that exists is complete. Symlinks and submodules are
/// left out: nothing a commit contains may point the server outside its folder.
public struct SourceCheckout: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// How a folder being written begins; one left by a killed agent is removed when the next one starts.
    public static let incomingPrefix = ".incoming-"

    /// The folder holding `commit`'s tree; written on first use.
    public func folder(for commit: ObjectID, in repository: Repository) throws -> String {
        let destination = "\(root)/\(commit.hex)"
        if FileManager.default.fileExists(atPath: destination) { return destination }
        let temporary = "\(root)/\(Self.incomingPrefix)\(commit.hex)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        do {
            for entry in try repository.listTree(at: commit.hex, recursive: true) where entry.kind == .blob {
                let clean = try RepositoryPath.clean(entry.path)
                let path = temporary + "/" + clean
                try FileManager.default.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try OutputFile.create(
                    try repository.blob(entry.id), at: path, mode: entry.mode == 0o100755 ? 0o755 : 0o644)
            }
            if rename(temporary, destination) != 0 {
                // Another pass wrote it first: theirs is as good as ours.
                guard errno == EEXIST || errno == ENOTEMPTY else {
                    throw GitOpsMLError.environment(
                        "cannot move \(temporary) to \(destination): \(String(cString: strerror(errno)))")
                }
                try? FileManager.default.removeItem(atPath: temporary)
            }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        return destination
    }
}
