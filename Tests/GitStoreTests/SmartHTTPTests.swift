import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import GitStore

/// Fetch and push over smart HTTP with token authentication, against the real `git http-backend`.
@Suite("Smart HTTP remotes with tokens")
struct SmartHTTPTests {
    let temp = TemporaryDirectory("smart-http")
    let token = "s3cret-token-1234"

    func serve() throws -> (LoopbackServer, String) {
        let root = temp.sub("srv")
        try git("init", "-q", "--bare", "-b", "main", root + "/origin.git", in: root)
        let server = try LoopbackServer([
            "python3", packageRoot + "/Tests/Fixtures/git_http_server.py", root, "--token", token,
        ])
        return (server, server.baseURL + "/origin.git")
    }

    @Test func pushAndFetchWithATokenFromTheEnvironment() throws {
        let (server, url) = try serve()
        let work = try makeRepository(in: temp.sub("work"), files: ["m.json": "1"])
        let repo = try Repository(at: work)
        let credentials = RemoteCredentials.fromEnvironment(["GITOPS_ML_GIT_TOKEN": token])
        try repo.push(url, refspecs: ["refs/heads/main:refs/heads/main"], credentials: credentials)
        #expect(try git("rev-parse", "main", in: temp.path + "/srv/origin.git") == repo.resolve("main").hex)

        // Another clone (with the real git) moves main ahead; ours is rejected as non-fast-forward.
        let authURL = url.replacingOccurrences(of: "http://", with: "http://x:\(token)@")
        try git("clone", "-q", authURL, temp.path + "/other", in: temp.path)
        try commitFiles(["m.json": "2"], message: "other", in: temp.path + "/other")
        try git("push", "-q", "origin", "main", in: temp.path + "/other")
        try commitFiles(["m.json": "3"], message: "ours", in: work)
        let rejected = #expect(throws: GitError.self) {
            try repo.push(url, refspecs: ["refs/heads/main:refs/heads/main"], credentials: credentials)
        }
        #expect(rejected?.code == .nonFastForward, "\(String(describing: rejected))")

        try repo.fetch(url, refspecs: ["+refs/heads/main:refs/remotes/origin/main"], credentials: credentials)
        #expect(try repo.resolve("origin/main").hex == git("rev-parse", "main", in: temp.path + "/other"))
        _ = server
    }

    @Test func wrongOrMissingTokenIsAnAuthenticationErrorWithoutTheToken() throws {
        let (server, url) = try serve()
        let repo = try Repository(at: makeRepository(in: temp.sub("work")))
        for credentials in [RemoteCredentials(token: "wrong-token"), RemoteCredentials()] {
            let error = #expect(throws: GitError.self) {
                try repo.push(url, refspecs: ["refs/heads/main:refs/heads/main"], credentials: credentials)
            }
            #expect(error.map { ExitStatus.of($0) } == .environment)
            #expect(error?.description.contains("wrong-token") == false)
        }
        // A URL with credentials in it never shows them in errors.
        let withSecret = url.replacingOccurrences(of: "http://", with: "http://user:hunter2-secret@")
            .replacingOccurrences(of: "origin.git", with: "absent.git")
        let error = #expect(throws: GitError.self) {
            try repo.fetch(withSecret, refspecs: ["refs/heads/main"], credentials: RemoteCredentials())
        }
        #expect(error?.description.contains("hunter2-secret") == false, "\(String(describing: error))")
        _ = server
    }
}
