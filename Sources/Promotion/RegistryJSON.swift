import Foundation
import GitOpsMLCore

/// `registry show --json` and `registry history --json`, with GTO's field names and shapes.
extension RegistryState {
    /// `gto show --json`: every active artifact (all with `deprecated`), its latest registered version and
    /// the version in each stage of the registry (null where it has none).
    public func showJSON(includeDeprecated: Bool = false) -> StructuredValue {
        let holders = artifacts.map(\.stageVersions)
        let stages = Self.stages(of: holders)
        return .object(
            zip(artifacts, holders).filter { $0.0.isActive || includeDeprecated }.map { artifact, held in
                (
                    artifact.name,
                    .object([
                        ("version", artifact.latestVersion.map { .string($0.version) } ?? .null),
                        ("stage", .object(stages.map { ($0, held[$0].map { .string($0.version) } ?? .null) })),
                        ("registered", .bool(true)),
                        ("active", .bool(artifact.isActive)),
                    ])
                )
            })
    }

    /// `gto show MODEL --json`: the artifact's versions, newest semver first, each with its stages.
    public func versionsJSON(_ name: String, includeDeprecated: Bool = false) -> StructuredValue? {
        guard let artifact = artifact(name) else { return nil }
        let holders = artifact.stageVersions
        let versions =
            includeDeprecated
            ? RegistryState.semverOrder(artifact.versions) : artifact.activeVersions(includeDiscovered: true)
        guard artifact.isActive || includeDeprecated else { return .array([]) }
        return .array(
            versions.map { version in
                let stages = holders.filter { $0.value === version }.keys.sorted {
                    let a = version.latestAssignment($0)
                    let b = version.latestAssignment($1)
                    return a.flatMap { a in b.map { b in RegistryEvent.precedes(b, a) } } ?? false
                }
                let authoring = version.authoring
                return .object(
                    [
                        ("artifact", .string(artifact.name)), ("commit_hexsha", .string(version.commit)),
                        ("version", .string(version.version)), ("enrichments", .array([])),
                        ("registrations", .array(version.registrations.map { Self.event($0, withKind: false) })),
                        ("deregistrations", .array(version.deregistrations.map { Self.event($0, withKind: false) })),
                        ("stages", .array(stages.map { Self.versionStage(version, $0, artifact: artifact.name) })),
                        ("is_active", .bool(version.isActive)),
                        ("activated_at", version.activatedAt.map { .string(Self.timestamp($0)) } ?? .null),
                    ] + Self.authoring(authoring) + [("discovered", .bool(version.discovered))])
            })
    }

    /// `gto history [MODEL] --json`: every event, newest first (same second: higher priority first).
    public func historyJSON(_ name: String? = nil) -> StructuredValue {
        let events = artifacts.filter { name == nil || $0.name == name }.flatMap(\.events)
            .sorted { a, b in
                if a.time != b.time { return a.time > b.time }
                if a.kind.priority != b.kind.priority { return a.kind.priority > b.kind.priority }
                return RegistryEvent.precedes(b, a)
            }
        return .array(
            events.map { event in
                .object([
                    ("timestamp", .string(Self.timestamp(event))), ("artifact", .string(event.artifact)),
                    ("event", .string(event.kind.rawValue)), ("priority", .int(event.kind.priority)),
                    ("version", event.version.map(StructuredValue.string) ?? .null),
                    ("stage", event.stage.map(StructuredValue.string) ?? .null), ("commit", .string(event.commit)),
                    ("author", .string(event.author)), ("author_email", .string(event.authorEmail)),
                    ("message", .string(event.message)), ("ref", .string(event.tag)),
                ])
            })
    }

    static func versionStage(_ version: Version, _ stage: String, artifact: String) -> StructuredValue {
        let events = version.stages[stage] ?? []
        let latest = version.latestAssignment(stage)
        return .object(
            [
                ("artifact", .string(artifact)), ("commit_hexsha", .string(version.commit)),
                ("version", .string(version.version)), ("stage", .string(stage)),
                ("assignments", .array(events.filter { $0.kind == .assignment }.map { event($0, withKind: true) })),
                ("unassignments", .array(events.filter { $0.kind == .unassignment }.map { event($0, withKind: true) })),
                ("is_active", .bool(version.stageIsActive(stage))),
                (
                    "activated_at",
                    version.stageIsActive(stage) ? events.last.map { .string(timestamp($0)) } ?? .null : .null
                ),
            ] + authoring(latest))
    }

    static func authoring(_ event: RegistryEvent?) -> [(key: String, value: StructuredValue)] {
        guard let event else { return [] }
        return [
            ("created_at", .string(timestamp(event))), ("author", .string(event.author)),
            ("author_email", .string(event.authorEmail)), ("message", .string(event.message)),
            ("ref", .string(event.tag)),
        ]
    }

    static func event(_ event: RegistryEvent, withKind: Bool) -> StructuredValue {
        var fields: [(key: String, value: StructuredValue)] = [
            ("priority", .int(event.kind.priority)), ("addition", .bool(event.kind.isAddition)),
            ("artifact", .string(event.artifact)), ("created_at", .string(timestamp(event))),
            ("author", .string(event.author)), ("author_email", .string(event.authorEmail)),
            ("message", .string(event.message)), ("commit_hexsha", .string(event.commit)), ("tag", .string(event.tag)),
        ]
        if let version = event.version { fields.append(("version", .string(version))) }
        if let stage = event.stage { fields.append(("stage", .string(stage))) }
        if withKind { fields.append(("event", .string(event.kind.rawValue))) }
        return .object(fields)
    }

    /// Python's `datetime.isoformat()` of the tag's time in the tagger's offset: `2026-11-23T16:30:02+00:00`.
    static func timestamp(_ event: RegistryEvent) -> String {
        // A tag may claim any time (a forged one near Int64.max): clamped to ±100,000 years first, so the
        // arithmetic below cannot overflow.
        let raw = event.time.timeIntervalSince1970
        let bounded = raw.isFinite ? min(max(raw, -3.2e12), 3.2e12) : 0
        let seconds = Int(bounded.rounded(.down)) + max(min(event.offsetMinutes, 100_000), -100_000) * 60
        let days = Int((Double(seconds) / 86400).rounded(.down))
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = CivilDate.date(days: days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let offset = abs(event.offsetMinutes)
        return
            "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
            + "\(event.offsetMinutes < 0 ? "-" : "+")\(two(offset / 60)):\(two(offset % 60))"
    }
}
