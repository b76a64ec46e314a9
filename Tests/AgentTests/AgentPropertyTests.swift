import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Agent

/// A property over hostile release records: with `verify: ssh`, whatever an unverified commit writes into
/// any field of a release record (shell code, paths out, YAML breaking out, fake digests, other models),
/// hidden or not under a signed commit, the agent applies nothing, what ran keeps running, and nothing
/// the record says is ever run. Records an allowed signer wrote with the same hostile fields may be
/// applied or refused, but never run as code. Seeded: `GITOPS_ML_FUZZ_SEED` replays a failure.
@Suite("Agent property: no unverified change is applied", .serialized)
struct AgentPropertyTests {
    static let hostile = [
        "v9; touch PWNED; echo", "$(touch PWNED)", "`touch PWNED`", "../../../../tmp/PWNED", "v1.0.0\nimage: evil",
        "\"quoted\" 'and' \\ back", "{{ nope }}", "${{ secrets.TOKEN }}", String(repeating: "A", count: 10_000),
        "\u{202E}reversed", "-rf", "", "v1.0.0+build.7", "0123456789abcdef0123456789abcdef01234567",
        "sha256:" + String(repeating: "0", count: 64), "/etc/passwd", "model/../../../../etc/passwd", "fraud",
        "local\nkind: Secret", "v2.0.0",
    ]

    /// The record with one to three fields replaced by hostile values.
    static func mutate(_ record: ReleaseRecord, _ random: inout SeededRandom) -> (ReleaseRecord, [String]) {
        var record = record
        var changed: [String] = []
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let value = hostile.randomElement(using: &random) ?? ""
            let field =
                ["version", "source_commit", "artifact.path", "artifact.digest", "model", "image", "data"]
                .randomElement(using: &random) ?? "version"
            switch field {
            case "version": record.version = value
            case "source_commit": record.sourceCommit = value
            case "artifact.path": record.artifactPath = value
            case "artifact.digest": record.artifactDigest = value
            case "model": record.model = value
            case "image": record.image = value
            default: record.data[value.isEmpty ? "d" : String(value.prefix(40))] = value
            }
            changed.append("\(field)=\(value.prefix(40).debugDescription)")
        }
        return (record, changed)
    }

    @Test func noUnverifiedReleaseRecordIsEverApplied() throws {
        let seed =
            ProcessInfo.processInfo.environment["GITOPS_ML_FUZZ_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 0...UInt64.max)
        var random = SeededRandom(seed: seed)
        let signed = try AgentVerificationTests.Signed("property")
        let fixture = signed.fixture
        try fixture.promote("main", version: "v1.0.0")
        let first = try signed.sign()
        #expect(signed.agent.pass()["local"] == .applied(first))
        let path = ReleaseRecord.path(environment: "local", model: "churn")
        let good = try ReleaseRecord.parse(
            Array(try git("show", "\(first):\(path)", in: fixture.work).utf8), file: path)

        for index in 0..<24 {
            // Back to what the agent applied, then one hostile commit: unsigned, or by a key not allowed,
            // and half the time under a signed commit that changes nothing the agent reads.
            try git("reset", "-q", "--hard", first, in: fixture.work)
            try run(["git", "push", "-q", "-f", "origin", "HEAD:gitops"], in: fixture.work)
            let (record, changed) = Self.mutate(good, &random)
            try write(record.yaml, to: path, in: fixture.work)
            try git("add", "-A", in: fixture.work)
            try git("commit", "-q", "--allow-empty", "-m", "Hostile \(index)", in: fixture.work)
            if index % 3 == 2 { try signed.sign(with: "stranger") }
            try run(["git", "push", "-q", "-f", "origin", "HEAD:gitops"], in: fixture.work)
            if index % 2 == 1 { try signed.signedCommitOnTop() }
            let result = signed.agent.pass()["local"]
            let context =
                "seed \(seed), case \(index): \(changed.joined(separator: ", ")) → \(String(describing: result))"
            if case .applied? = result { Issue.record("applied an unverified record: \(context)") }
            if case .rolledBack? = result { Issue.record("acted on an unverified record: \(context)") }
            #expect(signed.agent.state.environments["local"]?.lastApplied == first, "\(context)")
            #expect(fixture.serving() == "v1.0.0", "\(context)")
        }

        // The same hostile fields from an allowed signer: judged, perhaps refused, never run as code.
        for index in 0..<6 {
            let applied = signed.agent.state.environments["local"]?.lastApplied ?? first
            try git("reset", "-q", "--hard", applied, in: fixture.work)
            try run(["git", "push", "-q", "-f", "origin", "HEAD:gitops"], in: fixture.work)
            let (record, changed) = Self.mutate(good, &random)
            try write(record.yaml, to: path, in: fixture.work)
            try git("add", "-A", in: fixture.work)
            try git("commit", "-q", "--allow-empty", "-m", "Signed hostile \(index)", in: fixture.work)
            try signed.sign()
            let result = signed.agent.pass()["local"]
            let context =
                "seed \(seed), signed case \(index): \(changed.joined(separator: ", ")) → \(String(describing: result))"
            let serving = fixture.serving()
            #expect(serving.map { SemVer($0) != nil } ?? true, "\(context): serving \(serving ?? "nothing")")
        }
        let found = try run(["find", fixture.temp.path, "-name", "PWNED"])
        #expect(found.isEmpty, "a record's field ran as a command (seed \(seed)): \(found)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/PWNED"), "seed \(seed)")
    }
}
