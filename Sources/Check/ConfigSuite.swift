import Config
import Datasets
import GitOpsMLCore

/// params and metrics files parse at the head, dvc.lock is not stale there; params changes from base to
/// head are reported.
enum ConfigSuite {
    static func run(_ context: CheckContext) throws -> [Finding] {
        var findings: [Finding] = []
        for kind in [TrackedFiles.Kind.params, .metrics] {
            let label = kind == .params ? "params" : "metrics"
            let targets = try TrackedFiles.targets(kind, in: context.head.files, config: context.config)
            for target in targets {
                let id = "config/\(label)/\(target.path)"
                do {
                    let values = try TrackedFiles.values(
                        kind, of: [target], in: ResolvedFiles(context.head.files, stores: context.stores))
                    let missing = values[target.path] == .missing
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: missing ? .skip : .pass,
                            message: missing
                                ? "\(target.path) does not exist at \(context.head.name)" : "\(target.path) parses",
                            location: SourceLocation(file: target.path)))
                } catch let error as GitOpsMLError where error.category == .configuration {
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: .fail, message: error.message,
                            location: error.location))
                } catch let error as GitOpsMLError where error.notPulled {
                    // Not pulled: this finding cannot be judged (it says what to pull); the others go on.
                    findings.append(
                        Finding(
                            id: id, suite: .config, check: "parse", status: .error, message: error.message,
                            location: SourceLocation(file: target.path)))
                }
            }
        }
        findings += try pipeline(context)
        guard let base = context.base else { return findings }
        let oldTargets = try TrackedFiles.targets(.params, in: base.files, config: context.config)
        let newTargets = try TrackedFiles.targets(.params, in: context.head.files, config: context.config)
        guard
            let old = try? TrackedFiles.values(.params, of: oldTargets, in: base.files),
            let new = try? TrackedFiles.values(.params, of: newTargets, in: context.head.files)
        else { return findings }
        let changes = ValueDiff.compare(old: old, new: new)
        let summary = changes.prefix(5).map { "\($0.key) \(cell($0.old)) → \(cell($0.new))" }.joined(separator: ", ")
        findings.append(
            Finding(
                id: "config/params-diff", suite: .config, check: "params-diff", status: .pass,
                message: changes.isEmpty
                    ? "params unchanged from \(base.name)"
                    : "\(changes.count) params changed from \(base.name): \(summary)\(changes.count > 5 ? ", …" : "")",
                details: ValueDiff.json(changes, withDiff: false)))
        return findings
    }

    /// dvc.lock at the head must match the code, params and data beside it (no forgotten `dvc repro`): the
    /// root's, and that of each monorepo subproject the configuration declares files of.
    static func pipeline(_ context: CheckContext) throws -> [Finding] {
        let view = context.head.files
        let subprojects = try StalePipeline.subprojects(recording: context.config.declaredPaths, in: view)
        return try ([""] + subprojects).flatMap { project in
            try pipeline(project, judgement: StalePipeline.check(view, project: project), head: context.head.name)
        }
    }

    static func pipeline(_ project: String, judgement: StalePipeline.Judgement?, head: String) -> [Finding] {
        guard let judgement else { return [] }
        let lock = project.isEmpty ? "dvc.lock" : project + "/dvc.lock"
        if let reason = judgement.unjudged {
            return [
                Finding(
                    id: "config/\(lock)", suite: .config, check: "stale-pipeline", status: .skip,
                    message: "\(lock) not judged: \(reason)", location: SourceLocation(file: lock))
            ]
        }
        let stale = judgement.stale
        guard !stale.isEmpty else {
            return [
                Finding(
                    id: "config/\(lock)", suite: .config, check: "stale-pipeline", status: .pass,
                    message:
                        "\(lock) (\(judgement.format ?? "DVC")) matches the code, params, data and outputs at \(head)",
                    location: SourceLocation(file: lock))
            ]
        }
        return stale.map {
            Finding(
                id: "config/\(lock)/\($0.stage)/\($0.dependency)", suite: .config, check: "stale-pipeline",
                status: .fail, message: $0.message,
                observed: $0.actual.map(StructuredValue.string) ?? .null, expected: .string($0.recorded),
                location: SourceLocation(file: lock))
        }
    }

    static func cell(_ value: StructuredValue?) -> String {
        switch value {
        case nil: return "(none)"
        case .string(let text)?: return text
        case let other?: return other.json()
        }
    }
}
