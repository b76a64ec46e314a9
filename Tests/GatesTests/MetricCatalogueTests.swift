import Foundation
import GitOpsMLCore
import Testing

@testable import Gates

/// The catalogue is the one place a metric is added: its direction must be the one a policy infers from the
/// name, and its per-example terms, where it has them, must average to the metric itself (the bootstrap's
/// fast path would otherwise judge another quantity than the one reported).
@Suite("Metric catalogue")
struct MetricCatalogueTests {
    static let binary = ClassificationPredictions(
        ids: [], truth: ["1", "0", "1", "1", "0", "0", "1", "0"], predicted: ["1", "0", "0", "1", "1", "0", "1", "0"],
        score: [0.9, 0.2, 0.4, 0.8, 0.6, 0.1, 0.7, 0.3])
    static let multiclass = ClassificationPredictions(
        ids: [], truth: ["a", "b", "c", "a", "b", "c"], predicted: ["a", "b", "b", "a", "c", "c"], score: nil,
        probabilities: [
            [0.7, 0.1, 0.2, 0.6, 0.2, 0.1], [0.2, 0.8, 0.5, 0.3, 0.3, 0.2], [0.1, 0.1, 0.3, 0.1, 0.5, 0.7],
        ],
        positiveLabel: nil)
    static let truth = [3.0, -1.5, 2.0, 7.0, 0.5]
    static let predicted = [2.5, -1.0, 2.0, 8.0, 0.0]

    @Test func namesAreUniqueAndDirectionsAreThoseAPolicyInfers() {
        #expect(Set(Metric.catalogue.map(\.name)).count == Metric.catalogue.count)
        for metric in Metric.catalogue {
            #expect(
                MetricDirection.greaterIsBetter(metric.name) == metric.greaterIsBetter,
                "\(metric.name): a gate on it would be judged in the other direction")
        }
    }

    @Test func termsAverageToTheMetric() throws {
        var checked = 0
        for metric in Metric.catalogue {
            switch (metric.computation, metric.terms) {
            case (.classification(let compute), .classification(let terms)?):
                for p in [Self.binary, Self.multiclass] {
                    guard let value = try? compute(p) else { continue }
                    let items = try #require(terms(p), "\(metric.name)")
                    #expect(abs(items.reduce(0, +) / Double(items.count) - value) < 1e-12, "\(metric.name)")
                    checked += 1
                }
            case (.regression(let compute), .regression(let terms)?):
                let items = terms(Self.truth, Self.predicted)
                let value = try #require(compute(Self.truth, Self.predicted))
                #expect(abs(items.reduce(0, +) / Double(items.count) - value) < 1e-12, "\(metric.name)")
                checked += 1
            case (_, nil): continue
            default: Issue.record("\(metric.name): terms of another task than its computation")
            }
        }
        #expect(checked >= 7)  // accuracy, error_rate, log_loss and brier on both tasks; mae, mse
    }

    @Test func everyMetricComputesWhereItsTaskAllows() {
        for name in Metric.names(.classification) {
            let value = try? ClassificationMetrics.metric(name, Self.binary)
            #expect(value != nil, "\(name) on binary predictions with scores")
        }
        for name in Metric.names(.regression) {
            #expect(RegressionMetrics.metric(name, truth: Self.truth, predicted: Self.predicted) != nil, "\(name)")
        }
        #expect(Metric.named("no_such_metric") == nil)
    }
}
