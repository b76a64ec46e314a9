import Foundation
import GitOpsMLCore

/// `kind: PromotionPolicy`: which versions may reach which environment, per environment. Evaluated by
/// `PromotionRules` (module Policies) where a promotion is written, applied and audited.
public struct PromotionPolicy: Sendable, Equatable {
    public var name: String
    /// The IANA time zone of freeze windows and of the days `max_per_day` counts (default UTC).
    public var timeZone: String
    public var environments: [String: Environment]
    public var location: SourceLocation

    public struct Environment: Sendable, Equatable {
        public var name: String
        /// Environments the version must have been promoted to (and, with `soak`, run healthy in) first.
        public var after: [String] = []
        /// How long the version must have run healthy in each of `after`, not rolled back since (seconds).
        public var soak: Double?
        /// An allowed-signers file (git's SSH format) in the repository with the agents' keys: a deployment
        /// note counts for `soak` only when a notes commit signed by one of them wrote it.
        public var agents: String?
        /// An allowed-signers file (git's SSH format) in the repository: the promotion commit must be
        /// signed by one of them.
        public var signers: String?
        public var approvals: Approvals?
        public var freezes: [Freeze] = []
        public var maxPerDay: Int?
        /// How a promoted version takes over on live traffic; written into the release record.
        public var rollout: RolloutSettings?
        public var location: SourceLocation
    }

    /// N distinct allowed signers must have approved the source commit for the environment
    /// (`gitops-ml approve`: signed notes commits on `refs/notes/gitops-ml-approvals`).
    public struct Approvals: Sendable, Equatable {
        public var count: Int
        public var signers: String
    }

    /// No promotion on these days (all days when empty) between `from` and `to` (local time, minutes
    /// since midnight; `to` 24:00 is the end of the day).
    public struct Freeze: Sendable, Equatable {
        public var days: Set<Int>
        public var from: Int
        public var to: Int
        public var reason: String?
        public var location: SourceLocation
    }

    /// Weekday names to Calendar's numbers (Sunday 1).
    public static let weekdays = ["sun": 1, "mon": 2, "tue": 3, "wed": 4, "thu": 5, "fri": 6, "sat": 7]

    init(name: String, spec node: ConfigNode) throws {
        let spec = try node.mapping()
        self.name = name
        location = node.location
        let zone = spec.optional("timezone")
        timeZone = try zone?.string() ?? "UTC"
        guard TimeZone(identifier: timeZone) != nil else {
            throw zone?.error("unknown time zone \"\(timeZone)\" (an IANA name: UTC, Europe/Berlin)")
                ?? node.error("unknown time zone")
        }
        environments = [:]
        for (key, value) in try spec.required("environments").mapping().all() {
            let map = try value.mapping()
            var environment = Environment(name: key, location: value.location)
            environment.after = try map.optional("after")?.strings() ?? []
            if let soak = map.optional("soak") { environment.soak = try Self.duration(soak) }
            environment.agents = try map.optional("agents")?.repositoryPath()
            environment.signers = try map.optional("signers")?.repositoryPath()
            if let approvals = map.optional("approvals") {
                let approvalMap = try approvals.mapping()
                let count = try approvalMap.required("count")
                environment.approvals = Approvals(
                    count: try count.int(), signers: try approvalMap.required("signers").repositoryPath())
                guard (environment.approvals?.count ?? 0) >= 1 else { throw count.error("count must be 1 or more") }
                try approvalMap.finish()
            }
            for item in try map.optional("freeze")?.list() ?? [] {
                let freezeMap = try item.mapping()
                var days: Set<Int> = []
                for dayNode in try freezeMap.optional("days")?.list() ?? [] {
                    let day = try dayNode.string().lowercased().prefix(3)
                    guard let number = Self.weekdays[String(day)] else {
                        throw dayNode.error("unknown day \"\(try dayNode.string())\" (mon, tue, … sun)")
                    }
                    days.insert(number)
                }
                let from = try freezeMap.optional("from").map(Self.clock) ?? 0
                let to = try freezeMap.optional("to").map(Self.clock) ?? 24 * 60
                guard from < to else { throw item.error("a freeze window's from must be before its to") }
                environment.freezes.append(
                    Freeze(
                        days: days, from: from, to: to, reason: try freezeMap.optional("reason")?.string(),
                        location: item.location))
                try freezeMap.finish()
            }
            if let limit = map.optional("max_per_day") {
                environment.maxPerDay = try limit.int()
                guard (environment.maxPerDay ?? 0) >= 1 else { throw limit.error("max_per_day must be 1 or more") }
            }
            environment.rollout = try map.optional("rollout").map(RolloutSettings.init)
            try map.finish()
            environments[key] = environment
        }
        try spec.finish()
    }

    /// `90s`, `30m`, `24h`, `7d` (or a combination, `1d12h`) in seconds.
    static func duration(_ node: ConfigNode) throws -> Double {
        let text = try node.string()
        var total = 0.0
        var number = ""
        for character in text {
            if character.isNumber {
                number.append(character)
            } else if let unit = ["s": 1.0, "m": 60, "h": 3600, "d": 86400][String(character)],
                let value = Double(number)
            {
                total += value * unit
                number = ""
            } else {
                throw node.error("\"\(text)\" is not a duration (90s, 30m, 24h, 7d)")
            }
        }
        guard number.isEmpty, !text.isEmpty else {
            throw node.error("\"\(text)\" is not a duration (90s, 30m, 24h, 7d)")
        }
        return total
    }

    /// `HH:MM` in minutes since midnight (24:00 allowed as the end of a day).
    static func clock(_ node: ConfigNode) throws -> Int {
        let text = try node.string()
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...59).contains(minutes),
            (0...23).contains(hours) || (hours == 24 && minutes == 0)
        else { throw node.error("\"\(text)\" is not a time of day (HH:MM)") }
        return hours * 60 + minutes
    }
}
