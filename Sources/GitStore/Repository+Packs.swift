internal import CLibGit2
import Foundation
import GitOpsMLCore

extension Repository {
    /// The packs under `objects/pack`: every fetch that brings objects adds one.
    public var packCount: Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: gitDirectory + "/objects/pack")) ?? []
        return files.filter { $0.hasSuffix(".pack") }.count
    }

    /// Writes every object of the repository into one new pack, then removes the other packs: a repository
    /// fetched into again and again (the agent's mirror) keeps a bounded number of packs, and of files open.
    /// libgit2 has no `git gc`; this is its pack builder over the object database. Call it only on a
    /// repository no other process writes, and open the repository again afterwards.
    public func consolidatePacks() throws {
        let builderOwner = try Owned<Git.PackBuilder>("repack", gitDirectory) { git_packbuilder_new(&$0, handle) }
        let databaseOwner = try Owned<Git.ObjectDatabase>("repack", gitDirectory) { git_repository_odb(&$0, handle) }
        let (builder, database) = (builderOwner.pointer, databaseOwner.pointer)
        final class Payload {
            let builder: OpaquePointer?
            init(_ builder: OpaquePointer?) { self.builder = builder }
        }
        let payload = Payload(builder)
        let code = withExtendedLifetime(payload) {
            git_odb_foreach(
                database,
                { id, context in
                    guard let id, let context else { return -1 }
                    let payload = Unmanaged<Payload>.fromOpaque(context).takeUnretainedValue()
                    return git_packbuilder_insert(payload.builder, id, nil)
                }, Unmanaged.passUnretained(payload).toOpaque())
        }
        try check(code, "repack", gitDirectory)
        let folder = gitDirectory + "/objects/pack"
        let before = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        try check(git_packbuilder_write(builder, folder, 0, nil, nil), "repack", gitDirectory)
        guard let name = git_packbuilder_name(builder).map({ String(cString: $0) }) else { return }
        for file in before where !file.contains(name) && [".pack", ".idx", ".rev"].contains(where: file.hasSuffix) {
            try? FileManager.default.removeItem(atPath: folder + "/" + file)
        }
    }
}
