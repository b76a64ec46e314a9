import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Agent

@Suite("Agent state on disk")
struct AgentStateTests {
    let temp = TemporaryDirectory("agent-state")
    var path: String { temp.path + "/state/agent.json" }
    let commit = String(repeating: "ab", count: 20)
    let other = String(repeating: "cd", count: 32)

    var sample: AgentState {
        var environment = AgentState.Environment(lastAttempted: other, lastApplied: commit)
        environment.health = "Degraded"
        environment.conditions = [.init(name: "smoke prediction", status: "Degraded", reason: "HTTP 500")]
        environment.pendingRollback = .init(failed: other, restored: commit, reasons: ["smoke prediction: HTTP 500"])
        return AgentState(environments: ["production": environment, "staging": .init(lastApplied: other)])
    }

    @Test func aSavedStateLoadsBackAndNothingElseIsLeftBehind() throws {
        let store = StateStore(path: path)
        #expect(try store.load() == .init(state: AgentState(), recovery: nil), "no file yet: an empty state")
        try store.save(sample)
        #expect(try store.load() == .init(state: sample, recovery: nil))
        try store.save(AgentState())
        try store.save(sample)
        #expect(try FileManager.default.contentsOfDirectory(atPath: temp.path + "/state") == ["agent.json"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasPrefix("{\n") && text.hasSuffix("}\n") && text.contains(#""pendingRollback""#))
    }

    /// A torn file from another writer, garbage, a newer version, a commit id that is not one: set aside
    /// with its bytes intact, and the agent starts empty (the next pass rebuilds from git and the target).
    @Test(arguments: [
        ("{\"version\": 1, \"environments\": {\"production\": {\"lastApplied\": \"ab", "not the agent's JSON"),
        ("\u{0}\u{1}\u{2}garbage", "not the agent's JSON"),
        (#"{"version": 2, "environments": {}}"#, "version 2, expected 1"),
        (
            #"{"version": 1, "environments": {"production": {"lastApplied": "HEAD~1", "conditions": []}}}"#,
            #"environment production names "HEAD~1", not a commit id"#
        ),
        (
            #"{"version": 1, "environments": {"production": {"lastApplied": "\#(String(repeating: "A", count: 40))", "conditions": []}}}"#,
            "not a commit id"
        ),
    ])
    func aCorruptStateIsSetAsideNotTrusted(contents: String, defect: String) throws {
        try FileManager.default.createDirectory(atPath: temp.path + "/state", withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: false, encoding: .utf8)
        let store = StateStore(path: path)
        let loaded = try store.load(now: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(loaded.state == AgentState())
        let aside = path + ".corrupt-1700000000"
        #expect(loaded.recovery?.contains(defect) == true, "\(loaded.recovery ?? "nil")")
        #expect(loaded.recovery?.hasSuffix("set aside as \(aside), rebuilt from git") == true)
        #expect(try String(contentsOfFile: aside, encoding: .utf8) == contents, "the bad file is kept for a person")
        #expect(try store.load() == .init(state: AgentState(), recovery: nil))
        try store.save(sample)
        #expect(try store.load().state == sample)
    }

    @Test func aStatePathThatCannotBeReadIsAnEnvironmentError() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = try #require(throws: GitOpsMLError.self) { try StateStore(path: path).load() }
        #expect(error.category == .environment)
        #expect(FileManager.default.fileExists(atPath: path), "nothing set aside or removed")
    }
}
