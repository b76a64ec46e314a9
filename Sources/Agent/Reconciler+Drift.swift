import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import HTTPClient
import Promotion

/// One measurement of production drift: the inputs served in an interval against the dataset the
/// running release was trained on, as its lineage (the release record's source commit) names it.
public struct ServedDrift: Sendable {
    public var environment: String
    /// The environment-branch commit that runs, and the model version it released.
    public var commit: String
    public var model: String
    public var version: String
    public var sourceCommit: String
    public var dataset: String
    /// Inputs served in the interval, and how many of them the sample kept.
    public var served: Int
    public var sampled: Int
    public var report: DriftReport
    /// Where the retraining signal went when the inputs drifted.
    public var signalled: [String] = []

    /// The note's entry: what was compared, each judged column's test, score and verdict.
    var json: StructuredValue {
        .object([
            ("time", .string(ISO8601DateFormatter().string(from: Date()))), ("model", .string(model)),
            ("version", .string(version)), ("source_commit", .string(sourceCommit)), ("dataset", .string(dataset)),
            ("served", .int(served)), ("sampled", .int(sampled)), ("dataset_drift", .bool(report.datasetDrift)),
            ("drift_share", .double(report.share)),
            (
                "columns",
                .array(
                    report.evaluated.map { column in
                        .object([
                            ("column", .string(column.column)), ("test", .string(column.test?.rawValue ?? "")),
                            ("score", column.score.map(StructuredValue.double) ?? .null),
                            ("threshold", column.threshold.map(StructuredValue.double) ?? .null),
                            ("drifted", .bool(column.drifted == true)),
                        ])
                    })
            ),
        ])
    }

    /// A GitHub `repository_dispatch` payload asking for a retraining.
    var signal: StructuredValue {
        .object([
            ("event_type", .string("gitops-ml-drift")),
            (
                "client_payload",
                .object([
                    ("environment", .string(environment)), ("model", .string(model)), ("version", .string(version)),
                    ("source_commit", .string(sourceCommit)), ("dataset", .string(dataset)),
                    (
                        "drifted_columns",
                        .array(report.evaluated.filter { $0.drifted == true }.map { .string($0.column) })
                    ),
                    ("drift_share", .double(report.share)), ("served", .int(served)),
                ])
            ),
        ])
    }
}

extension Reconciler {
    /// The notes with each environment commit's production-drift measurements (the last 100 kept).
    static let driftNotes = "refs/notes/gitops-ml-drift"
    static let maximumDriftNoteBytes = 4 << 20

    /// Production drift of every environment that watches it and is due: nothing when fewer inputs than
    /// its `minimum` were served since the last measurement (they carry over). Failures are logged; the
    /// next interval tries again.
    func monitorDrift() -> [ServedDrift] {
        var measured: [ServedDrift] = []
        for environment in config.environments {
            guard let monitor = environment.drift, let proxy = target(environment.name).proxy,
                target(environment.name).running != nil,
                let applied = state.environments[environment.name]?.lastApplied
            else { continue }
            let now = options.clock.now()
            if let last = driftChecked[environment.name], now - last < monitor.every { continue }
            driftChecked[environment.name] = now
            guard let (lines, served) = proxy.takeInputs(minimum: monitor.minimum) else { continue }
            do {
                var drift = try measureDrift(
                    environment, monitor: monitor, commit: ObjectID(hex: applied), lines: lines, served: served)
                drift.signalled = signal(drift, monitor: monitor)
                publishDrift(drift)
                Log.info(
                    "production drift",
                    [
                        "environment": environment.name, "dataset_drift": "\(drift.report.datasetDrift)",
                        "drifted": "\(drift.report.driftedCount) of \(drift.report.evaluated.count)",
                    ])
                measured.append(drift)
            } catch {
                Log.warning("production drift not measured", ["environment": environment.name, "error": "\(error)"])
            }
        }
        return measured
    }

    func measureDrift(
        _ environment: AgentConfig.Environment, monitor: AgentConfig.DriftMonitor, commit: ObjectID, lines: [String],
        served: Int
    ) throws -> ServedDrift {
        guard let record = try EnvironmentReleases.read(environment.name, at: commit, in: mirror).values.first else {
            throw GitOpsMLError.configuration("no release in environments/\(environment.name)/ at \(commit.short)")
        }
        let source = ObjectID(hex: record.sourceCommit)
        let reference = try trainingData(monitor.dataset, at: source)
        let current = try Dataset.read(
            Array(lines.joined(separator: "\n").utf8), file: "served inputs", options: Dataset.Options(format: .jsonl))
        let report = try DriftDetector.detect(reference: reference, current: current)
        return ServedDrift(
            environment: environment.name, commit: commit.hex, model: record.model, version: record.version,
            sourceCommit: source.hex, dataset: monitor.dataset, served: served, sampled: lines.count, report: report)
    }

    /// The dataset `name` of gitops-ml.yaml as `source` has it, read once per source commit.
    func trainingData(_ name: String, at source: ObjectID) throws -> Dataset {
        let key = "\(source.hex):\(name)"
        if let cached = trainingSets[key] { return cached }
        let file = "\(ProjectConfig.fileName) (at \(source.short))"
        guard let bytes = try mirror.read(ProjectConfig.fileName, at: .git(source.hex)) else {
            throw GitOpsMLError.configuration("\(file) is missing")
        }
        guard let declared = try ProjectConfig.parse(bytes, file: file).datasets[name] else {
            throw GitOpsMLError.configuration(
                "agent.yaml drift.dataset \(name) is not a dataset of \(file)", at: SourceLocation(file: "agent.yaml"))
        }
        let stores = options.stores ?? DataStores(dvcCache: nil, lfsObjects: mirror.gitDirectory + "/lfs/objects")
        guard
            let dataset = try DataResolver.dataset(
                declared.path, in: try mirror.fileView(.git(source.hex)), stores: stores,
                options: Dataset.Options(declared))
        else { throw GitOpsMLError.environment("\(declared.path) is not at \(source.short)") }
        trainingSets = [key: dataset]  // the running release's only: memory stays bounded
        return dataset
    }

    /// The measurement appended to the note on the environment commit, on the remote.
    func publishDrift(_ drift: ServedDrift) {
        do {
            try NotesPublisher.update(
                Self.driftNotes, on: ObjectID(hex: drift.commit), remote: options.remote, in: mirror, author: author(),
                sign: options.signer.map { signer in { try signer.sign($0) } }, attempts: 4,
                credentials: options.credentials
            ) { existing in
                var entries: [StructuredValue] = []
                // The note's 100 measurements are well under a megabyte; a larger one (written by whoever can
                // push notes) is not parsed: the history starts again from this measurement.
                if let existing, existing.utf8.count <= Self.maximumDriftNoteBytes,
                    case .object(let fields)? = try? JSONReader.parse(Array(existing.utf8), file: "note"),
                    case .array(let old)? = fields.first(where: { $0.key == "measurements" })?.value
                {
                    entries = Array(old.suffix(99))
                }
                return StructuredValue.object([("version", .int(1)), ("measurements", .array(entries + [drift.json]))])
                    .json(indent: 2) + "\n"
            }
        } catch {
            Log.warning("production drift note not published", ["environment": drift.environment, "error": "\(error)"])
        }
    }

    /// The retraining signal when the served inputs drifted: written to the file, POSTed to the webhook
    /// (with the bearer token of `token_env`, which is never logged). Where it went.
    func signal(_ drift: ServedDrift, monitor: AgentConfig.DriftMonitor) -> [String] {
        guard drift.report.datasetDrift else { return [] }
        let payload = drift.signal.json(indent: 2) + "\n"
        var delivered: [String] = []
        if let file = monitor.signalFile {
            do {
                try OutputFile.write(Array(payload.utf8), to: file, kind: try OutputFile.check(file))
                delivered.append(file)
            } catch {
                Log.warning("retraining signal not written", ["file": file, "error": "\(error)"])
            }
        }
        if let webhook = monitor.webhook {
            var request = HTTPRequest("POST", webhook, timeout: 10)
            request.body = Array(payload.utf8)
            request.headers = [("Content-Type", "application/json"), ("Accept", "application/vnd.github+json")]
            if let variable = monitor.tokenVariable, let token = ProcessSecrets.value(variable) {
                request.headers.append(("Authorization", "Bearer \(token)"))
            }
            do {
                let answer = try HTTPClient.perform(request)
                if (200..<300).contains(answer.status) {
                    delivered.append(Redaction.url(webhook))
                } else {
                    Log.warning(
                        "retraining signal refused", ["webhook": Redaction.url(webhook), "status": "\(answer.status)"])
                }
            } catch {
                Log.warning("retraining signal not sent", ["webhook": Redaction.url(webhook), "error": "\(error)"])
            }
        }
        return delivered
    }
}
