import Config
import Crypto
import Datasets
import Foundation
import GitOpsMLCore

/// The local target's copies of model artifacts, under `root/<model>/<digest>/<file name>`. An artifact is
/// materialised from git, git-lfs or DVC at the release's source commit only when its identity there is
/// the digest the release record names; it is streamed to a temporary file (pointer targets verified as
/// they are read) and renamed into place, with the content's sha256 beside it so that a later pass reuses
/// it only after reading it back intact.
public struct ArtifactStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// The artifact's path on this host; reused when already there and intact.
    public func materialize(
        model: String, path: String, digest: String?, in view: any FileView, stores: DataStores
    ) throws -> String {
        guard let digest, let folder = Self.folderName(digest) else {
            throw GitOpsMLError.configuration(
                "the release of \(model) names no artifact digest: refusing to run a model that cannot be verified")
        }
        guard Self.isSafeName(model) else {
            throw GitOpsMLError.configuration("\(model.debugDescription) cannot name a folder of the artifact store")
        }
        let clean = try RepositoryPath.clean(path)
        let destination = "\(root)/\(model)/\(folder)/\((clean as NSString).lastPathComponent)"
        if try intact(destination) { return destination }

        let identity = try DataResolver.identity(clean, in: view)
        guard identity == digest else {
            throw GitOpsMLError.configuration(
                "\(clean) at \(view.revision) is \(identity ?? "absent"), but the release record says \(digest)")
        }
        guard let source = try DataResolver.locate(clean, in: view, stores: stores) else {
            throw GitOpsMLError.configuration("\(clean) is not in \(view.revision)")
        }
        let stream = try source.open()
        var hasher = SHA256()
        try OutputFile.replace(destination) { write in
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = try chunk.withUnsafeMutableBytes { try stream.fill($0) }
                if count == 0 { break }
                let piece = Array(chunk[0..<count])
                hasher.update(data: piece)
                try write(piece)
            }
        }
        try OutputFile.replace(destination + ".sha256") { write in try write(Array(Hex.string(hasher.finalize()).utf8))
        }
        return destination
    }

    /// True when `file` and its recorded sha256 are both there and agree. A file without its digest (a
    /// crash between the two renames) or with another one is not trusted: the caller writes it again.
    func intact(_ file: String) throws -> Bool {
        guard let recorded = try? String(contentsOfFile: file + ".sha256", encoding: .utf8),
            let stream = try FileStream(path: file)
        else { return false }
        var hasher = SHA256()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try stream.fill($0) }
            if count == 0 { break }
            chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return Hex.string(hasher.finalize()) == recorded
    }

    /// `sha256:<hex>` or `md5:<hex>` as a folder name (`sha256-<hex>`); nil for anything else.
    static func folderName(_ digest: String) -> String? {
        let parts = digest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, ["sha256", "md5"].contains(parts[0]), Hex.bytes(parts[1]) != nil,
            parts[1] == parts[1].lowercased()
        else { return nil }
        return "\(parts[0])-\(parts[1])"
    }

    static func isSafeName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".."
            && name.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || "0123456789._-".unicodeScalars.contains($0)
            }
    }
}
