import Check
import Foundation
import GitOpsMLCore
import Testing

@testable import Trust

/// A stored gate report is evidence only when it holds together: its verdict follows from its findings, it
/// counts them right, and it is for the commit it is attached to.
@Suite("Gate evidence")
struct GateEvidenceTests {
    static let message = "accuracy fell | <b>significantly</b>\nsee the report"

    /// A failing gate, a passing model check and a data warning.
    static func report(head: String) -> CheckReport {
        CheckReport(
            toolVersion: "test", base: nil, head: (name: "HEAD", commit: head),
            findings: [
                Finding(id: "gate/m/accuracy", suite: .gate, check: "significance", status: .fail, message: message),
                Finding(id: "model/m/auc", suite: .model, check: "threshold", status: .pass, message: "ok"),
                Finding(id: "data/train/rows", suite: .data, check: "row_count", status: .warn, message: "few rows"),
            ])
    }

    @Test func aStoredReportIsVerifiedAndOneThatContradictsItselfIsRefused() throws {
        let head = String(repeating: "a", count: 40)
        let text = Self.report(head: head).jsonText
        let claim = try GateEvidence.verify(Array(text.utf8), commit: head)
        #expect(claim.verdict == .fail)
        #expect(claim.findings == 3)
        #expect(claim.gates == [.init(check: "significance", status: .fail, message: Self.message)])

        // The same report claiming to pass: its own findings say otherwise.
        let forged = text.replacingOccurrences(of: "\"verdict\": \"fail\"", with: "\"verdict\": \"pass\"")
        #expect(forged != text)
        let refused = try #require(throws: GateEvidence.Refusal.self) {
            try GateEvidence.verify(Array(forged.utf8), commit: head)
        }
        #expect(refused.description.hasSuffix("says pass, but its own findings make it fail"), "\(refused)")

        // A report for another commit does not count for this one.
        let other = String(repeating: "b", count: 40)
        let elsewhere = try #require(throws: GateEvidence.Refusal.self) {
            try GateEvidence.verify(Array(text.utf8), commit: other)
        }
        #expect(elsewhere.description.contains("was made for aaaaaaaaaaaa, not for this commit"))

        // A summary that does not count the findings.
        let miscounted = text.replacingOccurrences(of: "\"pass\": 1", with: "\"pass\": 2")
        #expect(miscounted != text)
        #expect(throws: GateEvidence.Refusal.self) {
            try GateEvidence.verify(Array(miscounted.utf8), commit: head)
        }
    }
}
