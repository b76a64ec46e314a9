import Config
import Datasets
import Dispatch
import Foundation
import Gates
import GitOpsMLCore
import Statistics

/// What one revision says about a model: its metrics file and its per-example predictions.
struct ModelVersion {
    var metrics: [String: StructuredValue] = [:]
    var classification: ClassificationPredictions?
    var regression: (ids: [String], truth: [Double], predicted: [Double])?
    /// Why predictions could not be read, when they are configured but unusable.
    var predictionsProblem: String?
    /// Metrics files not pulled (DVC outputs): a metric not found elsewhere is unavailable, with this.
    var notPulled: [String] = []
    /// The value of the slice column for each prediction, when a slice column was asked for.
    var slices: [String]?

    /// The files of one version, read from git (on the calling thread: repositories are not thread-safe).
    struct Files: Sendable {
        var model: ProjectConfig.Model
        var metrics: [(path: String, bytes: [UInt8])]
        var predictions: (path: String, bytes: [UInt8]?)?
        var revisionName: String
        var sliceBy: String?
        /// Metrics files this clone has not pulled, and the pull to run.
        var notPulled: [String] = []
    }

    /// Predictions may be stored through DVC or LFS pointers.
    static func read(
        _ model: ProjectConfig.Model, config: ProjectConfig, at revision: CheckRevision, stores: DataStores,
        sliceBy: String? = nil
    ) throws -> Files {
        let metricsFiles = model.metrics.map { [$0] } ?? (config.metrics.isEmpty ? ["metrics.json"] : config.metrics)
        let files = ResolvedFiles(revision.files, stores: stores)
        // A metrics file that is a DVC output not pulled here: the metrics it holds are unavailable, with the
        // pull to run; the rest of the check goes on.
        var notPulled: [String] = []
        let metrics = try metricsFiles.compactMap { path -> (String, [UInt8])? in
            do {
                return try files.read(path).map { (path, $0) }
            } catch let error as GitOpsMLError where error.notPulled {
                notPulled.append(error.message)
                return nil
            }
        }
        let predictions = try model.predictions.map { path in
            (path, try DataResolver.resolve(path, in: revision.files, stores: stores)?.bytes)
        }
        return Files(
            model: model, metrics: metrics, predictions: predictions, revisionName: revision.name, sliceBy: sliceBy,
            notPulled: notPulled)
    }

    /// Parses both versions at once, one per core (large predictions files dominate a check's time).
    static func parse(_ head: Files, _ base: Files?) throws -> (head: ModelVersion, base: ModelVersion?) {
        let inputs = [head] + (base.map { [$0] } ?? [])
        let parsed = try Parallel.map(inputs.count) { index in try parse(inputs[index]) }
        return (parsed[0], parsed.count > 1 ? parsed[1] : nil)
    }

    /// Missing files leave the fields empty; malformed ones throw configuration errors naming the file and line.
    static func parse(_ files: Files) throws -> ModelVersion {
        var version = ModelVersion()
        version.notPulled = files.notPulled
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
        guard table.rowCount > 0 else {
            version.predictionsProblem = "\(path) has no rows at \(files.revisionName): nothing to compute metrics from"
            return version
        }
        let ids = try table.strings(idColumn)
        var seen = Set<String>(minimumCapacity: ids.count)
        for (row, id) in ids.enumerated() where !seen.insert(id).inserted {
            throw GitOpsMLError.configuration(
                "id \"\(id)\" appears more than once", at: SourceLocation(file: path, line: table.rowLines[row]))
        }
        if let sliceBy { version.slices = try table.strings(sliceBy) }
        switch model.task {
        case .classification:
            do {
                version.classification = try classification(table, ids: ids, model: model, path: path)
            } catch let problem as PredictionsProblem {
                version.predictionsProblem = problem.message
            }
        case .regression:
            let truth = try table.numbers("y_true")
            let predicted = try table.numbers("y_pred")
            if let row = truth.indices.first(where: { truth[$0] == nil || predicted[$0] == nil }) {
                throw GitOpsMLError.configuration(
                    "y_true and y_pred must be numbers", at: SourceLocation(file: path, line: table.rowLines[row]))
            }
            version.regression = (ids, truth.compactMap { $0 }, predicted.compactMap { $0 })
        }
        return version
    }

    /// Labels that make the predictions unusable for metrics: reported as an error finding, not thrown,
    /// so the rest of the check still runs.
    struct PredictionsProblem: Error { var message: String }

    /// Labels canonicalised as values (`ClassLabels`), checked against the declared classes; the positive
    /// class's score (`score`, `y_score`, `probability` or `score_<positive>`), and per-class probabilities
    /// from `score_<class>` columns.
    static func classification(_ table: CSVTable, ids: [String], model: ProjectConfig.Model, path: String) throws
        -> ClassificationPredictions
    {
        let rawTruth = try table.strings("y_true")
        let rawPredicted = try table.strings("y_pred")
        for (name, column) in [("y_true", rawTruth), ("y_pred", rawPredicted)] {
            // pandas reads `NA`, `null`, `n/a`… as missing: a missing label, never a class of its own.
            let missing = column.indices.filter {
                PandasText.nullTokens.contains(column[$0]) || column[$0].trimmingCharacters(in: .whitespaces).isEmpty
            }
            if let first = missing.first {
                let what = column[first].isEmpty ? "empty" : "missing (\(Redaction.quoted(column[first])))"
                throw PredictionsProblem(
                    message:
                        "\(path):\(table.rowLines[first]): \(name) is \(what) in \(missing.count) of \(column.count) rows; a missing label is not a class"
                )
            }
        }
        let probabilityColumns = table.header.filter { $0.hasPrefix("score_") && $0.count > "score_".count }
        let declared = model.classes ?? []
        var everyLabel = Set(rawTruth).union(rawPredicted).union(declared)
        everyLabel.formUnion(probabilityColumns.map { String($0.dropFirst("score_".count)) })
        if let positive = model.positiveLabel { everyLabel.insert(positive) }
        let canonical = ClassLabels.canonicaliser(for: everyLabel)
        let truth = rawTruth.map(canonical)
        let predicted = rawPredicted.map(canonical)
        let columnClasses = Dictionary(
            probabilityColumns.map { (canonical(String($0.dropFirst("score_".count))), $0) },
            uniquingKeysWith: { a, _ in a })
        var classes = ClassLabels.sorted(Set(truth).union(predicted).union(columnClasses.keys))
        if !declared.isEmpty {
            let declaredClasses = declared.map(canonical)
            let allowed = Set(declaredClasses)
            for (name, column, raw) in [("y_true", truth, rawTruth), ("y_pred", predicted, rawPredicted)] {
                let outside = column.indices.filter { !allowed.contains(column[$0]) }
                if let first = outside.first {
                    throw PredictionsProblem(
                        message:
                            "\(path):\(table.rowLines[first]): \(name) \(Redaction.quoted(raw[first])) is not one of the declared classes (\(declared.joined(separator: ", "))); \(outside.count) rows are not"
                    )
                }
            }
            classes = declaredClasses
        }
        // scikit-learn's default pos_label is 1: the default here too when the labels are values 0 and 1.
        let valued = everyLabel.allSatisfy { ClassLabels.value($0) != nil }
        let positive =
            model.positiveLabel.map(canonical) ?? (valued && Set(classes).isSubset(of: ["0", "1"]) ? "1" : nil)

        func probabilities(_ column: String) throws -> [Double] {
            try table.numbers(column).enumerated().map { row, value in
                guard let value, (0...1).contains(value) else {
                    throw GitOpsMLError.configuration(
                        "\(column) must be a probability between 0 and 1",
                        at: SourceLocation(file: path, line: table.rowLines[row]))
                }
                return value
            }
        }
        var perClass: [[Double]]?
        if classes.allSatisfy({ columnClasses[$0] != nil }) {
            let columns = try classes.map { try probabilities(columnClasses[$0] ?? "") }
            if classes.count > 2 {
                for row in 0..<table.rowCount {
                    let sum = columns.reduce(0) { $0 + $1[row] }
                    guard abs(sum - 1) <= 1e-3 else {
                        throw GitOpsMLError.configuration(
                            "the score_<class> probabilities of this row sum to \(GateEvaluator.format(sum)), not 1",
                            at: SourceLocation(file: path, line: table.rowLines[row]))
                    }
                }
            }
            perClass = columns
        }
        var score: [Double]?
        if let column = ["score", "y_score", "probability"].first(where: table.hasColumn) {
            score = try probabilities(column)
        } else if let positive, let index = classes.firstIndex(of: positive), let perClass {
            score = perClass[index]
        } else if classes.count <= 2, let positive, let column = columnClasses[positive] {
            // A binary task's `score_<positive>` alone is its positive score.
            score = try probabilities(column)
        }
        return ClassificationPredictions(
            ids: ids, truth: truth, predicted: predicted, score: score, probabilities: perClass,
            positiveLabel: classes.count > 2 ? nil : positive, classes: classes)
    }

    /// A metric's value at this version. With predictions declared, a metric they can give comes from
    /// them and only them (a metrics file cannot overrule it); a metric they cannot give has the reason.
    /// Other metrics come from the metrics files (the key itself, or the one key ending in `.metric`) and
    /// are marked self-reported.
    func value(of metric: String) throws -> MetricValue {
        if let classification {
            do {
                if let value = try ClassificationMetrics.metric(metric, classification) {
                    return .value(value, source: "predictions")
                }
            } catch let error as MetricUnavailable {
                return .unavailable(error.description)
            }
        }
        if let regression {
            if let value = RegressionMetrics.metric(metric, truth: regression.truth, predicted: regression.predicted) {
                return .value(value, source: "predictions")
            }
        }
        if let problem = predictionsProblem,
            Metric.named(metric) != nil
        {
            return .unavailable(problem)
        }
        if let value = metrics[metric]?.number { return .value(value, source: "metrics (self-reported)") }
        let candidates = metrics.filter { $0.key.hasSuffix("." + metric) && $0.value.number != nil }
        guard candidates.count <= 1 else {
            throw GitOpsMLError.configuration(
                "metric \"\(metric)\" is ambiguous: \(candidates.keys.sorted().joined(separator: ", "))")
        }
        guard let pair = candidates.first, let number = pair.value.number else {
            return notPulled.isEmpty ? .missing : .unavailable(notPulled.joined(separator: "; "))
        }
        return .value(number, source: "metrics (\(pair.key), self-reported)")
    }

    enum MetricValue {
        case value(Double, source: String)
        /// Known, but these predictions cannot give it: why.
        case unavailable(String)
        /// Neither computable nor in a metrics file.
        case missing
    }

    /// Both versions' predictions on the evaluation ids they share, in the same order; or why they cannot
    /// be paired: ids that overlap less than `minOverlap` of all ids on either side, or a shared id whose
    /// y_true differs between the two files (then the two were not scored on the same examples).
    static func paired(champion: ModelVersion, challenger: ModelVersion, minOverlap: Double) -> Result<
        PairedData, PairingProblem
    >? {
        let championIDs: [String]
        let challengerIDs: [String]
        if let a = champion.classification, let b = challenger.classification {
            (championIDs, challengerIDs) = (a.ids, b.ids)
        } else if let a = champion.regression, let b = challenger.regression {
            (championIDs, challengerIDs) = (a.ids, b.ids)
        } else {
            return nil
        }
        let common: [(challenger: Int, champion: Int)]
        if championIDs == challengerIDs {
            common = championIDs.indices.map { ($0, $0) }  // the usual case: the same file order
        } else {
            let position = Dictionary(championIDs.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
            common = challengerIDs.indices.compactMap { index in position[challengerIDs[index]].map { (index, $0) } }
        }
        let union = championIDs.count + challengerIDs.count - common.count
        guard !common.isEmpty, Double(common.count) >= minOverlap * Double(union) - 1e-9 else {
            return .failure(
                PairingProblem(
                    message:
                        "the champion scored \(championIDs.count) evaluation ids and the challenger \(challengerIDs.count); they share \(common.count) of \(union) (\(GateEvaluator.format(Double(common.count) / Double(max(union, 1)) * 100))%, checks.min_overlap is \(GateEvaluator.format(minOverlap * 100))%)"
                ))
        }
        if let a = champion.classification, let b = challenger.classification {
            if let problem = differingTruth(common, a.truth, b.truth, ids: b.ids) { return .failure(problem) }
            if common.count == a.count && common.count == b.count && championIDs == challengerIDs {
                return .success(.classification(champion: a, challenger: b))
            }
            return .success(
                .classification(
                    champion: a.subset(common.map(\.champion), keepingIDs: true),
                    challenger: b.subset(common.map(\.challenger), keepingIDs: true)))
        }
        guard let a = champion.regression, let b = challenger.regression else { return nil }
        if let problem = differingTruth(common, a.truth, b.truth, ids: b.ids) { return .failure(problem) }
        return .success(
            .regression(
                truth: common.map { b.truth[$0.challenger] }, champion: common.map { a.predicted[$0.champion] },
                challenger: common.map { b.predicted[$0.challenger] }))
    }

    /// A shared id whose y_true differs: the two files were not scored on the same examples.
    static func differingTruth<T: Equatable>(
        _ common: [(challenger: Int, champion: Int)], _ champion: [T], _ challenger: [T], ids: [String]
    ) -> PairingProblem? {
        let differing = common.filter { champion[$0.champion] != challenger[$0.challenger] }
        guard let first = differing.first else { return nil }
        return PairingProblem(
            message:
                "\(differing.count) of the \(common.count) shared evaluation ids have a different y_true in the champion's and the challenger's predictions (first: id \(ids[first.challenger]): \(champion[first.champion]) vs \(challenger[first.challenger]))"
        )
    }

    struct PairingProblem: Error { var message: String }
}
