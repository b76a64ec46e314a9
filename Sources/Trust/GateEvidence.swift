import Check
import Config
import Datasets
import GitOpsMLCore
import GitStore
import Promotion

/// A stored gate report (the note `check` writes) is evidence, never trusted alone: its shape must be that
/// of schemas/check-report.schema.json, its verdict and summary must follow from its findings, it must be
/// for exactly the commit it is attached to, and `promote` recomputes the verdict from git objects.
public enum GateEvidence {
    /// Where `check --sign` keeps the report's signature, a note of its own beside the report's.
    public static let signatureNotes = "refs/notes/gitops-ml-signatures"
    /// The SSH signature namespace of gate reports, so that a commit signature cannot pass for one.
    public static let signatureNamespace = "gitops-ml-report"

    /// Why a report is refused; a promotion it would have allowed fails (exit 1).
    public struct Refusal: CategorizedError, Equatable {
        public var description: String
        public var category: ErrorCategory { .checkFailed }
        public init(_ description: String) { self.description = description }
    }

    /// What a valid report claims.
    public struct Claim: Equatable {
        public var verdict: Finding.Status
        public var headCommit: String
        public var baseCommit: String?
        public var findings: Int
        /// The gate suite's findings (the champion-vs-challenger tests), in report order.
        public var gates: [Gate] = []
    }

    /// One gate as the report states it.
    public struct Gate: Equatable, Sendable {
        public var check: String
        public var status: Finding.Status
        public var message: String
    }

    /// Parses and checks a stored report for `commit` (40 hex digits).
    public static func verify(_ bytes: [UInt8], commit: String) throws -> Claim {
        let subject = "the gate report on \(commit.prefix(12))"
        let root: StructuredValue
        do {
            root = try JSONReader.parse(bytes, file: "gate report note on \(commit.prefix(12))")
        } catch {
            throw Refusal("\(subject) is not valid JSON: \(error)")
        }
        func refuse(_ reason: String) -> Refusal {
            Refusal("\(subject) does not follow schemas/check-report.schema.json: \(reason)")
        }
        guard case .object(let fields) = root else { throw refuse("not an object") }
        let keys = Set(fields.map(\.key))
        let required: Set = ["schema_version", "tool", "verdict", "base", "head", "summary", "findings"]
        guard keys == required, fields.count == required.count else {
            throw refuse(
                "keys \(keys.sorted().joined(separator: ", ")), expected \(required.sorted().joined(separator: ", "))")
        }
        guard root["schema_version"] == .int(CheckReport.schemaVersion) else { throw refuse("schema_version is not 1") }
        guard case .object(let tool)? = root["tool"], tool.count == 2, root["tool"]?["name"] == .string("gitops-ml"),
            case .string? = root["tool"]?["version"]
        else { throw refuse("tool is not {name: gitops-ml, version}") }
        guard case .string(let verdictText)? = root["verdict"], let verdict = Finding.Status(rawValue: verdictText),
            verdict == .pass || verdict == .fail
        else { throw refuse("verdict is not pass or fail") }
        let head = try revision(root["head"], refuse)
        guard let headCommit = head else { throw refuse("head.commit is missing") }
        guard headCommit == commit else {
            throw Refusal("\(subject) was made for \(headCommit.prefix(12)), not for this commit")
        }
        let base: String?
        if root["base"] == .null { base = nil } else { base = try revision(root["base"], refuse) }

        guard case .array(let items)? = root["findings"] else { throw refuse("findings is not an array") }
        var counts: [Finding.Status: Int] = [:]
        var gates: [Gate] = []
        let suites: Set = ["policy", "config", "data", "model", "gate", "code", "deploy"]
        for (index, item) in items.enumerated() {
            guard case .object(let pairs) = item else { throw refuse("findings[\(index)] is not an object") }
            let names = Set(pairs.map(\.key))
            let needed: Set = ["id", "suite", "check", "status", "message", "observed", "expected"]
            guard needed.isSubset(of: names), names.isSubset(of: needed.union(["location", "details"])),
                names.count == pairs.count
            else { throw refuse("findings[\(index)] has keys \(names.sorted().joined(separator: ", "))") }
            for key in ["id", "check", "message"] {
                guard case .string? = item[key] else { throw refuse("findings[\(index)].\(key) is not a string") }
            }
            guard case .string(let suite)? = item["suite"], suites.contains(suite) else {
                throw refuse("findings[\(index)].suite is not one of \(suites.sorted().joined(separator: ", "))")
            }
            guard case .string(let statusText)? = item["status"], let status = Finding.Status(rawValue: statusText)
            else {
                throw refuse("findings[\(index)].status is not pass, skip, warn, fail or error")
            }
            if let details = item["details"], case .object = details {
            } else if item["details"] != nil {
                throw refuse("findings[\(index)].details is not an object")
            }
            counts[status, default: 0] += 1
            if suite == "gate", case .string(let check)? = item["check"], case .string(let message)? = item["message"] {
                gates.append(Gate(check: check, status: status, message: message))
            }
        }
        // The verdict and the summary must follow from the findings.
        let expected: Finding.Status = (counts[.fail] ?? 0) + (counts[.error] ?? 0) > 0 ? .fail : .pass
        guard verdict == expected else {
            throw Refusal("\(subject) says \(verdict.rawValue), but its own findings make it \(expected.rawValue)")
        }
        for status in Finding.Status.allCases {
            guard root["summary"]?[status.rawValue] == .int(counts[status] ?? 0) else {
                throw refuse("summary.\(status.rawValue) does not count the findings")
            }
        }
        guard case .object(let summary)? = root["summary"], summary.count == Finding.Status.allCases.count else {
            throw refuse("summary has other keys")
        }
        return Claim(
            verdict: verdict, headCommit: headCommit, baseCommit: base, findings: items.count, gates: gates)
    }

    /// A revision object's commit (nil for the workspace).
    static func revision(_ value: StructuredValue?, _ refuse: (String) -> Refusal) throws -> String? {
        guard case .object(let pairs)? = value, pairs.count == 2, case .string? = value?["rev"] else {
            throw refuse("a revision is not {rev, commit}")
        }
        switch value?["commit"] {
        case .null?: return nil
        case .string(let text)? where ObjectID.isFullHex(text):
            return text
        default: throw refuse("a revision's commit is not a full object id")
        }
    }

    /// The gate verdict recomputed from git objects with `rules`: config, data, model and gate suites of
    /// `head` against `base` (code checks are not re-run here: their findings stand in the report).
    public static func recompute(
        rules: RuleSet, head: CheckRevision, base: CheckRevision?, stores: DataStores
    ) throws -> [Finding] {
        let context = CheckContext(
            config: rules.config, policies: rules.policies, head: head, base: base,
            suites: [.config, .data, .model, .gate], workTree: nil, stores: stores)
        return try CheckRunner.run(context)
    }

    /// The gates re-run from git objects — `source` against `champion` (what the environment ran, named
    /// `championName` in messages; none for a first deployment) by `rules` — as `promote` and `audit` both
    /// re-run them: the failing findings, empty when the verdict passes.
    public static func recomputedFailures(
        source: ObjectID, champion: ObjectID?, championName: String, rules: RuleSet, in repository: Repository
    ) throws -> [Finding] {
        let base = try champion.map {
            CheckRevision(files: try repository.fileView(.git($0.hex)), name: championName, commit: $0.hex)
        }
        let head = CheckRevision(
            files: try repository.fileView(.git(source.hex)), name: source.short, commit: source.hex)
        let findings = try recompute(
            rules: rules, head: head, base: base,
            stores: DataStores.of(gitDirectory: repository.gitDirectory, workTree: repository.workTree))
        guard findings.verdict != .pass else { return [] }
        return findings.filter { $0.status == .fail || $0.status == .error }
    }

    /// Who signed the report on `source` (`check --sign ssh`: a note of its own, in the reports' SSH
    /// namespace), verified against `signers`, an allowed-signers file read from the trusted rules' own
    /// revision (`rules`). Refused when unsigned or signed by anyone else; a signers file the rules name but
    /// do not have is a configuration error.
    public static func signer(
        of source: ObjectID, signers: String, in rules: any FileView, repository: Repository
    ) throws -> String {
        guard let note = try repository.note(for: source) else {
            throw Refusal("there is no gate report on \(source.short)")
        }
        guard let allowed = try rules.read(signers) else {
            throw GitOpsMLError.configuration(
                "report_signers names \(signers), which the default branch does not have")
        }
        guard let signature = try repository.note(for: source, ref: signatureNotes) else {
            throw Refusal("the gate report on \(source.short) is not signed (gitops-ml check --sign ssh)")
        }
        do {
            return try SSHSignature.verify(
                Array(note.utf8), signature: signature, allowedSignersContents: allowed, namespace: signatureNamespace)
        } catch let failure as SSHSignature.Failure {
            throw Refusal(
                "the gate report on \(source.short) is not signed by a signer of \(signers): \(failure.description)")
        }
    }

    /// What a promotion of `source` to `environment` may rely on: the note `check` stored on it, when it is a
    /// valid report that passed for exactly that commit, signed by one of the environment's `report_signers`
    /// when it names them, and whose verdict, recomputed from git objects — `source` against what the
    /// environment runs (`champion`) by the trusted rules — passes too. Returns the report and its signer.
    public static func admit(
        _ source: ObjectID, to environment: String, champion: ObjectID?, trusted: TrustedRules,
        repository: Repository
    ) throws -> (report: String, signer: String?) {
        guard let note = try repository.note(for: source) else {
            throw PromotionFailure.noGateReport(commit: source.hex)
        }
        let claim = try verify(Array(note.utf8), commit: source.hex)
        guard claim.verdict == .pass else {
            throw PromotionFailure.gateReportFailed(commit: source.hex, verdict: claim.verdict.rawValue)
        }
        let rules = trusted.rules
        var signedBy: String?
        if let signers = rules.config.environments[environment]?.reportSigners {
            do {
                signedBy = try signer(of: source, signers: signers, in: trusted.files, repository: repository)
            } catch let refusal as Refusal {
                throw Refusal("\(environment) needs a signed gate report: \(refusal)")
            }
        }
        let championName = champion.map { "\(environment) (\($0.short))" } ?? "no champion"
        let failing = try recomputedFailures(
            source: source, champion: champion, championName: championName, rules: rules, in: repository)
        guard failing.isEmpty else {
            throw Refusal(
                "the gate report on \(source.short) says pass, but recomputed from git objects against \(championName) by the rules of \(rules.source) it fails (\(failing.count) failing: \(failing.prefix(2).map(\.message).joined(separator: " | ")))"
            )
        }
        return (note, signedBy)
    }
}
