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

    /// A path put into a command a message suggests stays one inert word: plain paths as they are, anything
    /// a shell would interpret in single quotes (checked by a real shell echoing it back).
    @Test func pathsInSuggestedCommandsAreOneInertWord() throws {
        #expect(Redaction.shellWord("data/train.csv") == "data/train.csv")
        for path in ["$(touch pwned).csv", "a b/it's.csv", "`id`", "x;y", ""] {
            let word = Redaction.shellWord(path)
            #expect(word.hasPrefix("'"), "\(word)")
            let echoed = try Subprocess.run(["sh", "-c", "printf %s " + word])
            #expect(echoed.stdoutText == path, "\(word)")
        }
    }

    @Test func exitCodesComeFromCategories() {
        #expect(ExitStatus.of(GitOpsMLError.usage("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.configuration("x")) == .usage)
        #expect(ExitStatus.of(GitOpsMLError.environment("x")) == .environment)
        #expect(ExitStatus.of(GitOpsMLError(.checkFailed, "x")) == .failed)
        #expect(ExitStatus.of(CocoaError(.fileNoSuchFile)) == .environment)
    }
}
