import GitOpsMLCore
import Synchronization

/// A revision's files with their pointers followed: a file that is a DVC output — named by a `.dvc`
/// pointer or recorded in `dvc.lock`, so absent from git — reads from the local DVC cache, and a git-lfs
/// pointer reads as its object from the LFS store, both digest-verified: metrics, params and plots are read
/// at any revision, head and base alike, wherever the project keeps them. An object absent from its store
/// is an error that says what to fetch. Streams and listings are the revision's own (datasets resolve
/// their pointers through `DataResolver`, streaming).
public struct ResolvedFiles: FileView {
    public let base: any FileView
    public let stores: DataStores
    /// An output whose object is not in the cache reads as absent (as `dvc metrics diff` shows it) rather
    /// than as an error, and is recorded in `notPulled` with the pull to run.
    public let absentWhenNotCached: Bool
    public let notPulled = NotPulled()

    /// The outputs read as absent because they are not pulled: path → the message with the pull to run.
    public final class NotPulled: Sendable {
        private let paths = Mutex<[String: String]>([:])
        public var all: [String: String] { paths.withLock { $0 } }
        func record(_ path: String, _ message: String) { paths.withLock { $0[path] = message } }
    }

    public init(_ base: any FileView, stores: DataStores, absentWhenNotCached: Bool = false) {
        self.base = base
        self.stores = stores
        self.absentWhenNotCached = absentWhenNotCached
    }

    public var revision: Revision { base.revision }

    public func read(_ path: String) throws -> [UInt8]? {
        if let bytes = try base.read(path), try bytes.count >= 1024 || LFSPointer(bytes, file: path) == nil {
            return bytes
        }
        do {
            return try DataResolver.locate(path, in: base, stores: stores)?.read().bytes
        } catch let error as GitOpsMLError where absentWhenNotCached && error.notPulled {
            notPulled.record(path, error.message)
            return nil
        }
    }

    public func stream(_ path: String) throws -> ByteStream? { try base.stream(path) }

    public func list(_ folder: String, limit: Int) throws -> [String] { try base.list(folder, limit: limit) }
}
