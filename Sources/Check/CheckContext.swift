import Config
import Datasets
import GitOpsMLCore

/// One side of the comparison: the files of a revision, as the user named it and as resolved.
public struct CheckRevision {
    public var files: any FileView
    /// As written (`HEAD`, `main`, `env:production`).
    public var name: String
    /// The commit id, nil for the workspace.
    public var commit: String?

    public init(files: any FileView, name: String, commit: String?) {
        self.files = files
        self.name = name
        self.commit = commit
    }
}

/// Everything a check run needs, gathered by the CLI.
public struct CheckContext {
    public var config: ProjectConfig
    public var policies: [Policy]
    public var head: CheckRevision
    /// The champion's revision; nil when there is none (a first deployment).
    public var base: CheckRevision?
    public var suites: Set<Suite>
    /// Where code checks run (the work tree); nil in a bare repository.
    public var workTree: String?
    /// Where DVC and LFS pointers' objects are.
    public var stores: DataStores

    public enum Suite: String, CaseIterable, Sendable { case config, data, model, gate, code, deploy }

    public init(
        config: ProjectConfig, policies: [Policy], head: CheckRevision, base: CheckRevision?,
        suites: Set<Suite> = Set(Suite.allCases), workTree: String? = nil,
        stores: DataStores = DataStores(dvcCache: nil, lfsObjects: nil)
    ) {
        self.config = config
        self.policies = policies
        self.head = head
        self.base = base
        self.suites = suites
        self.workTree = workTree
        self.stores = stores
    }

    /// The data policies, one per dataset: a policy naming none applies to each.
    var dataPolicies: [DataPolicy] {
        policies.flatMap { policy -> [DataPolicy] in
            guard case .data(let data) = policy else { return [] }
            guard data.dataset == nil else { return [data] }
            return config.datasets.keys.sorted().map { name in
                var copy = data
                copy.dataset = name
                return copy
            }
        }
    }

    var gatePolicies: [GatePolicy] {
        policies.compactMap { if case .gate(let policy) = $0 { return policy } else { return nil } }
    }
}
