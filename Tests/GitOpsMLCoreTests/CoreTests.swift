import Foundation
import TestSupport
import Testing

@testable import GitOpsMLCore

@Suite("Core: redaction, exit codes")
struct CoreTests {
    @Test func redactsCredentials() {
        #expect(Redaction.url("https://user:tok@github.com/o/r.git") == "https://***@github.com/o/r.git")
        #expect(Redaction.url("https://h/x?access_token=abc&page=2") == "https://h/x?access_token=***&page=2")
        #expect(Redaction.url("ssh://git@host:22/r") == "ssh://***@host:22/r")
        #expect(Redaction.secrets("token s3cr3t leaked", ["s3cr3t"]) == "token *** leaked")
    }

    @Test func exitCodesComeFromCategories() {
        #expect(ExitStatus.of(GitOpsMLError.usage("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.configuration("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.environment("x")) == .environment)
        #expect(ExitStatus.of(GitOpsMLError(.checkFailed, "x")) == .failed)
        #expect(ExitStatus.of(CocoaError(.fileNoSuchFile)) == .environment)
    }
}
