import Config
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Trust

/// PromotionPolicy rules on repositories built here: promotion commits written with their trailers at
/// chosen times, the agent's deployment notes, rollback commits, signed commits and approvals. Each rule is
/// shown failing and passing.
@Suite("Promotion rules")
struct PromotionRulesTests {
    let temp = TemporaryDirectory("promotion-rules")

    static let config = """
        version: 1
        project: p
        default_branch: main
        models:
          m: {artifact: model.json}
        environments:
          staging: {branch: gitops, namespace: p-staging}
          production: {branch: gitops, namespace: p-production}

        """

    struct Fixture {
        var directory: String
        var repository: Repository
        var source: ObjectID
        var config: ProjectConfig
    }

    /// main with gitops-ml.yaml and `policy` (policies/promotion.yaml), and a source commit.
    func fixture(policy: String, files: [String: String] = [:]) throws -> Fixture {
        let directory = try makeRepository(
            in: temp.sub("repo"),
            files: ["gitops-ml.yaml": Self.config, "policies/promotion.yaml": policy, "model.json": "{}"]
                .merging(files) { $1 })
        let repository = try Repository(at: directory)
        return Fixture(
            directory: directory, repository: repository, source: try repository.resolve("HEAD"),
            config: try ProjectConfig.parse(Array(Self.config.utf8)))
    }

    /// A promotion commit on `gitops` at `time`, as `promote` writes it.
    @discardableResult
    func promote(
        _ fixture: Fixture, to environment: String, version: String = "v1", at time: Date = Date(),
        sign: CommitSigner? = nil
    ) throws -> ObjectID {
        let record = ReleaseRecord(
            model: "m", environment: environment, version: version, sourceCommit: fixture.source.hex)
        let message =
            "promote(m): \(version) to \(environment)\n\n"
            + [
                Trailer.line(Trailer.model, "m"), Trailer.line(Trailer.version, version),
                Trailer.line(Trailer.environment, environment),
                Trailer.line(Trailer.sourceCommit, fixture.source.hex),
            ].joined(separator: "\n") + "\n"
        return try commitOnGitops(
            fixture,
            [
                FileChange(
                    path: ReleaseRecord.path(environment: environment, model: "m"), contents: Array(record.yaml.utf8))
            ], message: message, time: time, sign: sign)
    }

    /// A commit on `gitops` with `changes`, made at `time`, signed with `sign`.
    func commitOnGitops(
        _ fixture: Fixture, _ changes: [FileChange], message: String, time: Date = Date(), sign: CommitSigner? = nil
    ) throws -> ObjectID {
        let parent = try fixture.repository.referenceTarget("refs/heads/gitops")
        let commit = try #require(
            try fixture.repository.writeCommit(
                parent: parent, changes: changes, message: message,
                author: GitSignature(name: "Promoter", email: "p@example.com", time: time),
                sign: sign.map { signer in { try signer.sign($0) } }))
        try fixture.repository.updateReference("refs/heads/gitops", to: commit, expected: parent)
        return commit
    }

    func violations(
        _ fixture: Fixture, at time: Date, signature: PromotionRules.Signature = .signer(nil),
        promotionCommit: ObjectID? = nil
    ) throws -> [PromotionRules.Violation] {
        let main = try fixture.repository.resolve("main")
        let rules = try PromotionRules.inForce(
            environmentTip: try fixture.repository.referenceTarget("refs/heads/gitops"),
            repository: fixture.repository, defaultConfig: fixture.config,
            defaultFiles: try fixture.repository.fileView(.git(main.hex)), defaultSource: "main")
        let subject = PromotionRules.Subject(
            model: "m", environment: "production", sourceCommit: fixture.source, time: time,
            promotionCommit: promotionCommit, signature: signature)
        return try PromotionRules.evaluate(
            subject, rules: rules,
            history: try PromotionHistory.read(config: fixture.config, repository: fixture.repository),
            repository: fixture.repository)
    }

    static func policy(_ production: String, timezone: String = "UTC") -> String {
        """
        apiVersion: gitops-ml/v1
        kind: PromotionPolicy
        metadata: {name: promotion}
        spec:
          timezone: \(timezone)
          environments:
            production:
        \(production.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))

        """
    }

    @Test func productionWaitsForTheStagingSoakAndARollbackThereStopsIt() throws {
        let agent = try key("agent")
        let fixture = try fixture(
            policy: Self.policy("after: [staging]\nsoak: 24h\nagents: .gitops-ml/agents"),
            files: [".gitops-ml/agents": agent.line])
        let now = Date()
        #expect(try violations(fixture, at: now).map(\.rule) == ["after"], "never promoted to staging")

        let staging = try promote(fixture, to: "staging", at: now)
        let noted = try violations(fixture, at: now.addingTimeInterval(60))
        #expect(noted.map(\.rule) == ["soak"])
        #expect(noted.first?.message.contains("no healthy deployment") == true)

        let healthy = now.addingTimeInterval(120)
        try DeploymentNotes.append(
            DeploymentRecord(
                environment: "staging", target: "local", commit: staging.hex, started: now, finished: healthy,
                outcome: .healthy, checks: [], agent: "test"), in: fixture.repository, signer: .ssh(key: agent.path))
        let early = try violations(fixture, at: healthy.addingTimeInterval(2 * 3600))
        #expect(early.map(\.rule) == ["soak"])
        #expect(early.first?.message.contains("for 2h 0m of 1d") == true, "\(early)")
        #expect(try violations(fixture, at: healthy.addingTimeInterval(25 * 3600)).isEmpty, "soaked: allowed")

        // Rolled back in staging since: not allowed, however long ago it was healthy.
        _ = try commitOnGitops(
            fixture, [FileChange(path: "environments/staging/m.yaml", contents: nil)],
            message: "Roll back m in staging\n\n\(Trailer.line(Trailer.environment, "staging"))\n"
                + "\(Trailer.line(Trailer.rollbackOf, staging.hex))\n")
        let rolledBack = try violations(fixture, at: healthy.addingTimeInterval(25 * 3600))
        #expect(rolledBack.map(\.rule) == ["soak"])
        #expect(rolledBack.first?.message.contains("rolled back in staging") == true)
    }

    /// Only what an allowed agent signed is a deployment: an unsigned note, a note signed by another key,
    /// and an unsigned rewrite carried over by a signed notes commit on top are not.
    @Test func soakCountsOnlyDeploymentNotesThatAnAllowedAgentWrote() throws {
        let agent = try key("agent")
        let stranger = try key("stranger")
        let fixture = try fixture(
            policy: Self.policy("after: [staging]\nsoak: 24h\nagents: .gitops-ml/agents"),
            files: [".gitops-ml/agents": agent.line])
        let start = Date().addingTimeInterval(-48 * 3600)
        let staging = try promote(fixture, to: "staging", at: start)
        func record(_ outcome: DeploymentRecord.Outcome, finished: Date) -> DeploymentRecord {
            DeploymentRecord(
                environment: "staging", target: "local", commit: staging.hex, started: start, finished: finished,
                outcome: outcome, checks: [], agent: "agent")
        }
        let old = start.addingTimeInterval(60)
        try DeploymentNotes.append(record(.healthy, finished: old), in: fixture.repository)
        #expect(try violations(fixture, at: Date()).map(\.rule) == ["soak"], "an unsigned note")
        try DeploymentNotes.append(
            record(.healthy, finished: old.addingTimeInterval(1)), in: fixture.repository,
            signer: .ssh(key: stranger.path))
        #expect(try violations(fixture, at: Date()).map(\.rule) == ["soak"], "signed by a key not in agents")

        // A failed deployment the agent signed, rewritten to healthy by an unsigned notes commit, then
        // carried over by the agent's next signed append: the rewrite does not count.
        try DeploymentNotes.append(
            record(.failed, finished: old.addingTimeInterval(2)), in: fixture.repository, signer: .ssh(key: agent.path))
        let forged = try DeploymentNotes.records(for: staging, in: fixture.repository).map { record in
            var record = record
            record.outcome = .healthy
            return record
        }
        try fixture.repository.setNote(
            try DeploymentNotes.encode(forged), for: staging, ref: DeploymentNotes.ref)
        try DeploymentNotes.append(
            record(.failed, finished: Date().addingTimeInterval(-60)), in: fixture.repository,
            signer: .ssh(key: agent.path))
        let carried = try violations(fixture, at: Date())
        #expect(carried.map(\.rule) == ["soak"], "\(carried)")
        #expect(carried.first?.message.contains("no healthy deployment") == true, "\(carried)")

        // The agent's own healthy record a day ago counts.
        try DeploymentNotes.append(
            record(.healthy, finished: Date().addingTimeInterval(-25 * 3600)), in: fixture.repository,
            signer: .ssh(key: agent.path))
        #expect(try violations(fixture, at: Date()).isEmpty)
    }

    /// `audit --allowed-signers` verifies every deployment notes commit: an unsigned rewrite under the
    /// agent's signed tip is reported by its commit.
    @Test func auditChecksEveryDeploymentNotesCommitNotOnlyTheTip() throws {
        let agent = try key("agent")
        let fixture = try fixture(policy: Self.policy("max_per_day: 10"))
        let staging = try promote(fixture, to: "staging", sign: .ssh(key: agent.path))
        let record = DeploymentRecord(
            environment: "staging", target: "local", commit: staging.hex, started: Date(), finished: Date(),
            outcome: .healthy, checks: [], agent: "agent")
        try DeploymentNotes.append(record, in: fixture.repository, signer: .ssh(key: agent.path))
        try DeploymentNotes.append(record, in: fixture.repository)
        let unsigned = try #require(try fixture.repository.referenceTarget(DeploymentNotes.ref))
        try DeploymentNotes.append(record, in: fixture.repository, signer: .ssh(key: agent.path))
        try agent.line.write(toFile: temp.path + "/agents", atomically: true, encoding: .utf8)

        func notesFindings() throws -> [String: String] {
            let audit = try gitopsML(
                ["audit", "--env", "staging", "--allowed-signers", temp.path + "/agents", "--format", "json"],
                in: fixture.directory)
            let object = try JSONSerialization.jsonObject(with: Data(audit.stdout)) as? [String: Any]
            var found: [String: String] = [:]
            for finding in object?["findings"] as? [[String: Any]] ?? []
            where (finding["message"] as? String)?.contains("deployment notes") == true {
                found[finding["commit"] as? String ?? ""] = finding["status"] as? String
            }
            return found
        }
        #expect(try notesFindings() == [unsigned.hex: "fail"])
    }

    /// A property over deployment notes: whatever an unsigned or unallowed notes commit writes (every field
    /// hostile, healthy long ago), and however an allowed agent's signed commit carries it over afterwards,
    /// soak is never satisfied by it. Seeded by the case number, so a failure names its case.
    @Test func noDeploymentNoteAnAgentDidNotWriteSatisfiesSoak() throws {
        let agent = try key("agent")
        let stranger = try key("stranger")
        let fixture = try fixture(
            policy: Self.policy("after: [staging]\nsoak: 1h\nagents: .gitops-ml/agents"),
            files: [".gitops-ml/agents": agent.line])
        let start = Date().addingTimeInterval(-30 * 86400)
        let staging = try promote(fixture, to: "staging", at: start)
        let strings = [
            "staging", "production", "local", "kubernetes", "", "../../x", "$(touch PWNED)", "healthy",
            String(repeating: "A", count: 5000), "\u{202E}x", staging.hex, String(repeating: "0", count: 40),
        ]
        for index in 0..<24 {
            let pick = { (offset: Int) in strings[(index * 7 + offset * 3) % strings.count] }
            let record = DeploymentRecord(
                environment: index % 4 == 0 ? pick(1) : "staging", target: pick(2), commit: staging.hex,
                started: start.addingTimeInterval(Double(index)), finished: start.addingTimeInterval(Double(index)),
                outcome: .healthy, checks: [CheckOutcome(name: pick(3), status: pick(4), reason: pick(5))],
                restored: index % 5 == 0 ? pick(6) : nil, agent: pick(7))
            switch index % 3 {
            case 0: try DeploymentNotes.append(record, in: fixture.repository)
            case 1: try DeploymentNotes.append(record, in: fixture.repository, signer: .ssh(key: stranger.path))
            default:
                // Unsigned, then carried over by the agent's own signed append of a failure.
                try DeploymentNotes.append(record, in: fixture.repository)
                try DeploymentNotes.append(
                    DeploymentRecord(
                        environment: "staging", target: "local", commit: staging.hex, started: Date(), finished: Date(),
                        outcome: .failed, checks: [], agent: "agent"), in: fixture.repository,
                    signer: .ssh(key: agent.path))
            }
            let broken = try violations(fixture, at: Date())
            #expect(broken.map(\.rule) == ["soak"], "case \(index): \(record) satisfied soak")
        }
    }

    @Test func soakWithoutAnAgentsFileIsNeverSatisfied() throws {
        let fixture = try fixture(policy: Self.policy("after: [staging]\nsoak: 1h"))
        let start = Date().addingTimeInterval(-48 * 3600)
        let staging = try promote(fixture, to: "staging", at: start)
        try DeploymentNotes.append(
            DeploymentRecord(
                environment: "staging", target: "local", commit: staging.hex, started: start, finished: start,
                outcome: .healthy, checks: [], agent: "agent"), in: fixture.repository)
        let refused = try violations(fixture, at: Date())
        #expect(refused.map(\.rule) == ["soak"])
        #expect(refused.first?.message.contains("name the agents' allowed-signers file in `agents:`") == true)
    }

    /// `after` counts commits that write the earlier environment's release record, signed as that
    /// environment's rules ask: an empty commit with promotion trailers is not a promotion.
    @Test func afterCountsOnlyCommitsThatWriteTheReleaseRecordSignedAsAsked() throws {
        let releaser = try key("releaser")
        let fixture = try fixture(
            policy: Self.policy("after: [staging]").replacingOccurrences(
                of: "    production:\n",
                with: "    staging:\n      signers: .gitops-ml/releasers\n    production:\n"),
            files: [".gitops-ml/releasers": releaser.line])
        let trailers = [
            Trailer.line(Trailer.model, "m"), Trailer.line(Trailer.version, "v1"),
            Trailer.line(Trailer.environment, "staging"), Trailer.line(Trailer.sourceCommit, fixture.source.hex),
        ].joined(separator: "\n")
        let empty = try commitOnGitops(
            fixture, [FileChange(path: "README", contents: Array("x".utf8))],
            message: "promote(m): v1 to staging\n\n\(trailers)\n", sign: .ssh(key: releaser.path))
        let forged = try violations(fixture, at: Date())
        #expect(forged.map(\.rule) == ["after"])
        #expect(
            forged.first?.message.contains("\(empty.short) does not write environments/staging/m.yaml") == true,
            "\(forged)")

        let unsigned = try promote(fixture, to: "staging")
        let notSigned = try violations(fixture, at: Date())
        #expect(notSigned.map(\.rule) == ["after"])
        #expect(notSigned.first?.message.contains("\(unsigned.short): the promotion commit must be signed") == true)

        try promote(fixture, to: "staging", version: "v2", sign: .ssh(key: releaser.path))
        #expect(try violations(fixture, at: Date()).isEmpty)
    }

    @Test func freezeWindowsFollowTheTimeZoneAndDaysAreCountedThere() throws {
        let fixture = try fixture(
            policy: Self.policy(
                """
                freeze:
                  - {days: [sat, sun], reason: weekend}
                  - {days: [fri], from: "16:00", to: "24:00", reason: Friday afternoon}
                max_per_day: 1
                """, timezone: "Europe/Berlin"))
        func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
        let saturday = try violations(fixture, at: at("2026-11-28T12:00:00Z"))
        #expect(saturday.map(\.rule) == ["freeze"])
        #expect(saturday.first?.message.contains("weekend") == true)
        #expect(saturday.first?.location.line != nil)
        // 15:30 UTC is 16:30 in Berlin: frozen; 14:30 UTC is 15:30 there: not.
        #expect(try violations(fixture, at: at("2026-11-27T15:30:00Z")).map(\.rule) == ["freeze"])
        #expect(try violations(fixture, at: at("2026-11-27T14:30:00Z")).isEmpty)
        #expect(try violations(fixture, at: at("2026-11-30T09:00:00Z")).isEmpty)

        // One promotion to production on Monday already: a second that day is refused, not the next day.
        let first = try promote(fixture, to: "production", at: at("2026-11-30T08:00:00Z"))
        #expect(try violations(fixture, at: at("2026-11-30T09:00:00Z")).map(\.rule) == ["max-per-day"])
        #expect(try violations(fixture, at: at("2026-11-30T09:00:00Z"), promotionCommit: first).isEmpty)
        // 23:30 UTC on Monday is already Tuesday in Berlin.
        #expect(try violations(fixture, at: at("2026-11-30T23:30:00Z")).isEmpty)
    }

    func key(_ name: String) throws -> (path: String, line: String) {
        let path = temp.path + "/" + name
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
        let publicKey = try String(contentsOfFile: path + ".pub", encoding: .utf8)
        return (path, "\(name)@example.com \(publicKey)")
    }

    @Test func aPromotionCommitMustBeSignedByAnAllowedSigner() throws {
        let releaser = try key("releaser")
        let stranger = try key("stranger")
        let fixture = try fixture(
            policy: Self.policy("signers: .gitops-ml/releasers"), files: [".gitops-ml/releasers": releaser.line])
        let unsigned = try promote(fixture, to: "production")
        let refused = try violations(fixture, at: Date(), signature: .commit(unsigned))
        #expect(refused.map(\.rule) == ["signature"])
        #expect(refused.first?.message.contains("not signed") == true, "\(refused)")
        let byStranger = try promote(fixture, to: "production", version: "v2", sign: .ssh(key: stranger.path))
        #expect(try violations(fixture, at: Date(), signature: .commit(byStranger)).map(\.rule) == ["signature"])
        let signed = try promote(fixture, to: "production", version: "v3", sign: .ssh(key: releaser.path))
        #expect(try violations(fixture, at: Date(), signature: .commit(signed)).isEmpty)

        // Before the commit exists (`promote`): the key it will be signed with.
        #expect(try violations(fixture, at: Date(), signature: .signer(nil)).map(\.rule) == ["signature"])
        #expect(
            try violations(fixture, at: Date(), signature: .signer(.ssh(key: stranger.path))).map(\.rule)
                == ["signature"])
        #expect(try violations(fixture, at: Date(), signature: .signer(.ssh(key: releaser.path))).isEmpty)
    }

    @Test func approvalsAreSignedNotesByDistinctAllowedReviewers() throws {
        let alice = try key("alice")
        let bob = try key("bob")
        let mallory = try key("mallory")
        let fixture = try fixture(
            policy: Self.policy("approvals: {count: 2, signers: .gitops-ml/reviewers}"),
            files: [".gitops-ml/reviewers": alice.line + bob.line])
        let missing = try violations(fixture, at: Date())
        #expect(missing.map(\.rule) == ["approvals"])
        #expect(missing.first?.message.contains("0 of 2 approvals") == true)

        func approve(_ signer: (path: String, line: String), environment: String = "production") throws {
            let result = try gitopsML(
                [
                    "approve", "m", "--env", environment, "--rev", fixture.source.hex, "--sign", "ssh",
                    "--signing-key", signer.path,
                ], in: fixture.directory)
            #expect(result.status == 0, "\(result.stderrText)")
        }
        try approve(alice)
        try approve(alice)  // the same reviewer twice counts once
        try approve(mallory)  // not a reviewer
        try approve(bob, environment: "staging")  // another environment
        // Bob's signed approval of another model at the same commit, for the same environment.
        try fixture.repository.setNote(
            "approved fraud for production by bob\n", for: fixture.source, ref: Approvals.ref,
            sign: { try CommitSigner.ssh(key: bob.path).sign($0) },
            commitMessage: Approvals.message(
                model: "fraud", environment: "production", source: fixture.source, reviewer: "bob@example.com"))
        let short = try violations(fixture, at: Date())
        #expect(
            short.first?.message.contains("1 of 2 approvals by allowed approvers (alice@example.com)") == true,
            "\(short)")
        #expect(short.first?.message.contains("not an allowed signer") == true, "\(short)")
        try approve(bob)
        #expect(try violations(fixture, at: Date()).isEmpty)
        // The approvals are readable by people too.
        let note = try git("notes", "--ref", "gitops-ml-approvals", "show", fixture.source.hex, in: fixture.directory)
        #expect(note.contains("approved m for production by"))
        // git itself verifies the last approval commit as good (G) and by bob, against the reviewers file.
        try (alice.line + bob.line).write(toFile: temp.path + "/reviewers", atomically: true, encoding: .utf8)
        let signed = try git(
            "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile=\(temp.path)/reviewers", "log", "-1",
            "--format=%G? %GS", "refs/notes/gitops-ml-approvals", in: fixture.directory)
        #expect(signed == "G bob@example.com", "the approval commit is signed by bob: \(signed)")
    }

    @Test func theRulesComeFromTheEnvironmentBranchOrTheDefaultBranchNeverTheSource() throws {
        // The source commit relaxes the rules in its own policies folder: not read.
        let fixture = try fixture(policy: Self.policy("after: [staging]"))
        try git("checkout", "-qb", "relax", in: fixture.directory)
        try write(Self.policy("max_per_day: 100"), to: "policies/promotion.yaml", in: fixture.directory)
        try git("commit", "-qam", "Relax the promotion rules", in: fixture.directory)
        var judged = fixture
        judged.source = try fixture.repository.resolve("HEAD")
        #expect(try violations(judged, at: Date()).map(\.rule) == ["after"])

        // An environment branch with policies of its own: they add to the default branch's rules.
        _ = try commitOnGitops(
            fixture,
            [
                FileChange(
                    path: "policies/promotion.yaml", contents: Array(Self.policy("freeze:\n  - {reason: always}").utf8))
            ], message: "Freeze production")
        #expect(try violations(judged, at: Date()).map(\.rule) == ["after", "freeze"])

        // They never take rules away: a looser policy there (no `after`) leaves the default branch's in force.
        _ = try commitOnGitops(
            fixture,
            [FileChange(path: "policies/promotion.yaml", contents: Array(Self.policy("max_per_day: 1000").utf8))],
            message: "Loosen production")
        #expect(try violations(judged, at: Date()).map(\.rule) == ["after"])
    }
}
