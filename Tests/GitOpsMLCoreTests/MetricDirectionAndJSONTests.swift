import Dispatch
import Foundation
import GitOpsMLCore
import Testing

@Suite("Metric directions from their names")
struct MetricDirectionTests {
    @Test(arguments: [
        "accuracy", "balanced_accuracy", "precision", "recall_macro", "f1", "f1_weighted", "roc_auc", "pr_auc", "r2",
        "dice_score", "iou", "mean_iou", "eval.accuracy", "ndcg@10", "top5_accuracy", "average_precision",
    ])
    func higherIsBetter(name: String) { #expect(MetricDirection.greaterIsBetter(name) == true, "\(name)") }

    @Test(arguments: [
        "log_loss", "brier", "brier_score", "error_rate", "mae", "mse", "rmse", "mape", "val_loss", "eval.log_loss",
        "mean_absolute_error", "latency_p99", "perplexity", "cross_entropy",
    ])
    func lowerIsBetter(name: String) { #expect(MetricDirection.greaterIsBetter(name) == false, "\(name)") }

    @Test(arguments: ["widgetness", "throughput_loss_ratio_accuracy", "count", "accuracy_loss"])
    func unknownOrContradictoryNamesHaveNoDirection(name: String) {
        #expect(MetricDirection.greaterIsBetter(name) == nil, "\(name)")
    }
}

@Suite("Strict JSON")
struct StrictJSONTests {
    @Test func nonFiniteNumbersBecomeStrings() throws {
        let value = StructuredValue.object([
            ("chi2", .double(.infinity)), ("p", .array([.double(.nan), .double(-.infinity), .double(0.5)])),
        ])
        let text = value.strictJSON.json()
        #expect(text == #"{"chi2": "Infinity", "p": ["NaN", "-Infinity", 0.5]}"#)
        #expect(try JSONSerialization.jsonObject(with: Data(text.utf8)) is [String: Any])
    }
}

@Suite("Children spawned at once")
struct ConcurrentChildrenTests {
    /// A short child's output ends when it exits, even while long children spawned from other threads at
    /// the same moment are still running: they must not have inherited its pipe.
    @Test func pipesDoNotLeakIntoOtherChildren() {
        let quick = Mutex<[Double]>([])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let started = Date()
            do {
                if index % 2 == 0 {
                    let slow = try Subprocess.run(["sleep", "20"])
                    if slow.status != 0 { failures.withLock { $0.append("sleep exited \(slow.status)") } }
                } else {
                    let output = try Subprocess.run(["sh", "-c", "echo quick"])
                    guard output.status == 0, output.stdoutText == "quick\n" else {
                        failures.withLock { $0.append("echo: \(output.status) \(output.stdoutText.debugDescription)") }
                        return
                    }
                    let seconds = Date().timeIntervalSince(started)
                    quick.withLock { $0.append(seconds) }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        // The four quick children all finished, each long before the 20 s sleepers they ran beside (an
        // inherited pipe would hold a quick child's output open until a sleeper ends: 20 s at least).
        #expect(quick.withLock { $0.count } == 4)
        #expect((quick.withLock { $0.max() } ?? .infinity) < 15, "a quick child's output waited for a slow one")
    }
}
