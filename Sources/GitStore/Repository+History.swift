import CLibGit2
import GitOpsMLCore

extension Repository {
    /// Commits reachable from `start`, newest commit time first.
    ///
    /// With `paths`, git's default history simplification (as `git log -- paths`): a commit is listed
    /// when its entries for the paths differ from those of every parent; a merge that took the paths
    /// unchanged from a parent is followed along that parent only. In a shallow clone the walk ends at
    /// the shallow boundary. Stops after `limit` listed commits.
    public func history(from start: String = "HEAD", paths: [String] = [], limit: Int? = nil) throws -> [CommitInfo] {
        let cleanPaths = paths.map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 }
        var entriesByTree: [ObjectID: [ObjectID?]] = [:]
        func entries(_ commit: CommitInfo) throws -> [ObjectID?] {
            if let known = entriesByTree[commit.tree] { return known }
            let found = try entryIDs(commit.tree, cleanPaths)
            entriesByTree[commit.tree] = found
            return found
        }

        let tip = try commit(start)
        var queue = CommitQueue()
        var seen: Set<ObjectID> = [tip.id]
        var result: [CommitInfo] = []
        queue.insert(tip)
        while let info = queue.popNewest(), limit.map({ result.count < $0 }) ?? true {
            // A parent missing from a shallow clone ends that line of history.
            var follow = try info.parents.compactMap { try commitIfPresent($0) }
            var listed = true
            if !cleanPaths.isEmpty {
                let mine = try entries(info)
                if let same = try follow.first(where: { try entries($0) == mine }) {
                    listed = false
                    follow = [same]
                } else if follow.isEmpty && info.parents.isEmpty {
                    listed = mine.contains { $0 != nil }
                }
            }
            if listed { result.append(info) }
            for parent in follow where seen.insert(parent.id).inserted {
                queue.insert(parent)
            }
        }
        return result
    }

    private func commitIfPresent(_ id: ObjectID) throws -> CommitInfo? {
        var oid = try id.raw()
        var commit: OpaquePointer?
        let code = git_commit_lookup(&commit, handle, &oid)
        if code == GIT_ENOTFOUND.rawValue && isShallow { return nil }
        try check(code, "read commit", id.hex)
        defer { git_commit_free(commit) }
        return commit.map(commitInfo)
    }

    private func entryIDs(_ treeID: ObjectID, _ paths: [String]) throws -> [ObjectID?] {
        var oid = try treeID.raw()
        var tree: OpaquePointer?
        try check(git_tree_lookup(&tree, handle, &oid), "read tree", treeID.hex)
        defer { git_tree_free(tree) }
        return paths.map { path in
            var entry: OpaquePointer?
            guard git_tree_entry_bypath(&entry, tree, path) == 0, let entry else { return nil }
            defer { git_tree_entry_free(entry) }
            return ObjectID(git_tree_entry_id(entry))
        }
    }
}

/// Commits waiting to be visited: a binary heap, newest committer time first, then first inserted.
private struct CommitQueue {
    private var heap: [(commit: CommitInfo, order: Int)] = []
    private var counter = 0

    mutating func insert(_ commit: CommitInfo) {
        counter += 1
        heap.append((commit, counter))
        var child = heap.count - 1
        while child > 0, before(child, (child - 1) / 2) {
            heap.swapAt(child, (child - 1) / 2)
            child = (child - 1) / 2
        }
    }

    mutating func popNewest() -> CommitInfo? {
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
        if left.commit.committer.time != right.commit.committer.time {
            return left.commit.committer.time > right.commit.committer.time
        }
        return left.order < right.order
    }
}
