import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `check` on small repositories built here: what the predictions files say decides, labels are values,
/// directions come from the metric's name, and evidence that does not pair is an error, not a pass.
@Suite("Gate evidence end to end")
struct GateEvidenceTests {
    let temp = TemporaryDirectory("gate-evidence")

    static let config = """
        version: 1
        models:
          churn:
            metrics: metrics.json
            predictions: eval/predictions.csv
        checks:
          first_deployment: pass

        """

    static func policy(_ gates: String) -> String {
        """
        apiVersion: gitops-ml/v1
        kind: GatePolicy
        metadata: {name: gates}
        spec:
          model: churn
          gates:
        \(gates)
        """
    }

    /// 200 examples; the challenger is right on `right` of them (the champion on 150), labels written
    /// as `one`/`zero`, scores as P(1).
    static func predictions(right: Int, one: String = "1", zero: String = "0", ids: Range<Int> = 0..<200) -> String {
        var text = "id,y_true,y_pred,score\n"
        for i in ids {
            let truth = i % 3 == 0
            let correct = i < right
            let predicted = correct ? truth : !truth
            let score = predicted ? 0.6 + Double(i % 7) / 20 : 0.4 - Double(i % 5) / 20
            text += "\(i),\(truth ? one : zero),\(predicted ? one : zero),\(score)\n"
        }
        return text
    }

    func repository(champion: String, challenger: String, gates: String, metrics: String = "{}") throws -> String {
        let dir = temp.sub("repo-\(UUID().uuidString.prefix(8))")
        _ = try makeRepository(
            in: dir,
            files: [
                "gitops-ml.yaml": Self.config, "policies/gates.yaml": Self.policy(gates),
                "eval/predictions.csv": champion, "metrics.json": "{}",
            ])
        try git("checkout", "-q", "-b", "challenger", in: dir)
        try commitFiles(["eval/predictions.csv": challenger, "metrics.json": metrics], message: "challenger", in: dir)
        return dir
    }

    @Test func labelsWrittenAsFloatsOrBooleansAreTheSameClasses() throws {
        let gates = """
                - metric: f1
                  threshold: 0.5
                - metric: log_loss
                  min_absolute_change: 0.0
            """
        for (one, zero) in [("1.0", "0.0"), ("True", "False"), ("yes", "no")] {
            let dir = try repository(
                champion: Self.predictions(right: 150, one: one, zero: zero),
                challenger: Self.predictions(right: 180, one: one, zero: zero), gates: gates)
            let result = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
            #expect(result.status == 0, "\(one)/\(zero): \(result.stdoutText)\(result.stderrText)")
            // scikit-learn: f1_score on these labels is 0.8571428571428571 (challenger), 0.6666666666666666.
            #expect(result.stdoutText.contains("✔ f1 = 0.8571 meets the threshold 0.5"), "\(one): \(result.stdoutText)")
            // log_loss is lower-is-better from its name: a lower challenger passes min_absolute_change 0.
            #expect(result.stdoutText.contains("✔ log_loss: challenger"), "\(result.stdoutText)")
        }
    }

    @Test func aMetricWithoutADirectionIsAConfigurationError() throws {
        let dir = try repository(
            champion: Self.predictions(right: 150), challenger: Self.predictions(right: 160),
            gates: "    - metric: widgetness\n      min_absolute_change: 0.0\n",
            metrics: "{\"widgetness\": 3}")
        let result = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(result.status == 2)
        #expect(
            result.stderrText.contains(
                "policies/gates.yaml:7: spec.gates[0].metric: metric \"widgetness\" has no known direction"),
            "\(result.stderrText)")
    }

    @Test func headerOnlyPredictionsAreAnErrorNotAPass() throws {
        let dir = try repository(
            champion: Self.predictions(right: 150), challenger: "id,y_true,y_pred,score\n",
            gates: "    - metric: accuracy\n      threshold: 0.5\n", metrics: "{\"accuracy\": 0.99}")
        let result = try gitopsML(["check", "--base", "main", "--no-note"], in: dir)
        #expect(result.status == 1, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("eval/predictions.csv has no rows"), "\(result.stdoutText)")
        #expect(!result.stdoutText.contains("0.99"))  // the hand-written metric is not used
    }

    @Test func evidenceThatDoesNotPairIsAnError() throws {
        let gates = "    - metric: accuracy\n      significance: {test: mcnemar}\n"
        let partial = try repository(
            champion: Self.predictions(right: 150), challenger: Self.predictions(right: 190, ids: 100..<300),
            gates: gates)
        let overlap = try gitopsML(["check", "--base", "main", "--no-note"], in: partial)
        #expect(overlap.status == 1)
        #expect(overlap.stdoutText.contains("they share 100 of 300"), "\(overlap.stdoutText)")

        var relabelled = Self.predictions(right: 190)
        relabelled = relabelled.replacingOccurrences(of: "\n3,1,", with: "\n3,0,")
        let differing = try repository(champion: Self.predictions(right: 150), challenger: relabelled, gates: gates)
        let result = try gitopsML(["check", "--base", "main", "--no-note"], in: differing)
        #expect(result.status == 1)
        #expect(result.stdoutText.contains("have a different y_true"), "\(result.stdoutText)")
    }

    @Test func theMethodIsNamedInTheJSONReport() throws {
        let dir = try repository(
            champion: Self.predictions(right: 150), challenger: Self.predictions(right: 190),
            gates: "    - metric: accuracy\n      significance: {test: bootstrap, resamples: 999, seed: 7}\n")
        let result = try gitopsML(["check", "--base", "main", "--no-note", "--format", "json"], in: dir)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains("\"interval_method\": \"expanded percentile"), "\(result.stdoutText)")
        #expect(result.stdoutText.contains("\"seed\": 7"))
        #expect(result.stdoutText.contains("\"p_value_floor\": 0.00"))
    }
}
