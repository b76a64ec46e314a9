import ArgumentParser

/// One or more examples for every command's help, in one table (a test checks that none is missing).
enum Examples {
    static let table: [String: [String]] = [
        "": ["gitops-ml check --base origin/main", "gitops-ml help check"],
        "check": [
            "gitops-ml check                                  # HEAD against the merge base with main",
            "gitops-ml check --base origin/main --format markdown:summary.md --format json:report.json",
            "gitops-ml check --head workspace --rules workspace  # a local run with uncommitted rules",
        ],
        "data": ["gitops-ml data profile train", "gitops-ml data drift train --base env:production"],
        "data profile": ["gitops-ml data profile train@HEAD~1 --json"],
        "data drift": [
            "gitops-ml data drift train --base main --head workspace", "gitops-ml data drift train --test psi",
        ],
        "data validate": ["gitops-ml data validate --rev HEAD"],
        "diff": ["gitops-ml diff metrics main HEAD", "gitops-ml diff params HEAD~1"],
        "diff metrics": ["gitops-ml diff metrics main HEAD --fail-on 'accuracy<-0.01' --fail-on 'loss>5%'"],
        "diff params": ["gitops-ml diff params main workspace --json"],
        "diff artifacts": ["gitops-ml diff artifacts v1.0.0 HEAD", "gitops-ml diff artifacts main HEAD --json"],
        "show": ["gitops-ml show HEAD~2:metrics.json", "gitops-ml show env:production:params.yaml"],
        "validate": ["gitops-ml validate", "gitops-ml validate --rev origin/main"],
        "init": ["gitops-ml init", "gitops-ml init --force"],
        "generate": ["gitops-ml generate all", "gitops-ml generate workflows --check   # exits 1 when out of date"],
        "promote": [
            "gitops-ml promote churn --to staging --rev HEAD --push origin",
            "gitops-ml promote churn --to production --rev registry:churn#staging --sign ssh --signing-key ~/.ssh/id_ed25519",
        ],
        "registry": ["gitops-ml registry show", "gitops-ml registry assign churn --version v1.2.0 --stage prod"],
        "registry show": ["gitops-ml registry show churn --json"],
        "registry history": ["gitops-ml registry history churn"],
        "registry register": ["gitops-ml registry register churn --bump minor --push origin"],
        "registry assign": ["gitops-ml registry assign churn --stage staging --rev HEAD"],
        "registry unassign": ["gitops-ml registry unassign churn --stage staging"],
        "registry deprecate": ["gitops-ml registry deprecate churn --version v1.0.0"],
        "version": ["gitops-ml version --verbose"],
        "rollout": [
            "gitops-ml rollout analyze --outcomes state/rollout-production.jsonl --record environments/production/churn.yaml"
        ],
        "rollout status": ["gitops-ml rollout status --agent http://127.0.0.1:9090 --env production"],
        "rollout proxy": ["gitops-ml rollout proxy --port 8080 --upstream 18081"],
        "rollout analyze": [
            "gitops-ml rollout analyze --outcomes rollout-production.jsonl --record environments/production/churn.yaml --md"
        ],
    ]

    /// The words of the command `arguments` name (`registry assign`), and a word that names no command.
    static func command(in arguments: [String]) -> (path: [String], unknown: String?) {
        var words = arguments.prefix { !$0.hasPrefix("-") }
        if words.first == "help" { words.removeFirst() }
        var path: [String] = []
        var command: any ParsableCommand.Type = GitOpsML.self
        for word in words {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == word }) else {
                return (path, command.configuration.subcommands.isEmpty ? nil : word)
            }
            path.append(word)
            command = next
        }
        return (path, nil)
    }

    /// The help text's examples section for the command at `path`.
    static func section(_ path: [String]) -> String {
        guard let lines = table[path.joined(separator: " ")], !lines.isEmpty else { return "" }
        return "\nEXAMPLES:\n" + lines.map { "  $ " + $0 }.joined(separator: "\n") + "\n"
    }

    /// Every command path, for the test that each has an example.
    static func allPaths(_ command: any ParsableCommand.Type = GitOpsML.self, prefix: [String] = []) -> [[String]] {
        [prefix]
            + command.configuration.subcommands.flatMap { allPaths($0, prefix: prefix + [$0._commandName]) }
    }
}
