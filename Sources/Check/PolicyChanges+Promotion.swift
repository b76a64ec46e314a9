import Config
import Foundation

/// The PromotionPolicy and DeployPolicy parts of what a change does to the rules: each way it makes a
/// promotion or a manifest easier to get through is listed as a loosening, as for gates.
extension PolicyChanges {
    /// PromotionPolicy rules by environment, loosening only.
    static func promotionLoosening(from old: [PromotionPolicy], to new: [PromotionPolicy]) -> [String] {
        func byEnvironment(_ policies: [PromotionPolicy]) -> [String: [PromotionPolicy.Environment]] {
            Dictionary(grouping: policies.flatMap(\.environments.values), by: \.name)
        }
        let before = byEnvironment(old)
        let after = byEnvironment(new)
        var loosened: [String] = []
        for name in before.keys.sorted() {
            let was = before[name] ?? []
            let now = after[name] ?? []
            guard !now.isEmpty else {
                loosened.append("promotion rules for \(name) removed")
                continue
            }
            func say(_ text: String) { loosened.append("promotion to \(name): \(text)") }
            let oldAfter = Set(was.flatMap(\.after))
            for earlier in oldAfter.subtracting(now.flatMap(\.after)).sorted() {
                say("no longer after \(earlier)")
            }
            let (oldSoak, newSoak) = (was.compactMap(\.soak).max(), now.compactMap(\.soak).max())
            if let oldSoak, (newSoak ?? 0) < oldSoak {
                say("soak \(PromotionDuration.words(oldSoak)) → \(newSoak.map(PromotionDuration.words) ?? "none")")
            }
            if Set(was.compactMap(\.agents)) != Set(now.compactMap(\.agents)), !was.compactMap(\.agents).isEmpty {
                say("agents file \(list(was.compactMap(\.agents))) → \(list(now.compactMap(\.agents)))")
            }
            if Set(was.compactMap(\.signers)) != Set(now.compactMap(\.signers)), !was.compactMap(\.signers).isEmpty {
                say("signers \(list(was.compactMap(\.signers))) → \(list(now.compactMap(\.signers)))")
            }
            let (oldApprovals, newApprovals) = (was.compactMap(\.approvals), now.compactMap(\.approvals))
            let (oldCount, newCount) = (oldApprovals.map(\.count).max() ?? 0, newApprovals.map(\.count).max() ?? 0)
            if newCount < oldCount { say("approvals \(oldCount) → \(newCount)") }
            if !oldApprovals.isEmpty, Set(oldApprovals.map(\.signers)) != Set(newApprovals.map(\.signers)) {
                say("approvers \(list(oldApprovals.map(\.signers))) → \(list(newApprovals.map(\.signers)))")
            }
            let (oldFreezes, newFreezes) = (was.flatMap(\.freezes), now.flatMap(\.freezes))
            let kept = { (freeze: PromotionPolicy.Freeze) in
                newFreezes.contains { $0.days == freeze.days && $0.from == freeze.from && $0.to == freeze.to }
            }
            if let gone = oldFreezes.first(where: { !kept($0) }) {
                say("freeze window\(gone.reason.map { " \"\($0)\"" } ?? "") removed or changed")
            }
            if let oldLimit = was.compactMap(\.maxPerDay).min() {
                let newLimit = now.compactMap(\.maxPerDay).min()
                if newLimit.map({ $0 > oldLimit }) ?? true {
                    say("max_per_day \(oldLimit) → \(newLimit.map(String.init) ?? "none")")
                }
            }
        }
        return loosened
    }

    /// DeployPolicy rules by id and environment scope, loosening only: a rule removed, made a warning, or
    /// narrowed to fewer environments.
    static func deployLoosening(from old: [DeployPolicy], to new: [DeployPolicy]) -> [String] {
        let after = Dictionary(new.flatMap(\.rules).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var loosened: [String] = []
        for rule in old.flatMap(\.rules) {
            guard let now = after[rule.id] else {
                loosened.append("deploy rule \(rule.id) removed")
                continue
            }
            if rule.severity == .error && now.severity == .warning {
                loosened.append("deploy rule \(rule.id) error → warning")
            }
            if rule.scope != now.scope && now.scope != .all {
                loosened.append("deploy rule \(rule.id) environments \(words(rule.scope)) → \(words(now.scope))")
            }
            var moved = now
            moved.location = rule.location
            if rule != moved && rule.severity == now.severity && rule.scope == now.scope {
                loosened.append("deploy rule \(rule.id) changed")
            }
        }
        return loosened
    }

    private static func words(_ scope: DeployPolicy.Scope) -> String {
        switch scope {
        case .all: return "all"
        case .production: return "production"
        case .named(let names): return "[\(names.joined(separator: ", "))]"
        }
    }

    private static func list(_ files: [String]) -> String {
        files.isEmpty ? "none" : Set(files).sorted().joined(separator: ", ")
    }
}

/// Durations in words for messages: `1d 12h`, `30m`, `45s`.
enum PromotionDuration {
    static func words(_ seconds: Double) -> String {
        let total = Int(seconds)
        let parts = [(total / 86400, "d"), (total % 86400 / 3600, "h"), (total % 3600 / 60, "m"), (total % 60, "s")]
        let text = parts.filter { $0.0 > 0 }.map { "\($0.0)\($0.1)" }.joined(separator: " ")
        return text.isEmpty ? "0s" : text
    }
}
