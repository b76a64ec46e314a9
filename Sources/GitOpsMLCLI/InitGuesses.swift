import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Lineage

/// What `init` guesses about a project it has never seen, each guess with where it came from, so that the
/// configuration it writes is right on the first run or says what to set.
enum InitGuesses {
    /// Metric names the gates know, in the order a gate prefers them.
    static let knownMetrics = [
        "roc_auc", "auc", "accuracy", "f1", "avg_prec", "average_precision", "precision", "recall", "rmse", "mae",
        "r2", "log_loss",
    ]
    static let heldOut: Set<Substring> = ["test", "val", "valid", "validation", "eval", "evaluation", "holdout"]

    /// The metric the first gate compares and where it was found: the metrics files of the work tree (or
    /// the DVC cache), those files at any commit of the history, DVC experiments (`refs/exps`), dvclive's
    /// files; nil with the places looked at when no metric is anywhere.
    static func gateMetric(root: String, metricsFiles: [String], view: any FileView, stores: DataStores) -> (
        metric: String?, reason: String
    ) {
        var looked: [String] = []
        // The evaluation stage's file before the training one's.
        let files = metricsFiles.sorted { evaluationRank($0) < evaluationRank($1) }
        let outputs = ResolvedFiles(view, stores: stores, absentWhenNotCached: true)
        let dvclive = ["dvclive/metrics.json", "dvclive/eval/metrics.json"].filter { !files.contains($0) }
        for path in files + dvclive {
            guard let bytes = try? outputs.read(path), let keys = numericKeys(bytes, path: path) else { continue }
            looked.append(path)
            if let metric = choose(keys) {
                return (
                    metric,
                    "\(metric) from \(path)\(FileManager.default.fileExists(atPath: root + "/" + path) ? "" : " (in the DVC cache)")"
                )
            }
        }
        // Not in the work tree: the same files as commits and experiments hold them.
        if let repository = try? Repository(at: root) {
            let experiments = (try? repository.references(matching: "refs/exps/*")) ?? []
            var revisions = experiments.compactMap { ref in (try? repository.referenceTarget(ref)).map { ($0.hex, ref) }
            }
            let commits = (try? repository.history(from: "HEAD", paths: files + dvclive, limit: 200)) ?? []
            revisions += commits.map { ($0.id.hex, "commit \($0.id.short)") }
            for (commit, label) in revisions {
                guard let view = try? repository.fileView(.git(commit)) else { continue }
                for path in files + dvclive {
                    guard let bytes = try? view.read(path), let keys = numericKeys(bytes, path: path),
                        let metric = choose(keys)
                    else { continue }
                    return (metric, "\(metric) from \(path) at \(label)")
                }
            }
            if !commits.isEmpty || !experiments.isEmpty { looked.append("their history and refs/exps") }
        }
        let places =
            files.isEmpty
            ? "no metrics file is declared (dvc.yaml metrics:, or metrics.json)"
            : "looked in \((files + looked).joined(separator: ", "))"
        return (
            nil,
            "no metric with a known direction was found: \(places); the metrics may be in a DVC cache this clone has not pulled (`dvc pull`)"
        )
    }

    /// Every numeric key of a metrics file, flattened (`roc_auc.test`).
    static func numericKeys(_ bytes: [UInt8], path: String) -> [String]? {
        guard let parsed = try? StructuredFormat.parse(bytes, path: path) else { return nil }
        let keys = parsed.flattened().filter { $0.value.number != nil }.map(\.key)
        return keys.isEmpty ? nil : keys
    }

    /// A known metric anywhere in a dotted key, the held-out split's first; else any key whose name says
    /// its direction, held-out first.
    static func choose(_ keys: [String]) -> String? {
        func heldOutFirst(_ candidates: [String]) -> String? {
            candidates.first { !heldOut.isDisjoint(with: $0.split(separator: ".")) } ?? candidates.first
        }
        for metric in knownMetrics {
            let matching = keys.filter { key in
                key.split(separator: ".").contains {
                    $0 == metric || $0.hasSuffix("_" + metric) || $0.hasPrefix(metric + "_")
                }
            }
            if let key = heldOutFirst(matching), MetricDirection.greaterIsBetter(key) != nil { return key }
        }
        return heldOutFirst(keys.filter { MetricDirection.greaterIsBetter($0) != nil })
    }

    /// 0 for an evaluation's file, 1 for anything else, 2 for training's.
    static func evaluationRank(_ path: String) -> Int {
        let lower = path.lowercased()
        if ["eval", "test", "valid", "score"].contains(where: lower.contains) { return 0 }
        return lower.contains("train") ? 2 : 1
    }

    /// Model files: stage outputs of dvc.yaml with a model's extension (`model.pt`, a DVC output not in the
    /// work tree), then stage outputs named as models are (a `models/` folder: a SavedModel, a Keras or
    /// Hugging Face directory), then files under `model/`, `models/` and the root (three levels deep, else
    /// twelve).
    static func modelFiles(root: String, view: any FileView, project: String = "") -> [String] {
        var found: [String] = []
        var namedOutputs: [String] = []
        let prefix = project.isEmpty ? "" : project + "/"
        if let dvc = (try? DVCFile.read(prefix + "dvc.yaml", in: view)) ?? nil,
            case .object(let stages)? = dvc["stages"]
        {
            for (_, stage) in stages {
                var wdir = prefix
                if case .string(let dir)? = stage["wdir"], dir != "." { wdir = prefix + dir + "/" }
                guard case .array(let outs)? = stage["outs"] else { continue }
                for item in outs {
                    let path: String?
                    switch item {
                    case .string(let text): path = text
                    case .object(let pairs): path = pairs.first?.key
                    default: path = nil
                    }
                    guard let path, let clean = try? RepositoryPath.clean(wdir + path), !found.contains(clean)
                    else { continue }
                    if ArtifactDiff.modelExtensions.contains(where: clean.lowercased().hasSuffix) {
                        found.append(clean)
                    } else if isModelName((clean as NSString).lastPathComponent), !namedOutputs.contains(clean) {
                        namedOutputs.append(clean)
                    }
                }
            }
        }
        found += namedOutputs
        // Three levels deep; a model zoo keeps its files deeper (onnx/models: validated/vision/
        // classification/resnet/model/*.onnx), so when nothing is found there, twelve (at most 200,000 entries).
        for (folder, maxDepth) in [("model", 3), ("models", 3), ("", 3), ("", 12)].map({ (prefix + $0, $1) }) {
            if maxDepth > 3 && !found.isEmpty { break }
            let base = folder.isEmpty ? root : root + "/" + (folder.hasSuffix("/") ? String(folder.dropLast()) : folder)
            guard let walker = FileManager.default.enumerator(atPath: base) else { continue }
            var inFolder: [String] = []
            defer { found += inFolder.sorted().filter { !found.contains($0) } }
            var seen = 0
            while let entry = walker.nextObject() as? String {
                seen += 1
                if seen > 200_000 { break }
                let depth = entry.split(separator: "/").count
                if entry.split(separator: "/").contains(where: { $0.hasPrefix(".") }) || depth > maxDepth {
                    if depth > maxDepth || entry.hasPrefix(".") { walker.skipDescendants() }
                    continue
                }
                let path = folder.isEmpty ? entry : (folder.hasSuffix("/") ? folder : folder + "/") + entry
                let file = path.hasSuffix(".dvc") ? String(path.dropLast(4)) : path
                if ArtifactDiff.modelExtensions.contains(where: { file.lowercased().hasSuffix($0) }),
                    !inFolder.contains(file)
                {
                    inFolder.append(file)
                }
            }
        }
        // A file named as a model first, then one in a folder so named; data splits saved as pickles
        // (`data/X_train.pkl`) last.
        func rank(_ path: String) -> Int {
            let lower = path.lowercased()
            let parts = lower.split(separator: "/")
            let name = (parts.last.map(String.init) ?? lower)
            if ["model", "clf", "classifier", "regressor", "estimator"].contains(where: name.contains) { return 0 }
            if lower.contains("model") { return 1 }
            let isData =
                parts.dropLast().contains { $0 == "data" || $0 == "dataset" || $0 == "datasets" }
                || ["x_", "y_", "train", "test", "val", "features", "labels"].contains { name.hasPrefix($0) }
            return isData ? 3 : 2
        }
        return found.enumerated().sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(
            \.element)
    }

    /// A file or folder named as models are, without a model's extension: `model`, `models`, `best_model`,
    /// `model-v2`.
    static func isModelName(_ name: String) -> Bool {
        let stem = ((name as NSString).deletingPathExtension).lowercased()
        return stem == "model" || stem == "models" || stem.hasSuffix("_model") || stem.hasSuffix("-model")
            || stem.hasPrefix("model_") || stem.hasPrefix("model-")
    }

    /// The remote's default branch (`origin/HEAD`), else the current branch, else main; and where it came from.
    static func defaultBranch(root: String) -> (name: String, source: String) {
        if let text = try? String(contentsOfFile: root + "/.git/refs/remotes/origin/HEAD", encoding: .utf8),
            text.hasPrefix("ref: refs/remotes/origin/")
        {
            let name = text.dropFirst("ref: refs/remotes/origin/".count).trimmingCharacters(in: .whitespacesAndNewlines)
            return (name, "the remote's default branch (origin/HEAD)")
        }
        if let head = try? String(contentsOfFile: root + "/.git/HEAD", encoding: .utf8),
            head.hasPrefix("ref: refs/heads/")
        {
            let name = head.dropFirst("ref: refs/heads/".count).trimmingCharacters(in: .whitespacesAndNewlines)
            return (name, "the current branch (no origin/HEAD)")
        }
        return ("main", "no branch found")
    }

}
