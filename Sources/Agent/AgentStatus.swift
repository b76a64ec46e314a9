import Config
import Foundation
import GitOpsMLCore

/// `/status` and `agent status`: per environment what was last attempted and applied, the health, and
/// the conditions with their reasons. Read from the state; nothing secret is in it.
public struct AgentStatus: Codable, Sendable, Equatable {
    public var agent: String
    /// False until the first pass has finished.
    public var ready: Bool
    /// What happened to a corrupt state file, when one was set aside.
    public var recovery: String?
    public var environments: [String: Environment]

    public struct Environment: Codable, Sendable, Equatable {
        public var branch: String
        public var target: String
        public var lastAttempted: String?
        public var lastApplied: String?
        public var lastFailed: String?
        public var health: String?
        public var conditions: [CheckOutcome]
        public var pendingRollback: AgentState.PendingRollback?
        /// A rollout (or a restore) under way: the commit, its phase and when it started.
        public var inFlight: AgentState.InFlight?
        /// Deployment records waiting to be pushed.
        public var unpublishedRecords: Int
        /// The canary, blue-green or shadow rollout under way or last decided behind the proxy: the
        /// share, the observations, the decisions and every rule's standing.
        public var rollout: RolloutProxy.Progress?
    }

    public init(agent: String, ready: Bool, recovery: String?, state: AgentState, config: AgentConfig) {
        self.agent = agent
        self.ready = ready
        self.recovery = recovery
        var environments: [String: Environment] = [:]
        for environment in config.environments {
            let known = state.environments[environment.name] ?? AgentState.Environment()
            environments[environment.name] = Environment(
                branch: environment.branch, target: environment.target.rawValue, lastAttempted: known.lastAttempted,
                lastApplied: known.lastApplied, lastFailed: known.lastFailed, health: known.health,
                conditions: known.conditions, pendingRollback: known.pendingRollback, inFlight: known.inFlight,
                unpublishedRecords: known.unpublished.count)
        }
        self.environments = environments
    }

    public func json() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8)) + [UInt8(ascii: "\n")]
    }
}
