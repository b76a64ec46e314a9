import GitOpsMLCore

/// Which metrics and params files a revision tracks, and what they hold there.
///
/// Sources, in order: the files named on the command line; those the revision itself declares in its
/// `dvc.yaml` (top-level `metrics:`/`params:` and stage `metrics:`/`params:`, relative to the stage's
/// `wdir`), so that an old tag is read by its own declarations, not by today's (a metrics file renamed
/// since is still found there); those in `gitops-ml.yaml` where the revision declares none. When none
/// are declared: `metrics.json` for metrics; `params.yaml` is always read for params when present, as
/// DVC does.
public enum TrackedFiles {
    public enum Kind: Sendable { case metrics, params }

    /// A file and, for params, the keys a stage depends on (empty: all keys).
    public struct Target: Sendable, Equatable {
        public var path: String
        public var keys: [String]
    }

    /// `project`: the folder of the DVC project asked about (a monorepo's subproject, whose dvc.yaml and
    /// default files are read there); empty for the repository's root.
    public static func targets(
        _ kind: Kind, in view: any FileView, config: ProjectConfig?, explicit: [String] = [], project: String = ""
    ) throws -> [Target] {
        if !explicit.isEmpty { return explicit.map { Target(path: normalize($0), keys: []) } }
        let configured = kind == .metrics ? config?.metrics ?? [] : config?.params ?? []
        var targets = try dvcTargets(kind, in: view, project: project)
        if targets.isEmpty && !configured.isEmpty && project.isEmpty {
            return configured.map { Target(path: normalize($0), keys: []) }
        }
        let inProject = { (name: String) in project.isEmpty ? name : project + "/" + name }
        switch kind {
        case .metrics:
            if targets.isEmpty, try view.read(inProject("metrics.json")) != nil {
                targets = [Target(path: inProject("metrics.json"), keys: [])]
            }
        case .params:
            if try view.read(inProject("params.yaml")) != nil {
                targets.append(Target(path: inProject("params.yaml"), keys: []))
            }
        }
        return merge(targets)
    }

    /// Reads each target at this revision. A missing file is `.missing`; a malformed one is an error
    /// naming the file, the line and the revision.
    public static func values(_ kind: Kind, of targets: [Target], in view: any FileView) throws -> [String: FileValues]
    {
        var result: [String: FileValues] = [:]
        for target in targets {
            guard let bytes = try view.read(target.path) else {
                result[target.path] = .missing
                continue
            }
            let parsed = try atRevision(view) { try StructuredFormat.parse(bytes, path: target.path) }
            result[target.path] =
                kind == .metrics
                ? FileValues.metrics(parsed, keys: target.keys) : FileValues.params(parsed, keys: target.keys)
        }
        return result
    }

    /// Adds the revision to configuration errors raised by `body` (not for the working tree).
    static func atRevision<T>(_ view: any FileView, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as GitOpsMLError {
            if case .git(let spec) = view.revision { error.message += " (at revision \(spec))" }
            throw error
        }
    }

    private static func dvcTargets(_ kind: Kind, in view: any FileView, project: String) throws -> [Target] {
        let file = project.isEmpty ? "dvc.yaml" : project + "/dvc.yaml"
        guard let dvc = try atRevision(view, { try DVCFile.read(file, in: view) }) else { return [] }
        let base = project.isEmpty ? "" : project + "/"
        var targets: [Target] = []
        let topKey = kind == .metrics ? "metrics" : "params"
        for item in dvc[topKey]?.arrayValue ?? [] {
            if case .string(let path) = item { targets.append(Target(path: normalize(base + path), keys: [])) }
        }
        guard case .object(let stages)? = dvc["stages"] else { return targets }
        for (_, stage) in stages {
            var wdir = base + "."
            if case .string(let dir)? = stage["wdir"] { wdir = base + dir }
            for item in stage[topKey]?.arrayValue ?? [] {
                switch (kind, item) {
                case (.metrics, .string(let path)):
                    targets.append(Target(path: normalize(wdir + "/" + path), keys: []))
                case (.metrics, .object(let pairs)):
                    targets += pairs.map { Target(path: normalize(wdir + "/" + $0.key), keys: []) }
                case (.params, .string(let key)):
                    // A bare key refers to params.yaml in the stage's folder.
                    targets.append(Target(path: normalize(wdir + "/params.yaml"), keys: [key]))
                case (.params, .object(let pairs)):
                    for pair in pairs {
                        let keys = (pair.value.arrayValue ?? []).compactMap { value -> String? in
                            if case .string(let key) = value { return key }
                            return nil
                        }
                        targets.append(Target(path: normalize(wdir + "/" + pair.key), keys: keys))
                    }
                default: continue
                }
            }
            // DVC 2's `live: {dvclive: {summary: true}}`: dvclive's summary, `<name>.json`, is a metrics file.
            if kind == .metrics, case .object(let live)? = stage["live"] {
                for (name, settings) in live where settings["summary"] != .bool(false) {
                    targets.append(Target(path: normalize(wdir + "/" + name + ".json"), keys: []))
                }
            }
        }
        // dvc.yaml comes with the revision: a file it names outside the repository is not read (DVC would
        // read it from the machine; a check must not).
        return targets.filter { !leaves($0.path) }
    }

    /// One target per file; a file wanted whole anywhere is read whole.
    private static func merge(_ targets: [Target]) -> [Target] {
        var order: [String] = []
        var keys: [String: [String]?] = [:]
        for target in targets {
            if keys[target.path] == nil {
                order.append(target.path)
                keys[target.path] = .some(target.keys.isEmpty ? nil : target.keys)
            } else if let existing = keys[target.path] ?? nil {
                keys[target.path] = .some(
                    target.keys.isEmpty ? nil : existing + target.keys.filter { !existing.contains($0) })
            }
        }
        return order.map { Target(path: $0, keys: (keys[$0] ?? nil) ?? []) }
    }

    /// `./a/../b/c.json` → `b/c.json`.
    /// A path that climbs out keeps its leading `..` (`../x`), so that reading it is refused as leaving the
    /// repository rather than read as another file inside it.
    public static func normalize(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if let last = parts.last, last != ".." { parts.removeLast() } else { parts.append(part) }
            default: parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }

    /// Whether a normalized path leaves the repository.
    static func leaves(_ path: String) -> Bool { path == ".." || path.hasPrefix("../") || path.hasPrefix("/") }
}

extension StructuredValue {
    var arrayValue: [StructuredValue]? {
        if case .array(let values) = self { return values }
        return nil
    }
}
