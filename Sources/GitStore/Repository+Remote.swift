internal import CLibGit2
import Foundation
import GitOpsMLCore

/// How to authenticate to remotes. Secrets come from the environment and never reach messages.
public struct RemoteCredentials: Sendable {
    /// A token for HTTPS remotes, sent as the password of HTTP basic authentication.
    public var token: String?
    /// The user name that goes with the token (`x-access-token` is what GitHub expects).
    public var username: String
    /// A private key file for SSH remotes; without it, the SSH agent is asked.
    public var sshKeyPath: String?
    /// The known_hosts file that SSH host keys must be listed in.
    public var knownHostsPath: String?

    public init(
        token: String? = nil, username: String = "x-access-token", sshKeyPath: String? = nil,
        knownHostsPath: String? = nil
    ) {
        self.token = token
        self.username = username
        self.sshKeyPath = sshKeyPath
        self.knownHostsPath = knownHostsPath
    }

    /// `GITOPS_ML_GIT_TOKEN` (else `GITHUB_TOKEN`), `GITOPS_ML_GIT_USERNAME`, `GITOPS_ML_SSH_KEY`,
    /// `GITOPS_ML_SSH_KNOWN_HOSTS` (else `~/.ssh/known_hosts`).
    public static func fromEnvironment(_ environment: [String: String] = ProcessSecrets.environment)
        -> RemoteCredentials
    {
        RemoteCredentials(
            token: environment["GITOPS_ML_GIT_TOKEN"] ?? environment["GITHUB_TOKEN"],
            username: environment["GITOPS_ML_GIT_USERNAME"] ?? "x-access-token",
            sshKeyPath: environment["GITOPS_ML_SSH_KEY"],
            knownHostsPath: environment["GITOPS_ML_SSH_KNOWN_HOSTS"]
                ?? environment["HOME"].map { $0 + "/.ssh/known_hosts" })
    }
}

/// Per-operation state handed to libgit2's C callbacks through their payload pointer.
private final class RemoteSession {
    let credentials: RemoteCredentials
    var attempts = 0
    var rejected: [(reference: String, status: String)] = []
    /// Why an SSH host key was refused, to replace libgit2's generic certificate error.
    var hostKeyProblem: String?

    init(_ credentials: RemoteCredentials) { self.credentials = credentials }
}

extension Repository {
    /// Fetches `refspecs` (`+refs/heads/*:refs/remotes/origin/*`) from a configured remote or a URL.
    /// Blocks on the network: call it from a dedicated thread, not from Swift's cooperative pool.
    public func fetch(
        _ remote: String, refspecs: [String], credentials: RemoteCredentials = .fromEnvironment()
    ) throws {
        Log.info("fetch", ["remote": remote, "refspecs": refspecs.joined(separator: " ")])
        let session = RemoteSession(credentials)
        defer { withExtendedLifetime(session) {} }
        try withRemote(remote) { handle in
            var options = git_fetch_options()
            git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION))
            install(session, into: &options.callbacks)
            try withStringArray(refspecs) { array in
                try session.check(git_remote_fetch(handle, &array, &options, "gitops-ml fetch"), "fetch", remote)
            }
        }
    }

    /// Pushes `refspecs` (`refs/heads/main:refs/heads/main`). A rejected non-fast-forward update throws
    /// `GitError` with code `.nonFastForward`, whichever transport reported it.
    public func push(
        _ remote: String, refspecs: [String], credentials: RemoteCredentials = .fromEnvironment()
    ) throws {
        Log.info("push", ["remote": remote, "refspecs": refspecs.joined(separator: " ")])
        let session = RemoteSession(credentials)
        try withRemote(remote) { handle in
            var options = git_push_options()
            git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION))
            install(session, into: &options.callbacks)
            try withStringArray(refspecs) { array in
                try session.check(git_remote_push(handle, &array, &options), "push", remote)
            }
        }
        if let rejection = session.rejected.first {
            // Refused because the remote ref moved (behind it, or updated concurrently): fetch again. Refused
            // because the server could not lock the ref: nothing moved, the same push is tried again later.
            let locked = ["failed to lock", "cannot lock ref"].contains { rejection.status.contains($0) }
            let nonFastForward = ["non-fast-forward", "fetch first", "rejected", "stale info", "failed to update ref"]
                .contains { rejection.status.contains($0) }
            throw GitError(
                locked ? .locked : nonFastForward ? .nonFastForward : .other(-1), operation: "push",
                subject: "\(rejection.reference) to \(Redaction.url(remote))", message: rejection.status)
        }
    }

    /// The references the remote advertises (`refs/heads/main`, …), without fetching anything.
    public func remoteReferences(_ remote: String, credentials: RemoteCredentials = .fromEnvironment()) throws
        -> Set<String>
    {
        let session = RemoteSession(credentials)
        defer { withExtendedLifetime(session) {} }
        var names: Set<String> = []
        try withRemote(remote) { handle in
            var callbacks = git_remote_callbacks()
            git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
            install(session, into: &callbacks)
            try session.check(git_remote_connect(handle, GIT_DIRECTION_FETCH, &callbacks, nil, nil), "connect", remote)
            defer { git_remote_disconnect(handle) }
            var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
            var count = 0
            try session.check(git_remote_ls(&heads, &count, handle), "list references", remote)
            for index in 0..<count {
                if let head = heads?[index], let name = head.pointee.name { names.insert(String(cString: name)) }
            }
        }
        return names
    }

    /// The URL of a configured remote, without credentials; nil when no remote has that name.
    public func configuredRemoteURL(_ remote: String) -> String? {
        guard var url = configuredURL(remote) else { return nil }
        // https://user:token@host/… → https://host/…: a URL written into manifests carries no secret.
        if let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
            !url[scheme.upperBound..<at].contains("/")
        {
            url.removeSubrange(scheme.upperBound...at)
        }
        return url
    }

    /// The URL of a configured remote, or `remote` itself; a relative path is made absolute (from the
    /// current directory), so the URL can be used from another repository.
    public func remoteURL(_ remote: String) throws -> String {
        let url = configuredURL(remote) ?? remote
        if try localPath(of: url) != nil, !url.hasPrefix("/"), !url.hasPrefix("file://") {
            // A configured remote's relative path is relative to the repository, a given one to the cwd.
            let base = url == remote ? FileManager.default.currentDirectoryPath : root
            return URL(fileURLWithPath: url, relativeTo: URL(fileURLWithPath: base + "/")).standardizedFileURL.path
        }
        return url
    }

    /// The URL a configured remote has as written (credentials included); nil when none has that name.
    private func configuredURL(_ remote: String) -> String? {
        guard let configured = try? Owned<Git.Remote>("read remote", remote, { git_remote_lookup(&$0, handle, remote) })
        else { return nil }
        return git_remote_url(configured.pointer).map { String(cString: $0) }
    }

    /// Runs `body` on a remote handle. A repository on this machine is read ref by ref, so another writer's
    /// short-lived `refs/gitops-ml/incoming/*` ref (see `pushCompareAndSwap`) can vanish between the listing
    /// and the read; such a failure is retried on a fresh handle, briefly, for every remote operation.
    private func withRemote(_ remote: String, _ body: (OpaquePointer) throws -> Void) throws {
        for attempt in 1..<5 {
            do {
                return try withRemoteHandle(remote, body)
            } catch let error as GitError
                where "\(error)".contains(Self.incomingPrefix) && "\(error)".contains("not found")
            {
                Thread.sleep(forTimeInterval: 0.01 * Double(attempt))
            }
        }
        try withRemoteHandle(remote, body)
    }

    private func withRemoteHandle(_ remote: String, _ body: (OpaquePointer) throws -> Void) throws {
        var raw: OpaquePointer?
        if git_remote_lookup(&raw, handle, remote) != 0 {
            // A URL, not a configured remote. Without url.<base>.insteadOf rewriting: libgit2 1.5 leaks about
            // 100 KB of PCRE2 match data per insteadOf lookup, which a long-running agent cannot afford.
            var options = git_remote_create_options()
            git_remote_create_options_init(&options, UInt32(GIT_REMOTE_CREATE_OPTIONS_VERSION))
            options.repository = handle
            options.flags =
                GIT_REMOTE_CREATE_SKIP_INSTEADOF.rawValue | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC.rawValue
            try check(
                git_remote_create_with_opts(&raw, remote, &options), "open remote", Redaction.url(remote),
                notFound: .network)
        }
        guard let raw else {
            throw GitError(.network, operation: "open remote", subject: Redaction.url(remote), message: "")
        }
        let connection = Owned<Git.Remote>(adopting: raw)
        try withExtendedLifetime(self) { try body(connection.pointer) }
    }

    private func install(_ session: RemoteSession, into callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(session).toOpaque()
        callbacks.credentials = { out, _, urlUsername, allowed, payload in
            guard let out, let payload else { return -1 }
            let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
            session.attempts += 1
            // libgit2 asks again after a refusal; three refusals mean the credentials are wrong.
            guard session.attempts <= 3 else { return GIT_EAUTH.rawValue }
            let credentials = session.credentials
            if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let token = credentials.token {
                return git_credential_userpass_plaintext_new(out, credentials.username, token)
            }
            if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
                let user = urlUsername.map { String(cString: $0) } ?? "git"
                if let key = credentials.sshKeyPath {
                    return git_credential_ssh_key_new(out, user, nil, key, nil)
                }
                return git_credential_ssh_key_from_agent(out, user)
            }
            if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
                return git_credential_username_new(out, urlUsername.map { String(cString: $0) } ?? "git")
            }
            return GIT_PASSTHROUGH.rawValue
        }
        callbacks.certificate_check = { certificate, valid, host, payload in
            guard let certificate, let payload else { return -1 }
            // TLS certificates: libgit2 has verified them against the system's trust store.
            guard certificate.pointee.cert_type == GIT_CERT_HOSTKEY_LIBSSH2 else { return valid != 0 ? 0 : -1 }
            let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
            let hostKey = UnsafeRawPointer(certificate).assumingMemoryBound(to: git_cert_hostkey.self).pointee
            guard hostKey.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = hostKey.hostkey else {
                session.hostKeyProblem = "the SSH server did not present a host key"
                return GIT_ECERTIFICATE.rawValue
            }
            let key = Data(bytes: raw, count: hostKey.hostkey_len)
            session.hostKeyProblem = KnownHosts.problem(
                host: host.map { String(cString: $0) } ?? "", key: key, file: session.credentials.knownHostsPath)
            return session.hostKeyProblem == nil ? 0 : GIT_ECERTIFICATE.rawValue
        }
        callbacks.push_update_reference = { reference, status, payload in
            guard let status, let payload else { return 0 }
            let session = Unmanaged<RemoteSession>.fromOpaque(payload).takeUnretainedValue()
            session.rejected.append((reference.map { String(cString: $0) } ?? "", String(cString: status)))
            return 0
        }
    }
}

extension RemoteSession {
    /// `check(_:)` for network calls: a refused SSH host key is reported as such, and URLs are redacted.
    func check(_ code: Int32, _ operation: String, _ remote: String) throws {
        guard code < 0 else { return }
        if let hostKeyProblem {
            throw GitError(
                .authentication, operation: operation, subject: Redaction.url(remote), message: hostKeyProblem)
        }
        throw lastError(code, operation, Redaction.url(remote), notFound: .network)
    }
}

/// SSH host keys must be listed in a known_hosts file (plain host names; hashed entries are not read).
enum KnownHosts {
    /// nil when `key` is listed for `host`; else why not.
    static func problem(host: String, key: Data, file: String?) -> String? {
        guard let file, let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            return "cannot verify the SSH host key of \(host): no known_hosts file (set GITOPS_ML_SSH_KNOWN_HOSTS)"
        }
        let encoded = key.base64EncodedString()
        var listed = false
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3 else { continue }
            let names = fields[0].split(separator: ",").map(String.init)
            guard names.contains(where: { $0 == host || $0.hasPrefix("[\(host)]:") }) else { continue }
            listed = true
            if fields[2] == encoded { return nil }
        }
        return listed
            ? "the SSH host key of \(host) does not match \(file): refusing to connect"
            : "the SSH host key of \(host) is not in \(file)"
    }
}

/// Calls `body` with a `git_strarray` holding copies of `strings`.
func withStringArray(_ strings: [String], _ body: (inout git_strarray) throws -> Void) rethrows {
    let pointers = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: max(strings.count, 1))
    for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
    defer {
        for index in 0..<strings.count { free(pointers[index]) }
        pointers.deallocate()
    }
    var array = git_strarray(strings: pointers, count: strings.count)
    try body(&array)
}

extension Repository {
    /// Where `pushCompareAndSwap` puts the objects on a local remote before it moves the real ref.
    static let incomingPrefix = "refs/gitops-ml/incoming/"
    /// A ref lock on a local remote older than this is taken as left by a killed writer (seconds).
    static let staleLockAge: Double = 60

    /// Pushes `localRef` to `remoteRef` only if the remote ref is still at `expected` (nil: absent), and
    /// throws `.nonFastForward` otherwise. Over smart transports the server's receive-pack does the
    /// compare-and-swap; a repository on this machine (a path or file:// URL) is updated here, under its
    /// ref lock, after the objects went over to a ref of their own — libgit2's local transport would
    /// otherwise overwrite a concurrent update. A ref locked by another writer throws `.locked`: it did not
    /// move, and the caller tries again rather than fetch and re-plan.
    public func pushCompareAndSwap(
        _ remote: String, localRef: String, remoteRef: String, expected: ObjectID?,
        credentials: RemoteCredentials = .fromEnvironment()
    ) throws {
        guard let path = try localPath(of: remote) else {
            return try push(remote, refspecs: ["\(localRef):\(remoteRef)"], credentials: credentials)
        }
        guard let new = try referenceTarget(localRef) else {
            throw GitError(.revisionNotFound, operation: "push", subject: localRef, message: "no such reference")
        }
        let incoming = Self.incomingPrefix + UUID().uuidString.lowercased()
        let target = try Repository(at: path, discover: false)
        // Removed however the push ends: it can make the remote ref and still fail after (updating this
        // repository's own tips), which left the ref behind.
        defer { try? target.deleteReference(incoming) }
        try push(remote, refspecs: ["\(localRef):\(incoming)"], credentials: credentials)
        // A ref lock is held for milliseconds; one older than a minute was left by a writer that was killed
        // inside its lock window, and would refuse every later push to this branch. So was an incoming ref
        // that old (its push died before removing it): left, it would keep objects alive in the remote.
        let lock = target.gitDirectory + "/" + remoteRef + ".lock"
        if Self.olderThanStaleAge(lock) == true {
            Log.warning("removing a stale ref lock", ["lock": lock])
            try? FileManager.default.removeItem(atPath: lock)
        }
        for name in (try? target.references(matching: Self.incomingPrefix + "*")) ?? [] where name != incoming {
            // A packed one (no file of its own) was packed after it was made: old too.
            guard Self.olderThanStaleAge(target.gitDirectory + "/" + name) ?? true else { continue }
            Log.warning("removing a ref a killed push left", ["ref": name])
            try? target.deleteReference(name)
        }
        do {
            try target.updateReference(remoteRef, to: new, expected: expected, logMessage: "gitops-ml: push")
        } catch let error as GitError where [.referenceMoved, .referenceExists].contains(error.code) {
            throw GitError(
                .nonFastForward, operation: "push", subject: "\(remoteRef) to \(remote)",
                message: "the remote reference moved")
        } catch let error as GitError where error.code == .locked {
            // Held by another writer (or left by one that died): the ref did not move; try again later.
            throw GitError(
                .locked, operation: "push", subject: "\(remoteRef) to \(remote)",
                message: "the remote reference is locked (\(remoteRef).lock)")
        }
    }

    /// Whether the file at `path` was last changed more than `staleLockAge` ago; nil when there is none.
    static func olderThanStaleAge(_ path: String) -> Bool? {
        guard let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        else { return nil }
        return Date().timeIntervalSince(modified) > staleLockAge
    }

    /// The folder of a remote that lives on this machine (a path, or a file:// URL); nil for network remotes.
    func localPath(of remote: String) throws -> String? {
        let url = configuredURL(remote) ?? remote
        if url.hasPrefix("file://") { return String(url.dropFirst("file://".count)) }
        if url.contains("://") { return nil }
        // scp-like "host:path" is SSH; anything else is a path.
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return nil }
        return url
    }
}
