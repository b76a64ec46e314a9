/// The result of one check: data, never an exception. The CLI turns failures into exit code 1.
public struct Finding: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable, Comparable {
        case pass, skip, warn, fail, error

        public static func < (a: Status, b: Status) -> Bool {
            allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
        }
    }

    /// The suites, in the order reports list them.
    public enum Suite: String, Sendable, CaseIterable {
        case policy, config, data, model, gate, deploy, code, audit
    }

    /// Stable across runs: `gate/churn/accuracy`, `model/churn/roc_auc/threshold`.
    public var id: String
    public var suite: Suite
    /// What kind of check: threshold, change, significance, junit…
    public var check: String
    public var status: Status
    /// One sentence a reviewer understands.
    public var message: String
    public var observed: StructuredValue?
    public var expected: StructuredValue?
    public var location: SourceLocation?
    /// Everything else a report may show (both values, the interval, the p-value, n, the test).
    public var details: StructuredValue?

    public init(
        id: String, suite: Suite, check: String, status: Status, message: String, observed: StructuredValue? = nil,
        expected: StructuredValue? = nil, location: SourceLocation? = nil, details: StructuredValue? = nil
    ) {
        self.id = id
        self.suite = suite
        self.check = check
        self.status = status
        self.message = message
        self.observed = observed
        self.expected = expected
        self.location = location
        self.details = details
    }
}

extension Array where Element == Finding {
    /// fail when any finding failed or errored, else pass (warnings do not fail a run).
    public var verdict: Finding.Status {
        contains { $0.status == .fail || $0.status == .error } ? .fail : .pass
    }

    public func count(_ status: Finding.Status) -> Int { lazy.filter { $0.status == status }.count }
}
