import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import GitStore

private let sshdInstalled =
    FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd")
    || FileManager.default.isExecutableFile(atPath: "/usr/bin/sshd")

/// Push and fetch over SSH against a real OpenSSH server on 127.0.0.1, with host-key verification.
@Suite("SSH remotes", .enabled(if: sshdInstalled || runningInCI))
struct SSHTests {
    let temp = TemporaryDirectory("ssh")

    func serve() throws -> (server: LoopbackServer, url: String, key: String, knownHosts: String) {
        let dir = temp.sub("sshd")
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir + "/client_key"])
        try FileManager.default.copyItem(atPath: dir + "/client_key.pub", toPath: dir + "/authorized_keys")
        let server = try LoopbackServer(["python3", packageRoot + "/Tests/Fixtures/sshd_server.py", dir])
        let hostKey = try String(contentsOfFile: dir + "/host_key.pub", encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(server.port) \(hostKey)\n".write(
            toFile: dir + "/known_hosts", atomically: true, encoding: .utf8)
        try git("init", "-q", "--bare", "-b", "main", temp.path + "/origin.git", in: temp.path)
        let user = try run(["id", "-un"]).trimmingCharacters(in: .whitespacesAndNewlines)
        return (
            server, "ssh://\(user)@127.0.0.1:\(server.port)\(temp.path)/origin.git", dir + "/client_key",
            dir + "/known_hosts"
        )
    }

    @Test func pushAndFetchWithAKeyAndAKnownHost() throws {
        let (server, url, key, knownHosts) = try serve()
        let repo = try Repository(at: makeRepository(in: temp.sub("work"), files: ["f": "1"]))
        let credentials = RemoteCredentials(sshKeyPath: key, knownHostsPath: knownHosts)
        try repo.push(url, refspecs: ["refs/heads/main:refs/heads/main"], credentials: credentials)
        #expect(try git("rev-parse", "main", in: temp.path + "/origin.git") == repo.resolve("main").hex)
        try repo.fetch(url, refspecs: ["+refs/heads/main:refs/remotes/origin/main"], credentials: credentials)
        #expect(try repo.resolve("origin/main") == repo.resolve("main"))
        _ = server
    }

    @Test func unknownOrChangedHostKeysAreRefused() throws {
        let (server, url, key, knownHosts) = try serve()
        let repo = try Repository(at: makeRepository(in: temp.sub("work")))
        let unknown = #expect(throws: GitError.self) {
            try repo.push(
                url, refspecs: ["refs/heads/main:refs/heads/main"],
                credentials: RemoteCredentials(sshKeyPath: key, knownHostsPath: temp.path + "/none"))
        }
        #expect(unknown?.message.contains("no known_hosts file") == true, "\(String(describing: unknown))")

        let other = temp.sub("other")
        try run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other + "/key"])
        let wrongKey = try String(contentsOfFile: other + "/key.pub", encoding: .utf8).split(separator: " ").prefix(2)
            .joined(separator: " ")
        try "[127.0.0.1]:\(server.port) \(wrongKey)\n".write(
            toFile: other + "/known_hosts", atomically: true, encoding: .utf8)
        let changed = #expect(throws: GitError.self) {
            try repo.push(
                url, refspecs: ["refs/heads/main:refs/heads/main"],
                credentials: RemoteCredentials(sshKeyPath: key, knownHostsPath: other + "/known_hosts"))
        }
        #expect(changed?.message.contains("does not match") == true, "\(String(describing: changed))")
        #expect(try git("for-each-ref", in: temp.path + "/origin.git").isEmpty, "nothing was pushed")
        _ = knownHosts
    }
}
