import Config
import Data
import Dispatch
import Foundation
import Gates
import GitOpsMLCore

/// What one revision says about a model: its metrics file and its per-example predictions.
struct ModelVersion {
    var metrics: [String: StructuredValue] = [:]
    var classification: ClassificationPredictions?
    var regression: (ids: [String], truth: [Double], predicted: [Double])?
    /// Why predictions could not be read, when they are configured but unusable.
    var predictionsProblem: String?
    /// The value of the slice column for each prediction, when a slice column was asked for.
    var slices: [String]?

    /// The files of one version, read from git (on the calling thread: repositories are not thread-safe).
    struct Files: Sendable {
        var model: ProjectConfig.Model
        var metrics: [(path: String, bytes: [UInt8])]
        var predictions: (path: String, bytes: [UInt8]?)?
        var revisionName: String
        var sliceBy: String?
    }

    /// Predictions may be stored through DVC or LFS pointers.
    static func read(
        _ model: ProjectConfig.Model, config: ProjectConfig, at revision: CheckRevision, stores: DataStores,
        sliceBy: String? = nil
    ) throws -> Files {
        let metricsFiles = model.metrics.map { [$0] } ?? (config.metrics.isEmpty ? ["metrics.json"] : config.metrics)
        let metrics = try metricsFiles.compactMap { path in try revision.files.read(path).map { (path, $0) } }
        let predictions = try model.predictions.map { path in
            (path, try DataResolver.resolve(path, in: revision.files, stores: stores)?.bytes)
        }
        return Files(
            model: model, metrics: metrics, predictions: predictions, revisionName: revision.name, sliceBy: sliceBy)
    }

    /// Parses both versions at once, one per core (large predictions files dominate a check's time).
    static func parse(_ head: Files, _ base: Files?) throws -> (head: ModelVersion, base: ModelVersion?) {
        let inputs = [head] + (base.map { [$0] } ?? [])
        let results = Mutex<[Int: Result<ModelVersion, Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            let result = Result { try parse(inputs[index]) }
            results.withLock { $0[index] = result }
        }
        let done = results.withLock { $0 }
        guard let parsedHead = done[0] else { throw GitOpsMLError.environment("internal: predictions were not parsed") }
        return (try parsedHead.get(), try done[1]?.get())
    }

    /// Missing files leave the fields empty; malformed ones throw configuration errors naming the file and line.
    static func parse(_ files: Files) throws -> ModelVersion {
        var version = ModelVersion()
        let model = files.model
        let sliceBy = files.sliceBy
        for (path, bytes) in files.metrics {
            let value = try StructuredFormat.parse(bytes, path: path)
            if case .values(let pairs) = FileValues.metrics(value) {
                for pair in pairs { version.metrics[pair.key] = pair.value }
            }
        }
        guard let (path, content) = files.predictions else { return version }
        guard let bytes = content else {
            version.predictionsProblem = "\(path) does not exist at \(files.revisionName)"
            return version
        }
        let delimiter: UInt8 = path.hasSuffix(".tsv") ? UInt8(ascii: "\t") : UInt8(ascii: ",")
        let table = try CSVTable.parse(bytes, file: path, delimiter: delimiter)
        let idColumn = ["id", "example_id", "customer_id"].first(where: table.hasColumn)
        guard let idColumn, table.hasColumn("y_true"), table.hasColumn("y_pred") else {
            throw GitOpsMLError.configuration(
                "predictions need the columns id, y_true and y_pred (found: \(table.header.joined(separator: ", ")))",
                at: SourceLocation(file: path, line: 1))
        }
        let ids = try table.strings(idColumn)
        if let sliceBy { version.slices = try table.strings(sliceBy) }
        switch model.task {
        case .classification:
            let scoreColumn = ["score", "y_score", "probability"].first(where: table.hasColumn)
            let scores = try scoreColumn.map { column -> [Double] in
                try table.numbers(column).enumerated().map { row, value in
                    guard let value, (0...1).contains(value) else {
                        throw GitOpsMLError.configuration(
                            "\(column) must be a probability between 0 and 1",
                            at: SourceLocation(file: path, line: table.rowLines[row]))
                    }
                    return value
                }
            }
            version.classification = ClassificationPredictions(
                ids: ids, truth: try table.strings("y_true"), predicted: try table.strings("y_pred"), score: scores)
        case .regression:
            let truth = try table.numbers("y_true")
            let predicted = try table.numbers("y_pred")
            if let row = truth.indices.first(where: { truth[$0] == nil || predicted[$0] == nil }) {
                throw GitOpsMLError.configuration(
                    "y_true and y_pred must be numbers", at: SourceLocation(file: path, line: table.rowLines[row]))
            }
            version.regression = (ids, truth.compactMap { $0 }, predicted.compactMap { $0 })
        }
        var seen = Set<String>(minimumCapacity: ids.count)
        for (row, id) in ids.enumerated() where !seen.insert(id).inserted {
            throw GitOpsMLError.configuration(
                "id \"\(id)\" appears more than once", at: SourceLocation(file: path, line: table.rowLines[row]))
        }
        return version
    }

    /// A metric's value: computed from the predictions when they give it, else read from the metrics file
    /// (the key itself, or the one key ending in `.metric`).
    func value(of metric: String) throws -> (value: Double, source: String)? {
        if let classification, let value = ClassificationMetrics.metric(metric, classification) {
            return (value, "predictions")
        }
        if let regression,
            let value = RegressionMetrics.metric(metric, truth: regression.truth, predicted: regression.predicted)
        {
            return (value, "predictions")
        }
        if let value = metrics[metric]?.number { return (value, "metrics") }
        let candidates = metrics.filter { $0.key.hasSuffix("." + metric) && $0.value.number != nil }
        guard candidates.count <= 1 else {
            throw GitOpsMLError.configuration(
                "metric \"\(metric)\" is ambiguous: \(candidates.keys.sorted().joined(separator: ", "))")
        }
        return candidates.first.flatMap { pair in pair.value.number.map { ($0, "metrics (\(pair.key))") } }
    }

    /// Both versions' predictions on the evaluation ids they share, in the same order.
    static func paired(champion: ModelVersion, challenger: ModelVersion) -> PairedData? {
        if let a = champion.classification, let b = challenger.classification {
            if a.ids == b.ids { return .classification(champion: a, challenger: b) }  // the usual case: same file order
            let position = Dictionary(uniqueKeysWithValues: a.ids.enumerated().map { ($1, $0) })
            let common = b.ids.indices.compactMap { index in position[b.ids[index]].map { (index, $0) } }
            guard !common.isEmpty else { return nil }
            return .classification(
                champion: a.subset(common.map(\.1), keepingIDs: a.ids),
                challenger: b.subset(common.map(\.0), keepingIDs: b.ids))
        }
        if let a = champion.regression, let b = challenger.regression {
            if a.ids == b.ids { return .regression(truth: b.truth, champion: a.predicted, challenger: b.predicted) }
            let position = Dictionary(uniqueKeysWithValues: a.ids.enumerated().map { ($1, $0) })
            let common = b.ids.indices.compactMap { index in position[b.ids[index]].map { (index, $0) } }
            guard !common.isEmpty else { return nil }
            return .regression(
                truth: common.map { b.truth[$0.0] }, champion: common.map { a.predicted[$0.1] },
                challenger: common.map { b.predicted[$0.0] })
        }
        return nil
    }
}

extension ClassificationPredictions {
    func subset(_ indices: [Int], keepingIDs ids: [String]) -> ClassificationPredictions {
        ClassificationPredictions(
            ids: indices.map { ids[$0] }, truth: indices.map { truth[$0] }, predicted: indices.map { predicted[$0] },
            score: score.map { scores in indices.map { scores[$0] } }, positiveLabel: positiveLabel)
    }
}
