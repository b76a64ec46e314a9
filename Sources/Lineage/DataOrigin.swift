import Datasets
import Foundation
import GitOpsMLCore
import GitStore

/// Where a dataset's versions come from, read from history alone: for the version present at a revision,
/// the commit that first introduced its digest — not the last commit that touched the pointer file, which
/// may only have reformatted it — and every version's history. Digests are the ones release records and
/// `check` use (`DataResolver.identity`): a plain blob's sha256, an LFS pointer's oid, a `.dvc` pointer's or a
/// `dvc.lock` output's md5.
public struct DataOrigin: Sendable, Equatable {
    public struct Version: Sendable, Equatable {
        public var digest: String
        /// The file that carried the digest when it was introduced.
        public var carrier: String
        public var introduced: CommitInfo
        /// Commits that brought the digest back after another version (a revert).
        public var reintroduced: [CommitInfo] = []
        /// `introduced` is where a shallow clone's history ends: the digest may have been introduced
        /// earlier, past what this clone holds.
        public var atShallowBoundary = false
        /// Commits that changed the pointer file but not the digest (a reformat, a `dvc commit` with no data
        /// change, a moved `.dvc` field). Not tracked for `dvc.lock`, whose other stages change it too.
        public var rewrites: [CommitInfo] = []
    }

    public var path: String
    public var revision: String
    public var commit: ObjectID
    /// The version at `revision`, nil when the dataset is not there.
    public var current: Version?
    /// Every version, newest introduction first.
    public var versions: [Version]
    /// Commits after which the dataset was gone.
    public var removals: [CommitInfo]

    /// Walks the history of `revision` for the files that can carry `path`'s digest.
    /// A file inside a DVC directory output is traced by its own md5 in the folder's listings, read from
    /// the repository's DVC cache.
    public static func trace(_ path: String, from revision: String, in repository: Repository) throws -> DataOrigin {
        let stores = DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree)
        let clean = try RepositoryPath.clean(path)
        let tip = try repository.commit(revision)
        // The file, every `.dvc` pointer above it, and every dvc.lock from its folder up (a monorepo's DVC
        // projects each have their own).
        var carriers = [clean, "dvc.lock"]
        var components = clean.split(separator: "/").map(String.init)
        while !components.isEmpty {
            carriers.append(components.joined(separator: "/") + ".dvc")
            components.removeLast()
            if !components.isEmpty { carriers.append(components.joined(separator: "/") + "/dvc.lock") }
        }
        var versions: [Version] = []
        var removals: [CommitInfo] = []
        var previous: (digest: String, carrier: String, bytes: [UInt8]?)?
        for commit in try repository.cachedHistory(from: tip.id.hex, paths: carriers).reversed() {
            let view = try repository.fileView(.git(commit.id.hex))
            guard let source = try DataResolver.identitySource(clean, in: view, stores: stores) else {
                if previous != nil { removals.append(commit) }
                previous = nil
                continue
            }
            let bytes = (source.file as NSString).lastPathComponent == "dvc.lock" ? nil : try view.read(source.file)
            if let index = versions.firstIndex(where: { $0.digest == source.digest }) {
                if previous?.digest != source.digest {
                    versions[index].reintroduced.append(commit)
                } else if let before = previous, before.carrier == source.file, before.bytes != bytes, bytes != nil {
                    versions[index].rewrites.append(commit)
                }
            } else {
                versions.append(Version(digest: source.digest, carrier: source.file, introduced: commit))
            }
            previous = (source.digest, source.file, bytes)
        }
        let boundary = repository.shallowBoundary
        for index in versions.indices where boundary.contains(versions[index].introduced.id.hex) {
            versions[index].atShallowBoundary = true
        }
        let currentDigest = try DataResolver.identitySource(
            clean, in: try repository.fileView(.git(tip.id.hex)), stores: stores)?.digest
        return DataOrigin(
            path: clean, revision: revision, commit: tip.id,
            current: versions.first { $0.digest == currentDigest },
            versions: versions.reversed(), removals: removals.reversed())
    }
}
