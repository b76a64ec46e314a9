import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Check
@testable import Config

/// A predictions file read as scikit-learn users write it: a binary task's `score_<positive>` column alone
/// is its score, and a label pandas reads as missing is missing, never a class (reference values from
/// Tests/Reference/make_pandas_reference.py).
@Suite("Predictions files")
struct PredictionsReadingTests {
    nonisolated(unsafe) static let reference = referenceFixture("predictions_reference", in: Bundle.module)

    func version(_ csv: String) throws -> ModelVersion {
        let model = ProjectConfig.Model(
            name: "m", artifact: nil, metrics: nil, predictions: "eval/predictions.csv", task: .classification,
            serving: ProjectConfig.Serving())
        return try ModelVersion.parse(
            ModelVersion.Files(
                model: model, metrics: [], predictions: ("eval/predictions.csv", Array(csv.utf8)),
                revisionName: "HEAD", sliceBy: nil))
    }

    @Test func aPositiveScoreColumnAloneIsTheScore() throws {
        let item = try #require(Self.reference["score_of_positive_only"] as? [String: Any])
        let truth = try #require(item["truth"] as? [Int])
        let predicted = try #require(item["predicted"] as? [Int])
        let score = try #require(item["score_1"] as? [Double])
        let csv =
            "id,y_true,y_pred,score_1\n"
            + truth.indices.map { "\($0),\(truth[$0]),\(predicted[$0]),\(score[$0])" }.joined(separator: "\n") + "\n"
        let version = try version(csv)
        for metric in ["roc_auc", "pr_auc", "log_loss", "brier"] {
            guard case .value(let ours, _) = try version.value(of: metric) else {
                Issue.record("\(metric): \(try version.value(of: metric))")
                continue
            }
            let theirs = try #require(item[metric] as? Double)
            #expect(
                abs(ours - theirs) <= 1e-12 * max(1, abs(theirs)), "\(metric): ours \(ours), scikit-learn \(theirs)")
        }
    }

    /// `NA` (or `null`, `n/a`…) in y_true is what pandas reads as NaN: the metrics are unavailable with the
    /// line named, where it used to become a third class of a binary task.
    @Test func aMissingLabelIsNotAClass() throws {
        let version = try version("id,y_true,y_pred\n1,1,1\n2,0,0\n3,NA,1\n4,1,0\n")
        #expect(version.classification == nil)
        let problem = try #require(version.predictionsProblem)
        #expect(problem.contains("eval/predictions.csv:4: y_true is missing (\"NA\")"), "\(problem)")
        guard case .unavailable(let reason) = try version.value(of: "accuracy") else {
            Issue.record("accuracy must be unavailable")
            return
        }
        #expect(reason.contains("a missing label is not a class"))
    }
}
