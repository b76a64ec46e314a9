/// A revision as the user wrote it: a git revspec, or the working tree.
///
/// `env:<name>` and `registry:<model>#<stage>` are resolved to git revisions by the modules that own
/// release records and registry tags; here they are kept as written.
public enum Revision: Sendable, Hashable, CustomStringConvertible {
    /// The files in the working tree, as DVC's "workspace".
    case workspace
    /// Any git revspec: `HEAD~3`, `v1.2`, `main`, a full or short object id.
    case git(String)

    public init(_ text: String) {
        self = text == "workspace" ? .workspace : .git(text)
    }

    public var description: String {
        switch self {
        case .workspace: return "workspace"
        case .git(let spec): return spec
        }
    }
}

/// Read-only access to the files of one revision, wherever they live (git objects or the work tree).
public protocol FileView {
    /// The revision as the user named it, for messages.
    var revision: Revision { get }
    /// The contents of `path` (relative to the repository root), or nil when there is no such file.
    /// Throws only when the file exists but cannot be read.
    func read(_ path: String) throws -> [UInt8]?
    /// The same contents as a stream, for files too large to hold whole; nil when there is no such file.
    func stream(_ path: String) throws -> ByteStream?
    /// The paths of the files below `folder` (recursively, sorted; empty when there is no such folder), at
    /// most `limit` of them: a folder with more is an error rather than a slow or partial answer.
    func list(_ folder: String, limit: Int) throws -> [String]
}

extension FileView {
    public func stream(_ path: String) throws -> ByteStream? { try read(path).map(MemoryStream.init) }
}
