import GitOpsMLCore
import Testing

@testable import Agent

@Suite("GitHub push webhook")
struct WebhookTests {
    let hook: GitHubWebhook

    init() throws { hook = try GitHubWebhook(secret: "It's a Secret to Everybody", branches: ["gitops"]) }

    func push(_ ref: String, deleted: Bool = false) -> [UInt8] {
        Array(#"{"ref": "\#(ref)", "after": "\#(String(repeating: "a", count: 40))", "deleted": \#(deleted)}"#.utf8)
    }

    func headers(_ event: String, _ body: [UInt8]) -> [String: String] {
        ["X-GitHub-Event": event, "X-Hub-Signature-256": hook.signature(of: body)]
    }

    /// Independent references: GitHub's documented example delivery, and RFC 4231 test case 2.
    @Test func signaturesMatchGitHubsDocumentedExampleAndRFC4231() throws {
        #expect(
            hook.signature(of: Array("Hello, World!".utf8))
                == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
        let rfc = try GitHubWebhook(secret: "Jefe", branches: [])
        let expected = "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        #expect(rfc.signature(of: Array("what do ya want for nothing?".utf8)) == expected)
        #expect(
            rfc.verify(
                signature: expected.uppercased().replacingOccurrences(of: "SHA256=", with: "sha256="),
                body: Array("what do ya want for nothing?".utf8)))
    }

    @Test(
        arguments: [
            (nil, "missing X-Hub-Signature-256"),
            ("", "the signature does not match the body"),
            ("sha256=", "the signature does not match the body"),
            ("sha1=0123456789abcdef0123456789abcdef01234567", "the signature does not match the body"),
            (
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
                "the signature does not match the body"
            ),
            (
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
                "the signature does not match the body"
            ),
            (
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1g",
                "the signature does not match the body"
            ),
        ] as [(String?, String)])
    func aMissingOrWrongSignatureIsRefusedWith401(signature: String?, message: String) {
        var headers = ["X-GitHub-Event": "ping"]
        headers["X-Hub-Signature-256"] = signature
        let decision = hook.handle(headers: headers, body: Array("Hello, World!".utf8))
        #expect(decision == .init(status: 401, message: message, trigger: nil))
    }

    @Test func theSignatureCoversTheExactBody() {
        let body = push("refs/heads/gitops")
        var tampered = body
        tampered[tampered.count - 2] = UInt8(ascii: " ")
        #expect(hook.handle(headers: headers("push", body), body: tampered).status == 401)
        #expect(hook.handle(headers: headers("push", body), body: body).trigger == "gitops")
    }

    @Test func onlyAPushToAFollowedBranchTriggersAPass() {
        let cases: [(event: String, body: [UInt8], status: Int, trigger: String?)] = [
            ("push", push("refs/heads/gitops"), 202, "gitops"),
            ("push", push("refs/heads/main"), 202, nil),
            ("push", push("refs/tags/gitops"), 202, nil),
            ("push", push("refs/heads/gitops", deleted: true), 202, nil),
            ("push", Array("not json".utf8), 400, nil),
            ("push", Array(#"{"after": "x"}"#.utf8), 400, nil),
            ("ping", Array("{}".utf8), 200, nil),
            ("pull_request", Array("{}".utf8), 202, nil),
        ]
        for (event, body, status, trigger) in cases {
            let decision = hook.handle(headers: headers(event, body), body: body)
            #expect(decision.status == status, "\(event) \(String(decoding: body, as: UTF8.self))")
            #expect(decision.trigger == trigger, "\(decision.message)")
        }
    }

    @Test func headerNamesAreCaseInsensitive() {
        let body = push("refs/heads/gitops")
        let lower = ["x-github-event": "push", "x-hub-signature-256": hook.signature(of: body)]
        #expect(hook.handle(headers: lower, body: body).trigger == "gitops")
    }

    @Test func aWebhookWithoutASecretIsRefused() {
        #expect(throws: GitOpsMLError.self) { try GitHubWebhook(secret: "", branches: ["gitops"]) }
    }
}
