import Foundation
import GitOpsMLCore
import GitStore

/// One outcome of applying an environment-branch commit, as the agent saw it. Kept in git as a note on
/// that commit so that lineage, audit and promotion rules (soak time) read deployments from history alone.
public struct DeploymentRecord: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable { case healthy, failed }

    public var environment: String
    /// `local` or `kubernetes`.
    public var target: String
    /// The environment-branch commit applied (the note's own commit, repeated so a moved note is caught).
    public var commit: String
    public var started: Date
    public var finished: Date
    public var outcome: Outcome
    /// Every health check with its status and reason; the failed ones say why a rollback happened.
    public var checks: [CheckOutcome]
    /// The commit put back after a failure, nil when nothing was.
    public var restored: String?
    /// Who applied it: `gitops-ml <version> on <host>` or the agent's configured name.
    public var agent: String

    public init(
        environment: String, target: String, commit: String, started: Date, finished: Date, outcome: Outcome,
        checks: [CheckOutcome], restored: String? = nil, agent: String
    ) {
        self.environment = environment
        self.target = target
        self.commit = commit
        self.started = started
        self.finished = finished
        self.outcome = outcome
        self.checks = checks
        self.restored = restored
        self.agent = agent
    }
}

/// The notes under `refs/notes/gitops-ml-deployments`: per commit, `{"version": 1, "deployments": [...]}`
/// in the order they happened; each notes commit signed when a signer is given. Appending never drops what is there: a note that does not read back is an
/// error naming the commit, left as it is for a person to look at.
public enum DeploymentNotes {
    public static let ref = "refs/notes/gitops-ml-deployments"
    static let version = 1
    static let maximumNoteBytes = 4 << 20

    struct Document: Codable {
        var version: Int
        var deployments: [DeploymentRecord]
    }

    public static func records(for commit: ObjectID, in repository: Repository) throws -> [DeploymentRecord] {
        guard let text = try repository.note(for: commit, ref: ref) else { return [] }
        return try decode(text, commit: commit)
    }

    /// The records on `commit`'s note that a notes commit signed by one of `allowedSigners` (git's SSH
    /// format) wrote: the notes commit whose note has the record and whose first parent's does not. A record
    /// added or rewritten by an unsigned commit stays unverified when a signed commit is written on top of it,
    /// since that commit only carried it over. The notes ref's history is walked back until every record is
    /// placed.
    public static func verifiedRecords(
        for commit: ObjectID, in repository: Repository, allowedSigners: [UInt8]
    ) throws -> [DeploymentRecord] {
        try verifiedRecords(for: commit, in: repository) {
            _ = try CommitVerifier.verify($0, in: repository, allowedSignersContents: allowedSigners)
        }
    }

    /// The same, for any trust the agent verifies with (an allowed-signers file or an OpenPGP keyring).
    public static func verifiedRecords(
        for commit: ObjectID, in repository: Repository, trust: CommitVerifier.Trust
    ) throws -> [DeploymentRecord] {
        try verifiedRecords(for: commit, in: repository) {
            _ = try CommitVerifier.verify($0, in: repository, trust: trust)
        }
    }

    /// `verify` throws a VerificationFailure for a notes commit that is not signed by a trusted key.
    static func verifiedRecords(
        for commit: ObjectID, in repository: Repository, verify: (ObjectID) throws -> Void
    ) throws -> [DeploymentRecord] {
        guard var current = try repository.referenceTarget(ref), let text = try repository.note(for: commit, ref: ref)
        else { return [] }
        var unplaced = try decode(text, commit: commit)
        var verified: [DeploymentRecord] = []
        var signed: [ObjectID: Bool] = [:]
        for _ in 0..<100_000 where !unplaced.isEmpty {
            let parent = try repository.commit(current.hex).parents.first
            // An earlier note that does not read counts as none: what is here now was written after it.
            let before =
                try parent.flatMap { try repository.note(for: commit, notesCommit: $0) }
                .flatMap { try? decode($0, commit: commit) } ?? []
            let written = unplaced.filter { !before.contains($0) }
            if !written.isEmpty {
                let isSigned =
                    try signed[current]
                    ?? {
                        do {
                            try verify(current)
                            return true
                        } catch is VerificationFailure { return false }
                    }()
                signed[current] = isSigned
                if isSigned { verified += written }
            }
            unplaced.removeAll { written.contains($0) }
            guard let parent else { break }
            current = parent
        }
        return verified
    }

    /// Adds `record` to the note on its commit; returns every record now there.
    @discardableResult
    public static func append(
        _ record: DeploymentRecord, in repository: Repository, author: GitSignature? = nil,
        signer: CommitSigner? = nil
    ) throws -> [DeploymentRecord] {
        let commit = ObjectID(hex: record.commit)
        let records = try records(for: commit, in: repository) + [record]
        try repository.setNote(
            encode(records), for: commit, ref: ref, author: author,
            sign: signer.map { signer in { try signer.sign($0) } })
        return records
    }

    /// Appends `record` to the note on the remote (`NotesPublisher`) unless it is there already; returns the
    /// attempt that succeeded.
    /// Records only in local notes (a push that failed earlier) are not carried over: the caller keeps what
    /// it could not publish and publishes it again.
    @discardableResult
    public static func publish(
        _ record: DeploymentRecord, remote: String, in mirror: Repository? = nil, author: GitSignature? = nil,
        signer: CommitSigner? = nil, attempts: Int = 8, credentials: RemoteCredentials = .fromEnvironment()
    ) throws -> Int {
        let commit = ObjectID(hex: record.commit)
        return try NotesPublisher.update(
            ref, on: commit, remote: remote, in: mirror, author: author,
            sign: signer.map { signer in { try signer.sign($0) } },
            attempts: attempts, credentials: credentials
        ) { existing in
            // Publishing is keyed by the record itself: one already there (a kill between the push and the
            // agent's state save, a state recovered from a copy) is not written twice. It is compared as the
            // note keeps it: its times to the second, where the agent's state keeps them to the microsecond.
            let records = try existing.map { try decode($0, commit: commit) } ?? []
            let noted = try decode(encode([record]), commit: commit)
            if let existing, records.contains(noted[0]) { return existing }
            return try encode(records + noted)
        }
    }

    public static func encode(_ records: [DeploymentRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        encoder.dateEncodingStrategy = .iso8601
        let bytes = try encoder.encode(Document(version: version, deployments: records))
        return String(decoding: bytes, as: UTF8.self) + "\n"
    }

    static func decode(_ text: String, commit: ObjectID) throws -> [DeploymentRecord] {
        let place = "the deployment note (\(ref)) on \(commit.short)"
        // Notes arrive from the remote: a bound before decoding (thousands of records fit in it).
        guard text.utf8.count <= maximumNoteBytes else {
            throw GitOpsMLError.environment("\(place) is over \(maximumNoteBytes >> 20) MB: not a deployment record")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let document: Document
        do {
            document = try decoder.decode(Document.self, from: Data(text.utf8))
        } catch {
            throw GitOpsMLError.environment("\(place) is not a deployment record")
        }
        guard document.version == version else {
            throw GitOpsMLError.environment("\(place) has version \(document.version); this gitops-ml reads \(version)")
        }
        if let moved = document.deployments.first(where: { ObjectID(hex: $0.commit) != commit }) {
            throw GitOpsMLError.environment("\(place) records a deployment of \(moved.commit), another commit")
        }
        return document.deployments
    }
}
