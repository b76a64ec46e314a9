import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `gitops-ml promote` through the built binary: refusals, no-ops, and concurrent promotions against one
/// bare remote over file:// and over smart HTTP (`git http-backend`).
@Suite struct PromoteCommandTests {
    /// An ML project with `models` models, a passing gate report note on HEAD (unless `note` is nil), and
    /// a bare remote holding it.
    func project(models: Int, in temp: TemporaryDirectory, note: String? = "pass") throws -> (
        work: String, remote: String
    ) {
        let remote = temp.path + "/srv/origin.git"
        try FileManager.default.createDirectory(atPath: temp.path + "/srv", withIntermediateDirectories: true)
        try git("init", "-q", "--bare", "-b", "main", remote, in: temp.path)
        var yaml = "version: 1\nproject: race\nmodels:\n"
        var files = ["params.yaml": "lr: 0.1\n"]
        for index in 1...models {
            yaml += "  m\(index): {artifact: model/m\(index).bin, serving: {image: ghcr.io/x/m\(index)}}\n"
            files["model/m\(index).bin"] = "weights \(index)\n"
        }
        yaml += "environments:\n  staging: {branch: gitops, namespace: race-staging}\n"
        files["gitops-ml.yaml"] = yaml
        let work = try makeRepository(in: temp.sub("work"), files: files)
        try git("push", "-q", remote, "main", in: work)
        if let note {
            try addNote(verdict: note, in: work)
            try git("push", "-q", remote, "refs/notes/gitops-ml:refs/notes/gitops-ml", in: work)
        }
        return (work, remote)
    }

    func addNote(verdict: String, commit: String = "HEAD", reportFor: String? = nil, in work: String) throws {
        let sha = try git("rev-parse", commit, in: work)
        // A report of the schema's shape whose verdict follows from its findings (one failing one for "fail").
        let failing = verdict == "fail"
        let finding =
            failing
            ? "{\"id\": \"gate/m1/accuracy\", \"suite\": \"gate\", \"check\": \"champion-challenger\", \"status\": \"fail\", \"message\": \"worse\", \"observed\": null, \"expected\": null}"
            : ""
        let report =
            "{\"schema_version\": 1, \"tool\": {\"name\": \"gitops-ml\", \"version\": \"0.1.0\"}, \"verdict\": \"\(verdict)\", \"base\": null, \"head\": {\"rev\": \"HEAD\", \"commit\": \"\(reportFor ?? sha)\"}, \"summary\": {\"pass\": 0, \"skip\": 0, \"warn\": 0, \"fail\": \(failing ? 1 : 0), \"error\": 0}, \"findings\": [\(finding)]}"
        try git("notes", "--ref", "gitops-ml", "add", "-f", "-m", report, sha, in: work)
    }

    /// A freshly adopted repository: environments declared, nothing promoted, no branch yet. `audit` says
    /// there is nothing to audit and passes; it names the missing branch as a skip, not a failure.
    @Test func auditOnAFreshAdoptionHasNothingToAudit() throws {
        let temp = TemporaryDirectory("audit-fresh")
        let directory = try makeRepository(
            in: temp.sub("fresh"),
            files: [
                "gitops-ml.yaml":
                    "version: 1\nmodels:\n  m: {artifact: model.txt}\nenvironments:\n  staging: {branch: env/staging}\n",
                "model.txt": "m\n",
            ])
        let result = try gitopsML(["audit"], in: directory)
        #expect(result.status == 0, "\(result.stdoutText)\(result.stderrText)")
        #expect(result.stdoutText.contains("nothing to audit: no promotion commits on any environment branch yet"))
        #expect(result.stdoutText.contains("– [branch] environment branch env/staging is not in this repository"))
        let json = try gitopsML(["audit", "--format", "json"], in: directory)
        #expect(json.status == 0 && json.stdoutText.contains("\"status\": \"skip\""), "\(json.stdoutText)")
    }

    @Test func refusesWithoutAPassingReportForExactlyThisCommit() throws {
        let temp = TemporaryDirectory("promote-cli")
        let (work, _) = try project(models: 1, in: temp, note: nil)
        let none = try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        #expect(none.status == 1)
        #expect(none.stderrText.contains("no gate report for"))
        try addNote(verdict: "fail", in: work)
        let failed = try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        #expect(failed.status == 1)
        #expect(failed.stderrText.contains("says fail"))
        try addNote(verdict: "pass", reportFor: String(repeating: "0", count: 40), in: work)
        let other = try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        #expect(other.status == 1)
        #expect(other.stderrText.contains("was made for 000000000000"))
        #expect(!(try refExists("refs/heads/gitops", in: work)), "nothing was written")

        let unknown = try gitopsML(["promote", "m1", "--to", "prod"], in: work)
        #expect(unknown.status == 2)
        #expect(unknown.stderrText.contains("environment 'prod' is not in gitops-ml.yaml"))

        try addNote(verdict: "pass", in: work)
        let dry = try gitopsML(["promote", "m1", "--to", "staging", "--dry-run"], in: work)
        #expect(dry.status == 0)
        #expect(dry.stdoutText.contains("promote(m1): v0.0.1 to staging"))
        #expect(dry.stdoutText.contains("+++ b/environments/staging/m1.yaml"))
        #expect(!(try refExists("refs/heads/gitops", in: work)), "--dry-run wrote nothing")

        let promoted = try gitopsML(["promote", "m1", "--to", "staging", "--registry"], in: work)
        #expect(promoted.status == 0, "\(promoted.stderrText)")
        #expect(promoted.stdoutText.contains("promoted m1 v0.0.1 to staging"))
        #expect(try git("tag", "-l", in: work).split(separator: "\n").sorted() == ["m1#staging#1", "m1@v0.0.1"])
        let again = try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        #expect(again.status == 0)
        #expect(again.stdoutText.hasPrefix("unchanged: staging already runs m1 v0.0.1"))

        // The release is now a revision: env:ENV[/MODEL] and registry:MODEL#STAGE / @VERSION.
        let head = try gitopsML(["show", "HEAD:model/m1.bin"], in: work).stdoutText
        try commitFiles(["model/m1.bin": "weights 1b\n"], message: "retrain", in: work)
        for revision in ["env:staging", "env:staging/m1", "registry:m1#staging", "registry:m1@v0.0.1"] {
            let shown = try gitopsML(["show", "\(revision):model/m1.bin"], in: work)
            #expect(shown.status == 0 && shown.stdoutText == head, "\(revision): \(shown.stderrText)")
        }
        let unknownEnv = try gitopsML(["show", "env:prod:model/m1.bin"], in: work)
        #expect(unknownEnv.status == 2)
        #expect(unknownEnv.stderrText.contains("no environment 'prod'"))
        let noStage = try gitopsML(["show", "registry:m1#prod:model/m1.bin"], in: work)
        #expect(noStage.status == 3)
        #expect(noStage.stderrText.contains("no version of m1 is in stage 'prod'"))
    }

    @Test func branchPerPromotionProposesInsteadOfLanding() throws {
        let temp = TemporaryDirectory("promote-proposal")
        let (work, remote) = try project(models: 1, in: temp)
        let proposed = try gitopsML(
            ["promote", "m1", "--to", "staging", "--push", remote, "--branch-per-promotion"], in: work)
        #expect(proposed.status == 0, "\(proposed.stderrText)")
        #expect(proposed.stdoutText.contains("on gitops-ml/promote/staging/m1-v0.0.1"))
        let branches = try git("for-each-ref", "--format=%(refname)", "refs/heads/", in: remote)
        #expect(branches.contains("refs/heads/gitops-ml/promote/staging/m1-v0.0.1"))
        #expect(!branches.contains("refs/heads/gitops\n") && !branches.hasSuffix("refs/heads/gitops"))
        let again = try gitopsML(
            ["promote", "m1", "--to", "staging", "--push", remote, "--branch-per-promotion"], in: work)
        #expect(again.status == 1)
        #expect(again.stderrText.contains("already exists on the remote"))
    }

    /// Build metadata cannot go into a Kubernetes label or an image tag: `+` is written `_` there, as Helm
    /// does; the release record keeps the version as given. A version too long for a label is refused.
    @Test func aVersionWithBuildMetadataRendersAsAValidLabelAndTag() throws {
        let temp = TemporaryDirectory("promote-build-version")
        let (work, _) = try project(models: 1, in: temp)
        let promoted = try gitopsML(["promote", "m1", "--to", "staging", "--version", "v1.0.0+build.5"], in: work)
        #expect(promoted.status == 0, "\(promoted.stderrText)")
        let deployment = try git("show", "gitops:deploy/staging/m1/deployment.yaml", in: work)
        #expect(deployment.contains("image: \"ghcr.io/x/m1:v1.0.0_build.5\""), "\(deployment)")
        #expect(deployment.contains("v1.0.0_build.5") && !deployment.contains("+build"), "\(deployment)")
        #expect(try git("show", "gitops:environments/staging/m1.yaml", in: work).contains("version: v1.0.0+build.5"))

        let long = "v1.0.0-" + String(repeating: "a", count: 60)
        let refused = try gitopsML(["promote", "m1", "--to", "staging", "--version", long], in: work)
        #expect(refused.status == 2)
        #expect(refused.stderrText.contains("has 67 characters; at most 63"), "\(refused.stderrText)")
    }

    /// `requires_approval: true` is enforced or refused: without PromotionPolicy approvals, promote goes
    /// ahead only when told that the CI environment holds the reviewers; init's placeholder image is never
    /// released.
    @Test func approvalAndPlaceholderImageAreNeverSilentlyPassed() throws {
        let temp = TemporaryDirectory("promote-approval")
        let (work, _) = try project(models: 1, in: temp)
        let config = try String(contentsOfFile: work + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config + "  production: {branch: gitops, namespace: race-production, requires_approval: true}\n",
            to: "gitops-ml.yaml", in: work)
        try git("commit", "-qam", "Production needs approval", in: work)
        try addNote(verdict: "pass", in: work)
        let refused = try gitopsML(["promote", "m1", "--to", "production"], in: work)
        #expect(refused.status == 2, "\(refused.stdoutText)")
        #expect(refused.stderrText.contains("production has requires_approval: true"), "\(refused.stderrText)")
        #expect(refused.stderrText.contains("--approval github-environment"))
        let approved = try gitopsML(
            ["promote", "m1", "--to", "production", "--approval", "github-environment"], in: work)
        #expect(approved.status == 0, "\(approved.stderrText)")

        try write(
            try String(contentsOfFile: work + "/gitops-ml.yaml", encoding: .utf8).replacingOccurrences(
                of: "ghcr.io/x/m1", with: "ghcr.io/OWNER/m1-serving"), to: "gitops-ml.yaml", in: work)
        try git("commit", "-qam", "Placeholder image", in: work)
        try addNote(verdict: "pass", in: work)
        let placeholder = try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        #expect(placeholder.status == 2)
        #expect(
            placeholder.stderrText.contains("still the placeholder ghcr.io/OWNER/m1-serving"),
            "\(placeholder.stderrText)")
    }

    /// A version is never given to two source commits: a source already released elsewhere keeps its
    /// version, another source gets the next one, even in an environment on another branch.
    /// The PromotionPolicy's rollout is copied into the record; the second promotion (a version to keep
    /// serving) renders two tracks and an HTTPRoute through the model's gateway, and without a gateway it
    /// still promotes (the cluster's manifests are not routed, and promote says so).
    @Test func aPolicysCanaryIsRecordedAndRoutedThroughTheGatewayWhenThereIsOne() throws {
        let temp = TemporaryDirectory("promote-rollout")
        let (work, _) = try project(models: 1, in: temp)
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: PromotionPolicy
            metadata: {name: live}
            spec:
              environments:
                staging:
                  rollout: {strategy: canary, steps: [10, 50, 100], min_requests: 200, errors: 0.02}

            """, to: "policies/promotion.yaml", in: work)
        try git("add", "-A", in: work)
        try git("commit", "-qm", "Staging rolls out as a canary", in: work)
        func promoteNewWeights(_ weights: String) throws -> ProcessOutput {
            try write(weights, to: "model/m1.bin", in: work)
            try git("commit", "-qam", "Weights \(weights)", in: work)
            try addNote(verdict: "pass", in: work)
            return try gitopsML(["promote", "m1", "--to", "staging"], in: work)
        }
        #expect(try promoteNewWeights("weights 2\n").status == 0)
        let unrouted = try promoteNewWeights("weights 3\n")
        #expect(unrouted.status == 0, "\(unrouted.stderrText)")
        #expect(unrouted.stderrText.contains("models.m1.serving.gateway is not set"), "\(unrouted.stderrText)")
        let record = try git("show", "gitops:environments/staging/m1.yaml", in: work)
        #expect(record.contains("rollout:\n  strategy: canary\n  steps: [10, 50, 100]"), "\(record)")
        #expect((try? git("show", "gitops:deploy/staging/m1/httproute.yaml", in: work)) == nil)

        let config = try String(contentsOfFile: work + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config.replacingOccurrences(
                of: "serving: {image: ghcr.io/x/m1}", with: "serving: {image: ghcr.io/x/m1, gateway: gateways/public}"),
            to: "gitops-ml.yaml", in: work)
        let routed = try promoteNewWeights("weights 4\n")
        #expect(routed.status == 0, "\(routed.stderrText)")
        let route = try git("show", "gitops:deploy/staging/m1/httproute.yaml", in: work)
        #expect(route.contains("name: m1-canary") && route.contains("weight: 10"), "\(route)")
    }

    @Test func twoSourcesNeverShareAVersion() throws {
        let temp = TemporaryDirectory("promote-versions")
        let (work, _) = try project(models: 1, in: temp)
        let config = try String(contentsOfFile: work + "/gitops-ml.yaml", encoding: .utf8)
        try write(
            config + "  production: {branch: gitops-production, namespace: race-production}\n", to: "gitops-ml.yaml",
            in: work)
        try git("commit", "-qam", "Production", in: work)
        let first = try git("rev-parse", "HEAD", in: work)
        try addNote(verdict: "pass", in: work)
        #expect(try gitopsML(["promote", "m1", "--to", "staging"], in: work).status == 0)
        try write("weights 2\n", to: "model/m1.bin", in: work)
        try git("commit", "-qam", "New weights", in: work)
        try addNote(verdict: "pass", in: work)
        let second = try gitopsML(["promote", "m1", "--to", "production"], in: work)
        #expect(second.status == 0, "\(second.stderrText)")
        #expect(second.stdoutText.hasPrefix("promoted m1 v0.0.2 to production"), "\(second.stdoutText)")
        let again = try gitopsML(["promote", "m1", "--to", "production", "--rev", first], in: work)
        #expect(again.status == 0, "\(again.stderrText)")
        #expect(again.stdoutText.hasPrefix("promoted m1 v0.0.1 to production"), "\(again.stdoutText)")
    }

    /// `max_per_day` is counted on the remote's branch as `promote --push` fetches it, not on what a stale
    /// clone last saw: the second promotion of the day from a clone that never fetched the first is refused.
    @Test func maxPerDayCountsWhatTheRemoteHoldsNotAStaleClone() throws {
        let temp = TemporaryDirectory("promote-per-day")
        let (work, remote) = try project(models: 2, in: temp, note: nil)
        try write(
            """
            apiVersion: gitops-ml/v1
            kind: PromotionPolicy
            metadata: {name: promotion}
            spec: {environments: {staging: {max_per_day: 1}}}

            """, to: "policies/promotion.yaml", in: work)
        try git("add", "-A", in: work)
        try git("commit", "-qm", "One promotion a day", in: work)
        try addNote(verdict: "pass", in: work)
        try git("push", "-q", remote, "main", "refs/notes/gitops-ml:refs/notes/gitops-ml", in: work)
        let stale = temp.path + "/stale"
        try git("clone", "-q", remote, stale, in: temp.path)
        try git("fetch", "-q", "origin", "refs/notes/*:refs/notes/*", in: stale)

        let first = try gitopsML(["promote", "m1", "--to", "staging", "--push", remote], in: work)
        #expect(first.status == 0, "\(first.stderrText)")
        let second = try gitopsML(["promote", "m2", "--to", "staging", "--push", "origin"], in: stale)
        #expect(second.status == 1, "\(second.stderrText)")
        #expect(
            second.stderrText.contains("max-per-day: 1 promotions to staging already on this day"),
            "\(second.stderrText)")
        #expect(try git("rev-list", "--count", "gitops", in: remote) == "1", "nothing more landed")
    }

    /// 8 processes promote 8 models at once: every promotion lands exactly once, history stays linear.
    /// The gate report goes where the promotion goes: `audit` and `lineage` read it from any clone.
    @Test func aPushedPromotionTakesItsGateReportNoteAlong() throws {
        let temp = TemporaryDirectory("promote-notes")
        let (work, remote) = try project(models: 1, in: temp)
        try git("update-ref", "-d", "refs/notes/gitops-ml", in: remote)
        let promoted = try gitopsML(["promote", "m1", "--to", "staging", "--push", remote], in: work)
        #expect(promoted.status == 0, "\(promoted.stderrText)")
        let head = try git("rev-parse", "HEAD", in: work)
        #expect(
            try git("notes", "--ref", "gitops-ml", "show", head, in: remote)
                == git("notes", "--ref", "gitops-ml", "show", head, in: work))
    }

    @Test(arguments: ["file", "http"])
    func concurrentPromotionsAllLandOnce(_ transport: String) throws {
        let temp = TemporaryDirectory("promote-race")
        let (work, remote) = try project(models: 8, in: temp)
        var server: LoopbackServer?
        var url = remote
        if transport == "http" {
            server = try LoopbackServer([
                "python3", packageRoot + "/Tests/Fixtures/git_http_server.py", temp.path + "/srv",
            ])
            url = (server?.baseURL ?? "") + "/origin.git"
        }
        defer { _ = server?.process.terminate() }
        // Each promoter is its own CI job: its own clone, with the notes, all made before any promoter starts
        // (a local clone of a repository that a push is writing into fails: "hardlink different from source").
        for index in 1...8 {
            let clone = temp.path + "/clone\(index)"
            try git("clone", "-q", remote, clone, in: temp.path)
            try git("fetch", "-q", "origin", "refs/notes/gitops-ml:refs/notes/gitops-ml", in: clone)
        }
        var processes: [(Int, ChildProcess, String)] = []
        for index in 1...8 {
            let clone = temp.path + "/clone\(index)"
            let log = temp.path + "/promote\(index).log"
            var environment = gitTestEnvironment
            environment["NO_COLOR"] = "1"
            let process = try Subprocess.start(
                [gitopsMLBinary, "promote", "m\(index)", "--to", "staging", "--push", url], directory: clone,
                environment: environment, stdoutPath: log, stderrPath: log + ".err")
            processes.append((index, process, log))
        }
        for (index, process, log) in processes {
            let status = process.waitForExit()
            let errors = (try? String(contentsOfFile: log + ".err", encoding: .utf8)) ?? ""
            #expect(status == 0, "m\(index): \(errors)")
            if status != 0 { print("m\(index) [\(transport)]: \(errors)") }
        }
        let subjects = try git("log", "--format=%s", "gitops", in: remote).split(separator: "\n").map(String.init)
        #expect(subjects.count == 8)
        #expect(Set(subjects) == Set((1...8).map { "promote(m\($0)): v0.0.1 to staging" }))
        #expect(try git("rev-list", "--merges", "gitops", in: remote).isEmpty)
        #expect(try git("rev-list", "--max-parents=0", "gitops", in: remote).split(separator: "\n").count == 1)
        let records = try git("ls-tree", "--name-only", "gitops", "environments/staging/", in: remote)
        #expect(records.split(separator: "\n").filter { $0.hasSuffix(".yaml") }.count == 8)
        let kustomization = try git("show", "gitops:deploy/staging/kustomization.yaml", in: remote)
        let listed = kustomization.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect((1...8).allSatisfy { listed.contains("- m\($0)") }, "\(kustomization)")
        _ = work
    }
}
