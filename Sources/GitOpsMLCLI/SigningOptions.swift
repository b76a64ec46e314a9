import ArgumentParser
import GitOpsMLCore
import Promotion

/// `--sign ssh|openpgp --signing-key KEY`: how promotion and rollback commits are signed.
struct SigningOptions: ParsableArguments {
    @Option(name: .long, help: "Sign commits: ssh or openpgp.") var sign: String?
    @Option(name: .long, help: "The signing key: an SSH private key file, or a gpg key id.") var signingKey: String?

    func validate() throws {
        if sign == "ssh" && signingKey == nil {
            throw ValidationError("--sign ssh needs --signing-key PRIVATE_KEY_FILE")
        }
        if let sign, !["ssh", "openpgp", "gpg"].contains(sign) {
            throw ValidationError("--sign: ssh or openpgp, not '\(sign)'")
        }
    }

    func signer() throws -> CommitSigner? {
        switch sign {
        case nil: return nil
        case "ssh":
            guard let signingKey else { throw GitOpsMLError.usage("--sign ssh needs --signing-key PRIVATE_KEY_FILE") }
            return .ssh(key: signingKey)
        case "openpgp", "gpg": return .openPGP(key: signingKey)
        case let other?: throw GitOpsMLError.usage("--sign: ssh or openpgp, not '\(other)'")
        }
    }
}
