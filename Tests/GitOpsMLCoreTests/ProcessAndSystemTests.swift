import Foundation
import GitOpsMLCore
import Testing

@Suite struct ProcessSecretsTests {
    /// A variable taken as a secret (the agent's webhook secret, named as the user likes) is never passed
    /// to a child, whatever its name; a plain variable is, and a credential's name is a secret untaken.
    @Test func aTakenVariableIsASecretWhateverItsName() {
        let name = "HOOK_KEY_\(UInt32.random(in: 0...UInt32.max))"
        setenv(name, "s3cret", 1)
        #expect(!ProcessSecrets.isSecret(name))
        #expect(ProcessSecrets.take(name) == "s3cret")
        #expect(getenv(name) == nil, "removed from the environment")
        #expect(ProcessSecrets.isSecret(name))
        #expect(ProcessSecrets.environment[name] == "s3cret")
        #expect(ProcessSecrets.isSecret("GITHUB_TOKEN") && ProcessSecrets.isSecret("GITOPS_ML_PUSH_TOKEN"))
        #expect(!ProcessSecrets.isSecret("PATH"))
    }
}

@Suite struct SystemErrorsTests {
    /// Foundation's file errors read as the C library says them, with the path, on one line.
    @Test func foundationFileErrorsAreInOurWords() throws {
        let missing = "/nonexistent-\(UUID().uuidString)/file"
        do {
            _ = try Data(contentsOf: URL(fileURLWithPath: missing))
            Issue.record("read a file that does not exist")
        } catch {
            let described = try #require(SystemErrors.describe(error))
            #expect(described == "\(missing): no such file", "\(described)")
            #expect(!described.contains("could not be completed") && !described.contains("NSCocoaErrorDomain"))
        }
        #expect(SystemErrors.describe(GitOpsMLError.usage("x")) == nil, "not a Foundation error")
    }
}
