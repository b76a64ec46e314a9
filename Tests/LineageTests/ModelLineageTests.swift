import Config
import Datasets
import Foundation
import GitOpsMLCore
import GitStore
import Promotion
import TestSupport
import Testing

@testable import Lineage

/// `lineage` on a repository built here: two promoted versions (new data and a params change in the
/// second), the agent's deployment note and revert commit, read back from history alone.
@Suite("Model lineage")
struct ModelLineageTests {
    let temp = TemporaryDirectory("lineage")

    static let config = """
        version: 1
        project: churn
        default_branch: main
        params: [params.yaml]
        models:
          churn: {artifact: model.json, task: classification}
        datasets:
          train: data/train.csv
        environments:
          staging: {branch: gitops, namespace: churn-staging}

        """

    /// A promotion commit on `gitops` as `promote` writes it (trailers, release record), made with git.
    func promote(_ source: String, version: String, previous: String?, in directory: String) throws -> String {
        let repository = try Repository(at: directory)
        let view = try repository.fileView(.git(source))
        let train = try #require(try DataResolver.identity("data/train.csv", in: view))
        var record = ReleaseRecord(model: "churn", environment: "staging", version: version, sourceCommit: source)
        record.data = ["train": train]
        record.previousVersion = previous
        let message =
            "promote(churn): \(version) to staging\n\n"
            + [
                Trailer.line(Trailer.model, "churn"), Trailer.line(Trailer.version, version),
                Trailer.line(Trailer.environment, "staging"), Trailer.line(Trailer.sourceCommit, source),
                Trailer.line(Trailer.data, "train=\(train)"),
            ].joined(separator: "\n")
            + (previous.map { "\n" + Trailer.line(Trailer.previousVersion, $0) } ?? "") + "\n"
        let parent = try repository.referenceTarget("refs/heads/gitops")
        let commit = try #require(
            try repository.writeCommit(
                parent: parent,
                changes: [FileChange(path: "environments/staging/churn.yaml", contents: Array(record.yaml.utf8))],
                message: message))
        try repository.updateReference("refs/heads/gitops", to: commit, expected: parent)
        return commit.hex
    }

    @Test func aVersionIsTracedToItsDataParamsPromotionsDeploymentsAndRollback() throws {
        let directory = try makeRepository(
            in: temp.sub("repo"),
            files: [
                "gitops-ml.yaml": Self.config, "params.yaml": "lr: 0.1\n", "data/train.csv": "a\n1\n",
                "train.py": "print(1)\n", "model.json": "{}",
            ])
        let first = try git("rev-parse", "HEAD", in: directory)
        let dataCommit = try commitFiles(["data/train.csv": "a\n1\n2\n"], message: "More data", in: directory)
        let second = try commitFiles(["params.yaml": "lr: 0.05\n"], message: "Lower the rate", in: directory)
        let v1 = try promote(first, version: "v1", previous: nil, in: directory)
        let v2 = try promote(second, version: "v2", previous: "v1", in: directory)
        let repository = try Repository(at: directory)
        let started = Date(timeIntervalSince1970: 1_800_000_000)
        try DeploymentNotes.append(
            DeploymentRecord(
                environment: "staging", target: "local", commit: v2, started: started,
                finished: started.addingTimeInterval(3), outcome: .failed,
                checks: [CheckOutcome(name: "smoke prediction", status: "Degraded", reason: "HTTP 400")],
                restored: v1, agent: "test agent"), in: repository)
        let revert = try #require(
            try RollbackCommit(
                environment: "staging", branch: "gitops", failed: ObjectID(hex: v2), restored: ObjectID(hex: v1),
                reasons: ["smoke prediction: HTTP 400"]
            ).write(in: repository))
        let config = try ProjectConfig.parse(Array(Self.config.utf8))

        let lineage = try ModelLineage.trace(
            model: "churn", version: "v2", environment: nil, config: config, repository: repository)
        #expect(lineage.source.id.hex == second)
        #expect(lineage.data.first?.introduced?.id.hex == dataCommit, "the data came from its own commit")
        #expect(lineage.paramChanges.map(\.key) == ["lr"])
        #expect(lineage.promotions.map(\.commit.id.hex) == [v2])
        #expect(lineage.deployments.map(\.outcome) == [.failed])
        #expect(lineage.rollbacks.map(\.commit.id.hex) == [revert.hex])
        #expect(lineage.code.contains { $0.path == "train.py" })
        #expect(lineage.reportProblem?.contains("no gate report note") == true)
        #expect(lineage.mermaid.contains("promotion0 -->|reverted| rollback0_0"))
        #expect(lineage.dot.contains("promotion0 -> deployment0_0 [label=\"deployed\"];"))

        // What staging runs now: the revert commit's record, v1.
        let now = try ModelLineage.trace(
            model: "churn", version: nil, environment: "staging", config: config, repository: repository)
        #expect(now.version == "v1")
        #expect(now.source.id.hex == first)
        #expect(now.rollbacks.isEmpty)

        let json = try gitopsML(["lineage", "churn@v2", "--format", "json"], in: directory)
        #expect(json.status == 0, "\(json.stderrText)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout)) as? [String: Any]
        #expect((object?["source"] as? [String: Any])?["commit"] as? String == second)
        let unknown = try gitopsML(["lineage", "churn@v9"], in: directory)
        #expect(unknown.status == 3)
        #expect(unknown.stderrText.contains("no promotion of churn v9"))
    }

    /// Never promoted (day one on a project): `lineage` says so and names `--rev`, which shows what a
    /// promotion of that revision would record.
    @Test func aModelNeverPromotedIsTracedAtARevision() throws {
        let directory = try makeRepository(
            in: temp.sub("never-promoted"),
            files: [
                "gitops-ml.yaml": "version: 1\nmodels:\n  churn: {artifact: model.pkl}\n",
                "model.pkl": "weights\n", "params.yaml": "lr: 0.1\n",
            ])
        let never = try gitopsML(["lineage", "churn"], in: directory)
        #expect(never.status == 3)
        #expect(
            never.stderrText.contains(
                "churn was never promoted (no promotion commit or registry tag names it): `gitops-ml lineage churn --rev HEAD`"
            ), "\(never.stderrText)")
        let atHead = try gitopsML(["lineage", "churn", "--rev", "HEAD", "--json"], in: directory)
        #expect(atHead.status == 0, "\(atHead.stderrText)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(atHead.stdoutText.utf8)) as? [String: Any])
        #expect(object["version"] as? String == "at HEAD")
        #expect(
            (object["artifact"] as? [String: Any])?["digest"] as? String
                == "sha256:" + Digests.sha256(Array("weights\n".utf8)), "\(atHead.stdoutText)")
        let both = try gitopsML(["lineage", "churn@v1.0.0", "--rev", "HEAD"], in: directory)
        #expect(both.status == 2 && both.stderrText.contains("--rev names the version itself"))
    }

    /// A GTO repository (no gitops-ml.yaml, no environment branch): the registry's tags name the version,
    /// its commit and its stages.
    @Test func aGTORepositoryIsTracedThroughItsTags() throws {
        let directory = try makeRepository(
            in: temp.sub("gto"),
            files: [
                "model.pkl": "a\n", "params.yaml": "lr: 0.1\nepochs: 5\n",
                "artifacts.yaml": "churn:\n  type: model\n  path: model.pkl\n",
            ])
        let first = try git("rev-parse", "HEAD", in: directory)
        try git("tag", "-a", "churn@v1.0.0", "-m", "Registering artifact churn version v1.0.0", in: directory)
        let second = try commitFiles(
            ["model.pkl": "b\n", "params.yaml": "lr: 0.2\nepochs: 5\n"], message: "Train v2", in: directory)
        try git("tag", "-a", "churn@v1.1.0", "-m", "Registering artifact churn version v1.1.0", in: directory)
        try git(
            "tag", "-a", "churn#prod#1", "-m", "Assigning stage prod to artifact churn version v1.1.0", in: directory)
        let repository = try Repository(at: directory)

        let prod = try ModelLineage.trace(
            model: "churn", version: nil, environment: "prod", config: ProjectConfig(), repository: repository)
        #expect(prod.version == "v1.1.0" && prod.source.id.hex == second)
        #expect(prod.registryEvents.map(\.tag).sorted() == ["churn#prod#1", "churn@v1.1.0"])
        // As complete as the repository allows without a promotion: the artifact's digest (declared in
        // artifacts.yaml), the params' digest, the registered version before it and what changed since.
        #expect(prod.artifactPath == "model.pkl")
        #expect(prod.artifactDigest == "sha256:" + Digests.sha256(Array("b\n".utf8)))
        #expect(prod.paramsDigest?.hasPrefix("sha256:") == true)
        #expect(prod.previousVersion == "v1.0.0")
        #expect(prod.paramChanges.map(\.key) == ["lr"], "\(prod.paramChanges)")
        let old = try ModelLineage.trace(
            model: "churn", version: "v1.0.0", environment: nil, config: ProjectConfig(), repository: repository)
        #expect(old.source.id.hex == first)
        let text = try gitopsML(["lineage", "churn", "--env", "prod"], in: directory)
        #expect(text.status == 0, "\(text.stderrText)")
        #expect(text.stdoutText.contains("assignment to prod"))
        let unknown = try gitopsML(["lineage", "fraud"], in: directory)
        #expect(unknown.status == 2)

        // The model moved after v1.1.0 and today's configuration names the new path (as init writes it for
        // iterative/demo-bank-customer-churn): the old version's artifact is the one it declared itself.
        try git("mv", "model.pkl", "clf-model.pkl", in: directory)
        try commitFiles(
            ["artifacts.yaml": "churn:\n  type: model\n  path: clf-model.pkl\n"], message: "Move the model",
            in: directory)
        let today = try ProjectConfig.parse(Array("version: 1\nmodels:\n  churn: {artifact: clf-model.pkl}\n".utf8))
        let moved = try ModelLineage.trace(
            model: "churn", version: "v1.1.0", environment: nil, config: today,
            repository: try Repository(at: directory))
        #expect(moved.artifactPath == "model.pkl")
        #expect(moved.artifactDigest == "sha256:" + Digests.sha256(Array("b\n".utf8)))
    }
}

/// audit's stale-pipeline rule on a promoted source commit whose dvc.lock was not reproduced.
@Suite("Audit: stale pipelines")
struct AuditStalePipelineTests {
    let temp = TemporaryDirectory("audit-stale")

    @Test func aPromotedVersionWithAStaleLockFails() throws {
        let lock = """
            schema: '2.0'
            stages:
              train:
                cmd: python train.py
                deps:
                - path: train.py
                  hash: md5
                  md5: \(Digests.md5(Array("print(1)\n".utf8)))
                  size: 9

            """
        let directory = try makeRepository(
            in: temp.sub("repo"),
            files: [
                "gitops-ml.yaml": ModelLineageTests.config, "train.py": "print(1)\n", "dvc.lock": lock,
                "params.yaml": "lr: 0.1\n", "data/train.csv": "a\n1\n", "model.json": "{}",
            ])
        let fresh = try git("rev-parse", "HEAD", in: directory)
        let stale = try commitFiles(["train.py": "print(2)\n"], message: "Change code, forget dvc repro", in: directory)
        let tests = ModelLineageTests()
        let good = try tests.promote(fresh, version: "v1", previous: nil, in: directory)
        let bad = try tests.promote(stale, version: "v2", previous: "v1", in: directory)
        let findings = try Audit.run(
            config: try ProjectConfig.parse(Array(ModelLineageTests.config.utf8)),
            repository: try Repository(at: directory), options: Audit.Options(environment: "staging"))
        let rule = findings.filter { $0.check == "stale-pipeline" }
        #expect(rule.first { $0.message.hasPrefix(String(good.prefix(12))) }?.status == .pass)
        let failed = try #require(rule.first { $0.message.hasPrefix(String(bad.prefix(12))) })
        #expect(failed.status == .fail)
        #expect(failed.message.contains("stage train's outputs were not reproduced after train.py changed"))
    }
}
