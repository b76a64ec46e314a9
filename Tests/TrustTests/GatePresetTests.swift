import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// The multiclass and regression gate presets on predictions generated here: every gate they name is
/// computable for its task, a clearly better challenger passes and a clearly worse one fails.
@Suite("Gate presets by task")
struct GatePresetTests {
    let temp = TemporaryDirectory("gate-presets")

    /// A reproducible stream of standard normal numbers (LCG and Box–Muller).
    struct Noise {
        var state: UInt64
        mutating func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Double(state >> 11) + 0.5) / Double(1 << 53)
        }
        mutating func normal() -> Double { (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
    }

    static let rows = 600

    /// Regression predictions whose errors have standard deviation `spread`.
    static func regression(spread: Double, seed: UInt64) -> String {
        var noise = Noise(state: seed)
        var truth = Noise(state: 7)
        var lines = ["id,y_true,y_pred"]
        for index in 0..<rows {
            let value = 10 + 3 * truth.normal()
            lines.append("\(index),\(value),\(value + spread * noise.normal())")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Three-class predictions giving the true class a probability around `confidence`.
    static func multiclass(confidence: Double, seed: UInt64) -> String {
        var noise = Noise(state: seed)
        var lines = ["id,y_true,y_pred,score_a,score_b,score_c"]
        let classes = ["a", "b", "c"]
        for index in 0..<rows {
            let truth = index % 3
            let p = min(0.95, max(0.05, confidence + 0.15 * noise.normal()))
            var scores = [Double](repeating: (1 - p) / 2, count: 3)
            scores[truth] = p
            let predicted = scores.indices.max { scores[$0] < scores[$1] } ?? truth
            lines.append(
                "\(index),\(classes[truth]),\(classes[predicted]),"
                    + scores.map { String(format: "%.6f", $0) }.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func verdicts(task: String, preset: String, champion: String, better: String, worse: String) throws
        -> (better: ProcessOutput, worse: ProcessOutput)
    {
        let classes = task == "classification" ? ", classes: [a, b, c]" : ""
        let directory = try makeRepository(
            in: temp.sub(preset.replacingOccurrences(of: "/", with: "-")),
            files: [
                "gitops-ml.yaml": """
                version: 1
                models:
                  m: {predictions: eval/predictions.csv, task: \(task)\(classes)}

                """,
                "policies/gates.yaml": """
                apiVersion: gitops-ml/v1
                kind: GatePolicy
                extends: builtin:\(preset)
                metadata: {name: gates}
                spec: {model: m}

                """,
                "eval/predictions.csv": champion,
            ])
        for (name, predictions) in [("better", better), ("worse", worse)] {
            try git("checkout", "-q", "-b", name, "main", in: directory)
            _ = try commitFiles(["eval/predictions.csv": predictions], message: name, in: directory)
        }
        let arguments = ["check", "--base", "main", "--suite", "gate", "--no-note", "--head"]
        return (
            try gitopsML(arguments + ["better"], in: directory), try gitopsML(arguments + ["worse"], in: directory)
        )
    }

    @Test func theRegressionPreset() throws {
        let (better, worse) = try verdicts(
            task: "regression", preset: "gates/regression", champion: Self.regression(spread: 1, seed: 1),
            better: Self.regression(spread: 0.7, seed: 2), worse: Self.regression(spread: 2, seed: 3))
        #expect(better.status == 0, "\(better.stdoutText)")
        #expect(better.stdoutText.contains("r2:") && better.stdoutText.contains("mae:"))
        #expect(worse.status == 1, "\(worse.stdoutText)")
        #expect(worse.stdoutText.contains("✘ r2:") && worse.stdoutText.contains("✘ mae:"), "\(worse.stdoutText)")
    }

    @Test func theMulticlassPreset() throws {
        let (better, worse) = try verdicts(
            task: "classification", preset: "gates/multiclass",
            champion: Self.multiclass(confidence: 0.55, seed: 1), better: Self.multiclass(confidence: 0.7, seed: 2),
            worse: Self.multiclass(confidence: 0.4, seed: 3))
        #expect(better.status == 0, "\(better.stdoutText)")
        #expect(better.stdoutText.contains("roc_auc:") && better.stdoutText.contains("brier:"))
        #expect(worse.status == 1, "\(worse.stdoutText)")
        #expect(worse.stdoutText.contains("✘ roc_auc:") && worse.stdoutText.contains("✘ brier:"), "\(worse.stdoutText)")
    }
}
