import Foundation
import GitOpsMLCore
import TestSupport
import Testing

/// `registry show/history --json` against the real `gto` (from .venv) on repositories whose tags gto wrote.
@Suite struct RegistryParityTests {
    /// Runs gto. A writing command starts in a new second: when two assignments of one stage share a
    /// second, gto's choice depends on its list order and ours on the tags' #N (seen in CI: prod#1 and
    /// prod#2 written in one second, gto named v1.0.0, we v1.1.0). Same-second tags are tested below with
    /// tags whose order both agree on.
    @discardableResult
    func gto(_ arguments: [String], in directory: String) throws -> String {
        guard let gto = venvTool("gto") else {
            throw CommandFailed(description: "gto is not installed (make test installs it)")
        }
        if !["show", "history"].contains(arguments.first ?? "") {
            let second = Int(Date().timeIntervalSince1970)
            while Int(Date().timeIntervalSince1970) == second { usleep(20_000) }
        }
        return try run([gto] + arguments, in: directory)
    }

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// `text` parsed as JSON of type `T`; anything else throws, so two unreadable answers never compare equal.
    func json<T>(_ text: String, as _: T.Type, _ what: String) throws -> T {
        guard let value = try json(text) as? T else {
            throw CommandFailed(description: "\(what) is not a JSON \(T.self): \(text)")
        }
        return value
    }

    /// gto's versions carry enrichments read from artifacts.yaml/dvc.yaml; ours are always empty.
    func withoutEnrichments(_ versions: [[String: Any]]) -> NSArray {
        versions.map { version -> [String: Any] in
            var copy = version
            copy["enrichments"] = []
            return copy
        } as NSArray
    }

    /// Where our answers and gto's differ (empty when they agree).
    func differences(in repo: String, models: [String]) throws -> [String] {
        var found: [String] = []
        let ours = try gitopsML(["registry", "show", "--json"], in: repo)
        if ours.status != 0 { found.append("registry show failed: \(ours.stderrText)") }
        let theirShow = try gto(["show", "--json"], in: repo)
        if try json(ours.stdoutText, as: NSDictionary.self, "registry show")
            != json(theirShow, as: NSDictionary.self, "gto show")
        {
            found.append("show:\nours \(ours.stdoutText)\ngto \(theirShow)")
        }
        // History: the same events, in the same order of (time, priority). Within one second and one
        // priority gto's order is whatever its internal lists hold; ours follows the tags' #N counter.
        let history = try gitopsML(["registry", "history", "--json"], in: repo)
        let oursEvents = try json(history.stdoutText, as: [[String: Any]].self, "registry history")
        let theirHistory = try gto(["history", "--json"], in: repo)
        let theirs = try json(theirHistory, as: [[String: Any]].self, "gto history")
        if oursEvents.isEmpty { found.append("registry history is empty") }
        func canonical(_ events: [[String: Any]]) throws -> [String] {
            try events.map {
                String(decoding: try JSONSerialization.data(withJSONObject: $0, options: .sortedKeys), as: UTF8.self)
            }
        }
        func keys(_ events: [[String: Any]]) -> [String] {
            events.map { "\($0["timestamp"] ?? "") \($0["priority"] ?? "")" }
        }
        if try canonical(oursEvents).sorted() != canonical(theirs).sorted() || keys(oursEvents) != keys(theirs) {
            found.append("history:\nours \(history.stdoutText)\ngto \(theirHistory)")
        }
        for model in models {
            let versions = try gitopsML(["registry", "show", model, "--json"], in: repo)
            let theirVersions = try gto(["show", model, "--json"], in: repo)
            let oursVersions = try json(versions.stdoutText, as: [[String: Any]].self, "registry show \(model)")
            let theirVersionsList = try json(theirVersions, as: [[String: Any]].self, "gto show \(model)")
            if oursVersions.isEmpty || withoutEnrichments(oursVersions) != withoutEnrichments(theirVersionsList) {
                found.append("show \(model):\nours \(versions.stdoutText)\ngto \(theirVersions)")
            }
        }
        return found
    }

    /// Our answers equal gto's (both printed when they do not).
    func expectSameAnswers(in repo: String, models: [String]) throws {
        let found = try differences(in: repo, models: models)
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }

    @Test(.enabled(if: toolsAvailable("gto"), "needs gto in .venv (make test installs it)"))
    func showAndHistoryMatchGTO() throws {
        let folder = TemporaryDirectory("registry")
        let repo = try makeRepository(in: folder.path)
        try git("config", "user.name", "Test Author", in: repo)
        try git("config", "user.email", "author@example.com", in: repo)
        let c1 = try git("rev-parse", "HEAD", in: repo)
        let c2 = try commitFiles(["model.txt": "2\n"], message: "two", in: repo)
        let c3 = try commitFiles(["model.txt": "3\n"], message: "three", in: repo)

        try gto(["register", "churn", c1, "--version", "v1.0.0"], in: repo)
        try gto(["register", "churn", c2, "--bump-minor"], in: repo)
        try gto(["assign", "churn", c1, "--stage", "prod"], in: repo)
        try gto(["assign", "churn", c2, "--stage", "prod"], in: repo)
        try gto(["assign", "churn", c2, "--stage", "staging"], in: repo)
        try gto(["deprecate", "churn", "v1.1.0", "staging"], in: repo)
        try gto(["register", "models:fraud", c3, "--version", "v0.1.0"], in: repo)
        try gto(["assign", "models:fraud", c3, "--stage", "dev"], in: repo)
        try gto(["register", "other", c1, "--version", "v0.1.0"], in: repo)
        try gto(["deprecate", "other"], in: repo)
        // Ignored by both: a lightweight tag in GTO's format, and tags that are not registry tags.
        try git("tag", "churn@v9.9.9", c3, in: repo)
        try git("tag", "-a", "release-1", "-m", "r", c3, in: repo)
        try expectSameAnswers(in: repo, models: ["churn", "models:fraud"])
        // And what GTO's rules say, independently of gto: the later prod assignment holds, the unassigned
        // staging and the deprecated artifact are gone.
        let summary = try json(try gitopsML(["registry", "show", "--json"], in: repo).stdoutText) as? [String: Any]
        let churn = summary?["churn"] as? [String: Any]
        #expect(churn?["version"] as? String == "v1.1.0")
        #expect((churn?["stage"] as? [String: Any])?["prod"] as? String == "v1.1.0")
        #expect((churn?["stage"] as? [String: Any])?["staging"] == nil)
        #expect(summary?["other"] == nil)

        // Several tags in the same second (git with a fixed date, in GTO's formats): the #N counter orders them.
        var env = gitTestEnvironment
        env["GIT_COMMITTER_DATE"] = "@1900000000 +0200"
        for (tag, commit) in [("churn#qa#7", c2), ("churn#canary#8", c2), ("churn#qa!#9", c2), ("churn@v1.2.0", c3)] {
            try run(["git", "tag", "-a", tag, "-m", "same second", commit], in: repo, environment: env)
        }
        try expectSameAnswers(in: repo, models: ["churn"])
        let show = try gitopsML(["registry", "show", "--json"], in: repo).stdoutText
        #expect(show.contains("\"canary\": \"v1.1.0\""))
        #expect(show.contains("\"version\": \"v1.2.0\""))
    }

    /// Tags we write are tags gto reads the same way.
    @Test(.enabled(if: toolsAvailable("gto"), "needs gto in .venv (make test installs it)"))
    func gtoReadsWhatWeWrite() throws {
        let folder = TemporaryDirectory("registry-write")
        let repo = try makeRepository(in: folder.path)
        try git("config", "user.name", "Test Author", in: repo)
        try git("config", "user.email", "author@example.com", in: repo)
        let c2 = try commitFiles(["m": "2"], message: "two", in: repo)
        for arguments in [
            ["register", "churn", "--rev", "HEAD~1"], ["register", "churn", "--bump", "minor"],
            ["assign", "churn", "--stage", "prod", "--version", "v0.0.1"], ["assign", "churn", "--stage", "prod"],
            ["assign", "churn", "--stage", "staging", "--rev", c2], ["unassign", "churn", "--stage", "staging"],
            ["register", "team:ranker", "--version", "v2.0.0"], ["deprecate", "churn", "--version", "v0.0.1"],
        ] {
            let result = try gitopsML(["registry"] + arguments, in: repo)
            #expect(result.status == 0, "\(arguments): \(result.stderrText)")
        }
        let tags = try git("tag", "-l", in: repo).split(separator: "\n").map(String.init)
        #expect(
            Set(tags) == [
                "churn@v0.0.1", "churn@v0.1.0", "churn#prod#1", "churn#prod#2", "churn#staging#3", "churn#staging!#4",
                "team=ranker@v2.0.0", "churn@v0.0.1!",
            ])
        try expectSameAnswers(in: repo, models: ["churn", "team:ranker"])

        // Refusals: a version twice, a commit twice, an unknown stage, a bad name.
        for (arguments, message) in [
            (["register", "churn", "--version", "v0.1.0", "--rev", "HEAD~1"], "churn v0.1.0 is already registered"),
            (["register", "churn"], "is already registered as v0.1.0"),
            (["unassign", "churn", "--stage", "qa"], "churn has no version in stage 'qa'"),
            (["register", "bad name"], "is not a valid registry name"),
        ] {
            let result = try gitopsML(["registry"] + arguments, in: repo)
            #expect(result.status != 0)
            #expect(result.stderrText.contains(message), "\(result.stderrText)")
        }
    }

    /// The index under .git is a cache: deleting, damaging or outdating it changes no answer.
    @Test func indexIsRebuiltWhenStale() throws {
        let folder = TemporaryDirectory("registry-index")
        let repo = try makeRepository(in: folder.path)
        #expect(try gitopsML(["registry", "register", "churn"], in: repo).status == 0)
        let first = try gitopsML(["registry", "show", "--json"], in: repo).stdoutText
        let index = repo + "/.git/gitops-ml/registry-index"
        #expect(FileManager.default.fileExists(atPath: index))
        try "garbage\tline\n".write(toFile: index, atomically: true, encoding: .utf8)
        #expect(try gitopsML(["registry", "show", "--json"], in: repo).stdoutText == first)
        // A tag moved to another object behind the index's back is read again.
        try commitFiles(["x": "1"], message: "x", in: repo)
        try git("tag", "-f", "-a", "churn@v0.0.1", "-m", "moved", "HEAD", in: repo)
        let moved = try gitopsML(["registry", "show", "churn", "--json"], in: repo).stdoutText
        #expect(moved.contains(try git("rev-parse", "HEAD", in: repo)))
        try git("tag", "-d", "churn@v0.0.1", in: repo)
        #expect(
            try gitopsML(["registry", "show", "--json"], in: repo).stdoutText.trimmingCharacters(
                in: .whitespacesAndNewlines) == "{}")
    }
}
