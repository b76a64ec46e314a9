internal import CLibGit2
import GitOpsMLCore

extension Repository {
    /// Commits reachable from `start`, newest commit time first.
    ///
    /// With `paths`, git's default history simplification (as `git log -- paths`): a commit is listed
    /// when its entries for the paths differ from those of every parent; a merge that took the paths
    /// unchanged from a parent is followed along that parent only. In a shallow clone the walk ends at
    /// the shallow boundary. Stops after `limit` listed commits.
    public func history(from start: String = "HEAD", paths: [String] = [], limit: Int? = nil) throws -> [CommitInfo] {
        var startID = try resolve(start).raw()
        return try walk(from: RawOID(&startID), paths: paths, limit: limit).map { try commit($0.objectID.hex) }
    }

    /// `history(from:paths:)` kept in the history cache (`.git/gitops-ml/history-cache`, a `CacheFile`): a
    /// repeated query reads its answer; a start that descends from a cached one walks only the new
    /// commits when the walk reaches the cached start alone. A cached answer naming a commit that is gone
    /// (a force-push, then gc) is dropped and the history walked again.
    public func cachedHistory(from start: String, paths: [String]) throws -> [CommitInfo] {
        var startOID = try resolve(start).raw()
        let startID = RawOID(&startOID)
        let key = paths.sorted().joined(separator: "\u{1F}")
        let path = commonDirectory + "/gitops-ml/history-cache"
        var records = CacheFile.load(path, header: Self.historyCacheHeader)?.records.filter { $0.count == 3 } ?? []
        // The cache is only a cache: a malformed id or a commit that is gone means walking again.
        func ids(_ list: String) -> [RawOID]? {
            var result: [RawOID] = []
            for text in list.split(separator: ",") {
                var oid = git_oid()
                guard git_oid_fromstr(&oid, String(text)) == 0 else { return nil }
                result.append(RawOID(&oid))
            }
            return result
        }
        func infos(_ ids: [RawOID]) -> [CommitInfo]? { try? ids.map { try commit($0.objectID.hex) } }
        if let hit = records.first(where: { $0[0] == key && $0[1] == startID.objectID.hex }) {
            if let found = ids(hit[2]).flatMap(infos) { return found }
            records.removeAll { $0[0] == key }
        }
        var listed: [RawOID]?
        var from = startOID
        for record in records where record[0] == key {
            var cached = git_oid()
            guard git_oid_fromstr(&cached, record[1]) == 0,
                git_graph_descendant_of(handle, &from, &cached) == 1, let below = ids(record[2])
            else { continue }
            listed = try walk(from: startID, paths: paths, limit: nil, stopAt: (RawOID(&cached), below))
            break
        }
        var result = try listed ?? walk(from: startID, paths: paths, limit: nil)
        var found = infos(result)
        if found == nil {
            records.removeAll { $0[0] == key }
            result = try walk(from: startID, paths: paths, limit: nil)
            found = try result.map { try commit($0.objectID.hex) }
        }
        let entry = [key, startID.objectID.hex, result.map(\.objectID.hex).joined(separator: ",")]
        records.removeAll { $0[0] == key && $0[1] == entry[1] }
        CacheFile(header: Self.historyCacheHeader, key: "", records: Array(([entry] + records).prefix(64)))
            .save(to: path)
        return found ?? []
    }

    static let historyCacheHeader = "gitops-ml history cache v1"

    /// The listed commits of the walk, newest first. `stopAt`: when the walk reaches that commit with
    /// nothing else pending, the rest is its known answer.
    func walk(
        from start: RawOID, paths: [String], limit: Int?, stopAt: (commit: RawOID, listed: [RawOID])? = nil
    ) throws -> [RawOID] {
        let cleanPaths = paths.map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 }
        // Two levels, as git prunes tree diffs: the root entries of the paths' first components decide
        // most commits (an unchanged `data` folder means an unchanged `data/train.csv`); the entries of the
        // paths themselves are read only when a first component changed. Object ids stay raw bytes here:
        // a 100,000-commit walk must not turn each into a string.
        let roots = Array(Set(cleanPaths.map { String($0.split(separator: "/").first ?? Substring($0)) })).sorted()
        var entriesByTree: [RawOID: [RawOID?]] = [:]
        func entries(_ tree: RawOID) throws -> [RawOID?] {
            if let known = entriesByTree[tree] { return known }
            let found = try entryIDs(tree, cleanPaths)
            entriesByTree[tree] = found
            return found
        }
        func same(_ a: inout WalkCommit, _ b: inout WalkCommit) throws -> Bool {
            if try a.rootEntries(roots, in: self) == b.rootEntries(roots, in: self) { return true }
            return try entries(a.tree) == entries(b.tree)
        }

        guard var tip = try walkCommit(start) else {
            throw GitError(
                .revisionNotFound, operation: "read commit", subject: start.objectID.hex, message: "not found")
        }
        var queue = CommitQueue()
        var seen: Set<RawOID> = [tip.id]
        var listed: [RawOID] = []
        if !cleanPaths.isEmpty { _ = try tip.rootEntries(roots, in: self) }
        queue.insert(tip)
        while var commit = queue.popNewest(), limit.map({ listed.count < $0 }) ?? true {
            if let stopAt, commit.id == stopAt.commit, queue.isEmpty { return listed + stopAt.listed }
            // A parent missing from a shallow clone ends that line of history.
            var follow = try commit.parents.compactMap { try walkCommit($0) }
            var isListed = true
            if !cleanPaths.isEmpty {
                var treesame: Int?
                for index in follow.indices where try same(&commit, &follow[index]) {
                    treesame = index
                    break
                }
                if let treesame {
                    isListed = false
                    follow = [follow[treesame]]
                } else if follow.isEmpty && commit.parents.isEmpty {
                    isListed = try entries(commit.tree).contains { $0 != nil }
                }
            }
            if isListed { listed.append(commit.id) }
            for parent in follow where seen.insert(parent.id).inserted {
                queue.insert(parent)
            }
        }
        return listed
    }

    /// A git object id as raw bytes: hashed and compared without a string.
    struct RawOID: Hashable {
        var high: UInt64
        var middle: UInt64
        var low: UInt32

        init(_ oid: UnsafePointer<git_oid>) {
            (high, middle, low) = UnsafeRawPointer(oid).withMemoryRebound(to: UInt8.self, capacity: 20) { bytes in
                let raw = UnsafeRawPointer(bytes)
                return (
                    raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                )
            }
        }

        var oid: git_oid {
            var oid = git_oid()
            withUnsafeMutableBytes(of: &oid) { buffer in
                buffer.storeBytes(of: high, toByteOffset: 0, as: UInt64.self)
                buffer.storeBytes(of: middle, toByteOffset: 8, as: UInt64.self)
                buffer.storeBytes(of: low, toByteOffset: 16, as: UInt32.self)
            }
            return oid
        }

        var objectID: ObjectID { ObjectID(oid) }
    }

    /// What the walk needs of a commit, without its message and signatures.
    struct WalkCommit {
        var id: RawOID
        var tree: RawOID
        var parents: [RawOID]
        var time: Int64
        /// The root entries of the paths' first components, read once.
        var roots: [RawOID?]?

        mutating func rootEntries(_ names: [String], in repository: Repository) throws -> [RawOID?] {
            if let roots { return roots }
            let found = try repository.entryIDs(tree, names)
            roots = found
            return found
        }
    }

    /// The commit, nil when a shallow clone does not have it.
    private func walkCommit(_ id: RawOID) throws -> WalkCommit? {
        var oid = id.oid
        var raw: OpaquePointer?
        let code = git_commit_lookup(&raw, handle, &oid)
        if code == GIT_ENOTFOUND.rawValue && isShallow { return nil }
        try check(code, "read commit", id.objectID.hex)
        guard let raw else { return nil }
        let owner = Owned<Git.Commit>(adopting: raw)
        let commit = owner.pointer
        return WalkCommit(
            id: id, tree: RawOID(git_commit_tree_id(commit)),
            parents: (0..<git_commit_parentcount(commit)).compactMap { index in
                git_commit_parent_id(commit, index).map { RawOID($0) }
            }, time: git_commit_time(commit), roots: nil)
    }

    fileprivate func entryIDs(_ tree: RawOID, _ paths: [String]) throws -> [RawOID?] {
        var oid = tree.oid
        let owner = try Owned<Git.Tree>("read tree", tree.objectID.hex) { git_tree_lookup(&$0, handle, &oid) }
        let root = owner.pointer
        return paths.map { path in
            guard
                let entry = try? Owned<Git.TreeEntry>.ifFound("read", path, { git_tree_entry_bypath(&$0, root, path) })
            else { return nil }
            return RawOID(git_tree_entry_id(entry.pointer))
        }
    }
}

/// Commits waiting to be visited: a binary heap, newest committer time first, then first inserted.
private struct CommitQueue {
    private var heap: [(commit: Repository.WalkCommit, order: Int)] = []
    private var counter = 0

    mutating func insert(_ commit: Repository.WalkCommit) {
        counter += 1
        heap.append((commit, counter))
        var child = heap.count - 1
        while child > 0, before(child, (child - 1) / 2) {
            heap.swapAt(child, (child - 1) / 2)
            child = (child - 1) / 2
        }
    }

    var isEmpty: Bool { heap.isEmpty }

    mutating func popNewest() -> Repository.WalkCommit? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast().commit
        var parent = 0
        while true {
            var best = parent
            for child in [2 * parent + 1, 2 * parent + 2] where child < heap.count && before(child, best) {
                best = child
            }
            if best == parent { return top }
            heap.swapAt(parent, best)
            parent = best
        }
    }

    private func before(_ a: Int, _ b: Int) -> Bool {
        let (left, right) = (heap[a], heap[b])
        if left.commit.time != right.commit.time { return left.commit.time > right.commit.time }
        return left.order < right.order
    }
}

extension Repository {
    /// Whether `ancestor` is `descendant` itself or one of its ancestors (`git merge-base --is-ancestor`).
    /// In a shallow clone a line of history ends at the shallow boundary, and what lies past it is not seen.
    public func isAncestor(_ ancestor: ObjectID, of descendant: ObjectID) throws -> Bool {
        if ancestor == descendant { return true }
        var older = try ancestor.raw()
        var newer = try descendant.raw()
        let result = git_graph_descendant_of(handle, &newer, &older)
        try check(result < 0 ? result : 0, "compare commits", "\(ancestor.short)..\(descendant.short)")
        return result == 1
    }
}
