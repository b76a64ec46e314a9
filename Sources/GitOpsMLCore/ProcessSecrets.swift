import Foundation
import Synchronization

/// The credentials in this process's environment (GitHub's tokens, the runner's OIDC request, gitops-ml's
/// own tokens and the agent's webhook secret): read once at start, then removed from the environment and
/// scrubbed from the memory `/proc/PID/environ` shows, and the process made non-dumpable, so that the
/// children it runs (code checks, model servers) cannot read them from it, by inheritance or from `/proc`.
/// The code that needs one asks here.
public enum ProcessSecrets {
    private static let taken = Mutex<[String: String]>([:])

    /// A name whose value is a credential: never passed to a child unless a configuration names it. Every
    /// variable taken here is one, whatever its name (the agent's webhook secret may be called anything).
    public static func isSecret(_ name: String) -> Bool {
        if taken.withLock({ $0[name] != nil }) { return true }
        let upper = name.uppercased()
        return ["GITHUB_TOKEN", "GH_TOKEN", "ACTIONS_RUNTIME_TOKEN"].contains(upper)
            || upper.hasPrefix("ACTIONS_ID_TOKEN_REQUEST_")
            || (upper.hasPrefix("GITOPS_ML_") && (upper.contains("TOKEN") || upper.contains("SECRET")))
    }

    /// Takes every secret (and the variables in `also`) out of the environment; call once at start, before
    /// any thread or child is started (the CLI also marks the process non-dumpable then).
    public static func takeFromEnvironment(also: [String] = []) {
        var names: [String] = also
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "="), isSecret(String(text[..<equals])) {
                names.append(String(text[..<equals]))
            }
            index += 1
        }
        for name in names { _ = take(name) }
    }

    /// Reads `name` once and removes it from the environment (its bytes overwritten first, so the original
    /// environment block no longer holds the value); later calls answer from here.
    @discardableResult
    public static func take(_ name: String) -> String? {
        if let known = taken.withLock({ $0[name] }) { return known }
        guard let pointer = getenv(name) else { return nil }
        let value = String(cString: pointer)
        memset(pointer, 0x2A, strlen(pointer))  // `*` over the value where the kernel shows it
        unsetenv(name)
        taken.withLock { $0[name] = value }
        return value
    }

    /// A secret's value (taken, or still in the environment).
    public static func value(_ name: String) -> String? {
        taken.withLock { $0[name] } ?? ProcessInfo.processInfo.environment[name]
    }

    /// The environment as started: what is left of it, with the secrets taken from it.
    public static var environment: [String: String] {
        ProcessInfo.processInfo.environment.merging(taken.withLock { $0 }) { current, _ in current }
    }
}
