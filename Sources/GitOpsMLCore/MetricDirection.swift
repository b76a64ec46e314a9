/// Whether a larger value of a metric is better, inferred from its name the way a reader would: the
/// last component of a dotted key that says (`eval.val_loss` → `val_loss`; DVC's `roc_auc.test` → `roc_auc`,
/// since `test` says nothing), cut into words at `_`, `-`, `/` and spaces; scikit-learn's `neg_` scorers are higher-is-better. A word that names an error or a loss makes it lower-is-better; a word that names a score
/// (accuracy, f1, auc…) makes it higher-is-better; both, or neither, leave it unknown (nil), and a gate
/// on such a metric must say `greater_is_better` itself.
public enum MetricDirection {
    public static func greaterIsBetter(_ metric: String) -> Bool? {
        for component in metric.split(separator: ".").reversed() {
            if let known = direction(String(component).lowercased()) { return known }
        }
        return nil
    }

    static func direction(_ name: String) -> Bool? {
        if let known = exact[name] { return known }
        let words = name.split(whereSeparator: { "_-/ ".contains($0) }).map(String.init)
        // scikit-learn's scorers negate losses so that greater is better (`neg_log_loss`, and
        // `test_neg_mean_squared_error` in cross-validation results): greater is better by construction.
        if let negated = words.firstIndex(of: "neg") {
            let rest = words[(negated + 1)...].joined(separator: "_")
            return rest.isEmpty ? nil : direction(rest).map { !$0 } ?? true
        }
        let lower = words.contains { word in lowerWords.contains(word) || lowerPrefixes.contains(where: word.hasPrefix)
        }
        let higher = words.contains { word in
            higherWords.contains(word) || higherPrefixes.contains(where: word.hasPrefix)
        }
        switch (lower, higher) {
        case (true, false): return false
        case (false, true): return true
        default: return nil
        }
    }

    /// Whole names whose words alone would mislead or say nothing.
    static let exact: [String: Bool] = [
        "error_rate": false, "r2": true, "explained_variance": true, "max_error": false, "map": true,
        "mean_average_precision": true, "average_precision": true, "pr_auc": true, "roc_auc": true,
        "false_positive_rate": false, "false_negative_rate": false, "true_positive_rate": true,
        "true_negative_rate": true, "miss_rate": false, "fall_out": false, "d2_absolute_error_score": true,
    ]

    static let lowerWords: Set<String> = [
        "loss", "logloss", "error", "errors", "err", "mae", "mse", "rmse", "msle", "rmsle", "mape", "smape",
        "mdape", "wape", "brier", "nll", "deviance", "perplexity", "hinge", "latency", "fpr", "fnr", "ece",
        "mce", "wer", "cer", "ter", "crossentropy", "entropy", "misclassification", "regret", "eer",
    ]
    static let lowerPrefixes = ["loss", "error", "latency", "brier"]

    static let higherWords: Set<String> = [
        "accuracy", "acc", "precision", "recall", "auc", "auroc", "auprc", "roc", "ap", "r2", "specificity",
        "sensitivity", "tpr", "tnr", "mcc", "kappa", "matthews", "ndcg", "mrr", "map", "bleu", "meteor",
        "chrf", "cider", "spice", "jaccard", "gini", "lift", "gain", "hit", "hits", "coverage", "throughput",
        "sharpe", "fbeta", "top1", "top5", "similarity", "agreement", "psnr", "ssim",
    ]
    static let higherPrefixes = [
        "f1", "f2", "f0", "dice", "iou", "miou", "rouge", "ndcg", "hit", "precision", "recall", "accuracy",
    ]
}
