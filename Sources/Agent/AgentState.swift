import Foundation
import GitOpsMLCore
import Promotion

/// What the agent remembers between passes, per environment. Git stays the truth: this only spares a
/// restart from applying twice and keeps a rollback whose revert commit could not be pushed yet.
public struct AgentState: Codable, Sendable, Equatable {
    public static let supportedVersion = 1

    public var version = AgentState.supportedVersion
    public var environments: [String: Environment] = [:]

    public init(environments: [String: Environment] = [:]) { self.environments = environments }

    public struct Environment: Codable, Sendable, Equatable {
        /// The environment-branch commit the last pass tried to apply.
        public var lastAttempted: String?
        /// The last commit applied and found healthy: what runs.
        public var lastApplied: String?
        public var health: String?
        public var conditions: [CheckOutcome] = []
        /// Restored on the target, revert commit not pushed yet: retried every pass until it is.
        public var pendingRollback: PendingRollback?
        /// A rollout under way: a restart finds it here and knows whether the commit was still being tried
        /// (try it again) or had failed and the last healthy one was being put back (finish the rollback).
        public var inFlight: InFlight?
        /// A commit that failed with nothing to roll back to: not tried again until the branch moves.
        public var lastFailed: String?
        /// Deployment records not yet pushed to the remote's notes.
        public var unpublished: [DeploymentRecord] = []
        /// The local target's server process group (its pid), for `/status` and people.
        public var serverProcessGroup: Int32?

        public init(lastAttempted: String? = nil, lastApplied: String? = nil) {
            self.lastAttempted = lastAttempted
            self.lastApplied = lastApplied
        }

        /// Absent lists are empty: a state file needs only what it knows.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            lastAttempted = try container.decodeIfPresent(String.self, forKey: .lastAttempted)
            lastApplied = try container.decodeIfPresent(String.self, forKey: .lastApplied)
            health = try container.decodeIfPresent(String.self, forKey: .health)
            conditions = try container.decodeIfPresent([CheckOutcome].self, forKey: .conditions) ?? []
            pendingRollback = try container.decodeIfPresent(PendingRollback.self, forKey: .pendingRollback)
            inFlight = try container.decodeIfPresent(InFlight.self, forKey: .inFlight)
            lastFailed = try container.decodeIfPresent(String.self, forKey: .lastFailed)
            unpublished = try container.decodeIfPresent([DeploymentRecord].self, forKey: .unpublished) ?? []
            serverProcessGroup = try container.decodeIfPresent(Int32.self, forKey: .serverProcessGroup)
        }
    }

    public struct InFlight: Codable, Sendable, Equatable {
        public enum Phase: String, Codable, Sendable { case applying, restoring }
        public var commit: String
        public var phase: Phase
        public var started: Date
        /// The failed checks, once the phase is `restoring`.
        public var reasons: [String] = []

        public init(commit: String, phase: Phase, started: Date, reasons: [String] = []) {
            self.commit = commit
            self.phase = phase
            self.started = started
            self.reasons = reasons
        }
    }

    public struct PendingRollback: Codable, Sendable, Equatable {
        /// The commit whose rollout failed, and the healthy one put back.
        public var failed: String
        public var restored: String
        public var reasons: [String]

        public init(failed: String, restored: String, reasons: [String]) {
            self.failed = failed
            self.restored = restored
            self.reasons = reasons
        }
    }

    /// Why the decoded state cannot be trusted, nil when it can.
    func defect() -> String? {
        guard version == Self.supportedVersion else { return "version \(version), expected \(Self.supportedVersion)" }
        for (name, environment) in environments.sorted(by: { $0.key < $1.key }) {
            let commits =
                [
                    environment.lastAttempted, environment.lastApplied, environment.lastFailed,
                    environment.inFlight?.commit,
                ]
                .compactMap { $0 }
                + [environment.pendingRollback?.failed, environment.pendingRollback?.restored].compactMap { $0 }
            if let bad = commits.first(where: { !ObjectID.isFullHex($0) }) {
                return "environment \(name) names \(bad.debugDescription), not a commit id"
            }
        }
        return nil
    }
}

/// The state file: written atomically (temporary file, fsync, rename), so a SIGKILL at any moment leaves
/// the old state or the new one. One that cannot be read back is set aside, not deleted, and the agent
/// starts from an empty state that the next pass rebuilds from git and the target.
public struct StateStore: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public struct Loaded: Sendable, Equatable {
        public var state: AgentState
        /// Set when a corrupt file was set aside: what happened, for the log and `/status`.
        public var recovery: String?
    }

    public func load(now: Date = Date()) throws -> Loaded {
        guard FileManager.default.fileExists(atPath: path) else { return Loaded(state: AgentState()) }
        let bytes: Data
        do {
            bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw GitOpsMLError.environment(
                "cannot read the agent state \(path): \(SystemErrors.describe(error) ?? "\(error)")")
        }
        let defect: String
        do {
            let state = try JSONDecoder().decode(AgentState.self, from: bytes)
            guard let found = state.defect() else { return Loaded(state: state) }
            defect = found
        } catch {
            defect = "not the agent's JSON"
        }
        let aside = path + ".corrupt-" + String(Int(now.timeIntervalSince1970))
        guard rename(path, aside) == 0 else {
            throw GitOpsMLError.environment(
                "the agent state \(path) is corrupt (\(defect)) and cannot be set aside: \(String(cString: strerror(errno)))"
            )
        }
        return Loaded(
            state: AgentState(),
            recovery: "the agent state \(path) was corrupt (\(defect)): set aside as \(aside), rebuilt from git")
    }

    /// The state as it is, for `agent status`: nothing set aside, a corrupt file is an error.
    public func peek() throws -> AgentState {
        guard let bytes = FileManager.default.contents(atPath: path) else { return AgentState() }
        guard let state = try? JSONDecoder().decode(AgentState.self, from: bytes), state.defect() == nil else {
            throw GitOpsMLError.environment(
                "the agent state \(path) is corrupt: the agent sets it aside when it starts")
        }
        return state
    }

    public func save(_ state: AgentState) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let bytes = try Array(encoder.encode(state)) + [UInt8(ascii: "\n")]
        try OutputFile.write(bytes, to: path, kind: OutputFile.check(path))
    }
}
