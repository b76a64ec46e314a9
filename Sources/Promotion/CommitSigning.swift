import Foundation
import GitOpsMLCore
import GitStore
import Processes

/// Signing promotion commits the way git does (`gpgsig` header): SSH signatures through `ssh-keygen -Y sign`
/// (namespace `git`, what `gpg.format ssh` verifies) or OpenPGP through `gpg --detach-sign --armor`.
public enum CommitSigner: Sendable, Equatable {
    /// An SSH private key file.
    case ssh(key: String)
    /// A gpg key id (or nil for gpg's default key), from the keyring folder `home` (nil: gpg's own choice,
    /// `GNUPGHOME` or `~/.gnupg`).
    case openPGP(key: String?, home: String? = nil)

    /// The armored signature of `content`; `namespace` is SSH's (git's own for commits; gate reports have
    /// `gitops-ml-report`, so one cannot pass for the other).
    public func sign(_ content: String, namespace: String = "git") throws -> String {
        let arguments: [String]
        switch self {
        case .ssh(let key): arguments = ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key]
        case .openPGP(let key, let home):
            arguments =
                ["gpg", "--batch", "--yes"] + (home.map { ["--homedir", $0] } ?? []) + ["--detach-sign", "--armor"]
                + (key.map { ["--local-user", $0] } ?? [])
        }
        let output = try Subprocess.run(arguments, input: Array(content.utf8), timeout: 60)
        guard output.status == 0, output.stdoutText.contains("-----BEGIN") else {
            let reason = output.stderrText.split(separator: "\n").first.map(String.init) ?? "exit \(output.status)"
            throw GitOpsMLError.environment("cannot sign with \(arguments[0]): \(reason)")
        }
        return output.stdoutText
    }
}

/// Checks a commit's signature: SSH against an allowed-signers file (git's `gpg.ssh.allowedSignersFile`
/// format), OpenPGP against a keyring folder (`GNUPGHOME`). The agent and `audit` trust only what passes.
public enum CommitVerifier {
    public enum Trust: Sendable, Equatable {
        case sshAllowedSigners(String)
        case openPGPKeyring(String)
    }

    public struct Verified: Sendable, Equatable {
        /// The allowed signer's principal (SSH) or the key's fingerprint (OpenPGP).
        public var signer: String
    }

    public static func verify(_ commit: ObjectID, in repository: Repository, trust: Trust) throws -> Verified {
        guard let (signature, data) = try repository.commitSignature(commit) else {
            throw VerificationFailure(commit: commit, reason: "the commit is not signed")
        }
        let folder = FileManager.default.temporaryDirectory.path + "/gitops-ml-verify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let signatureFile = folder + "/signature"
        try Data(signature.utf8).write(to: URL(fileURLWithPath: signatureFile))
        switch trust {
        case .sshAllowedSigners(let allowed):
            do {
                return Verified(
                    signer: try SSHSignature.verify(
                        Array(data.utf8), signature: signature, allowedSigners: allowed, namespace: "git"))
            } catch let failure as SSHSignature.Failure {
                throw VerificationFailure(commit: commit, reason: failure.description)
            }
        case .openPGPKeyring(let home):
            let dataFile = folder + "/data"
            try Data(data.utf8).write(to: URL(fileURLWithPath: dataFile))
            var environment = ProcessInfo.processInfo.environment
            environment["GNUPGHOME"] = home
            let check = try Subprocess.run(
                ["gpg", "--batch", "--status-fd", "1", "--verify", signatureFile, dataFile], environment: environment,
                timeout: 30)
            let valid = check.stdoutText.split(separator: "\n").first { $0.hasPrefix("[GNUPG:] VALIDSIG ") }
            guard check.status == 0, let valid else {
                throw VerificationFailure(commit: commit, reason: "the OpenPGP signature is not valid for the keyring")
            }
            return Verified(signer: String(valid.split(separator: " ")[2]))
        }
    }
}

extension CommitVerifier {
    /// `verify` against allowed signers given as a file's contents (read from a commit rather than a path).
    public static func verify(_ commit: ObjectID, in repository: Repository, allowedSignersContents: [UInt8]) throws
        -> Verified
    {
        let file = FileManager.default.temporaryDirectory.path + "/gitops-ml-signers-\(UUID().uuidString)"
        try OutputFile.write(allowedSignersContents, to: file, kind: .absent)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try verify(commit, in: repository, trust: .sshAllowedSigners(file))
    }
}

public struct VerificationFailure: CategorizedError, Equatable {
    public let commit: ObjectID
    public let reason: String
    public var category: ErrorCategory { .checkFailed }
    public var description: String { "commit \(commit.short): \(reason)" }
}

/// `ssh-keygen -Y find-principals` and `-Y verify` over any bytes: the principal of `allowedSigners` whose
/// key made `signature` over `data` in `namespace`.
public enum SSHSignature {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `verify` with the allowed signers as a file's contents, read from a commit rather than a path.
    public static func verify(
        _ data: [UInt8], signature: String, allowedSignersContents: [UInt8], namespace: String
    ) throws -> String {
        let file = FileManager.default.temporaryDirectory.path + "/gitops-ml-signers-\(UUID().uuidString)"
        try OutputFile.write(allowedSignersContents, to: file, kind: .absent)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try verify(data, signature: signature, allowedSigners: file, namespace: namespace)
    }

    public static func verify(_ data: [UInt8], signature: String, allowedSigners: String, namespace: String) throws
        -> String
    {
        guard signature.contains("BEGIN SSH SIGNATURE") else { throw Failure(description: "not an SSH signature") }
        let folder = FileManager.default.temporaryDirectory.path + "/gitops-ml-ssh-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let signatureFile = folder + "/signature"
        try OutputFile.write(Array(signature.utf8), to: signatureFile, kind: .absent)
        let principals = try Subprocess.run(
            ["ssh-keygen", "-Y", "find-principals", "-s", signatureFile, "-f", allowedSigners], timeout: 30)
        guard principals.status == 0, let principal = principals.stdoutText.split(separator: "\n").first else {
            throw Failure(description: "signed by a key that is not an allowed signer")
        }
        let check = try Subprocess.run(
            [
                "ssh-keygen", "-Y", "verify", "-f", allowedSigners, "-I", String(principal), "-n", namespace, "-s",
                signatureFile,
            ],
            input: data, timeout: 30)
        guard check.status == 0 else {
            throw Failure(description: "the SSH signature of \(principal) does not match (namespace \(namespace))")
        }
        return String(principal)
    }
}
