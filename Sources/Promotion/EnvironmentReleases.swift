import Config
import GitOpsMLCore
import GitStore
import Render

/// The release records of one environment at a commit of the environment branch
/// (`environments/<env>/<model>.yaml`), by model. A record that does not parse, or that names another
/// environment or model than its path, is an error at its file: it must not be half-applied.
public enum EnvironmentReleases {
    public static func read(_ environment: String, at tip: ObjectID?, in store: Repository) throws -> [String:
        ReleaseRecord]
    {
        guard let tip else { return [:] }
        let folder = "environments/\(environment)"
        let entries: [TreeEntry]
        do {
            entries = try store.listTree(at: tip.hex, path: folder)
        } catch let error as GitError where error.code == .pathNotFound {
            return [:]
        }
        var records: [String: ReleaseRecord] = [:]
        for entry in entries where entry.kind == .blob && entry.name.hasSuffix(".yaml") {
            let path = "\(folder)/\(entry.name)"
            guard let bytes = try store.read(path, at: .git(tip.hex)) else { continue }
            let file = "\(path) (at \(tip.short))"
            let record = try ReleaseRecord.parse(bytes, file: file)
            // The model's name becomes paths and labels where the record is applied: the grammar of the
            // names `promote` writes (a Kubernetes DNS label), never `..` or an option.
            guard Renderer.isDNSLabel(record.model, maxLength: 55) else {
                throw GitOpsMLError.configuration(
                    "the record's model \(Redaction.quoted(record.model)) is not a model name "
                        + "(lowercase letters, digits and '-', at most 55)", at: SourceLocation(file: file))
            }
            guard record.environment == environment, record.model + ".yaml" == entry.name else {
                throw GitOpsMLError.configuration(
                    "the record names model \(record.model) in \(record.environment), not what its path says",
                    at: SourceLocation(file: file))
            }
            records[record.model] = record
        }
        return records
    }
}
