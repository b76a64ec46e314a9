// swift-tools-version:6.0
// gitops-ml: GitOps for machine learning, one binary reading versions straight from git objects.
import PackageDescription

let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "gitops-ml",
    // Linux (glibc) only: the sources call Glibc directly; see the README's supported platforms.
    products: [
        .executable(name: "gitops-ml", targets: ["gitops-ml"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // SHA-256 and MD5 of objects, reports and records; HMAC-SHA256 for the agent's webhook (BoringSSL's, not ours).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The agent's endpoints, its lifecycle (signals, graceful shutdown), metrics and structured logs.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The rollout proxy's requests to the model servers (pooled connections on the agent's event loops).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // Tests only: property-based fuzzing of the parsers (Tests/FuzzTests).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        // System libraries: the only C modules, imported only by GitStore and HTTPClient.
        .systemLibrary(
            name: "CLibGit2", pkgConfig: "libgit2",
            providers: [.apt(["libgit2-dev"]), .brew(["libgit2"])]),
        // libcurl's headers only: the library is loaded with dlopen on first use (see shim.h).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),

        // prctl for the process's own protection (non-dumpable), behind a typed wrapper; used by the CLI only.
        .target(name: "CProcess"),
        // Value types, protocols, errors and exit codes shared by every module.
        .target(name: "GitOpsMLCore", exclude: ["README.md"], swiftSettings: strict),
        // Special functions, the Kolmogorov distribution, the radix sort and the one parallel map.
        .target(name: "Statistics", exclude: ["README.md"], swiftSettings: strict),
        // Child processes with a cleared signal mask, in their own group, always reaped.
        .target(name: "Processes", dependencies: ["GitOpsMLCore"], exclude: ["README.md"], swiftSettings: strict),
        // libgit2: repositories, revisions, blobs, history, notes, tags, commits without a work tree, remotes.
        .target(
            name: "GitStore",
            dependencies: ["GitOpsMLCore", "CLibGit2", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"], swiftSettings: strict),
        // libcurl: HTTP requests with timeouts and redacted URLs, off the cooperative pool.
        .target(
            name: "HTTPClient", dependencies: ["GitOpsMLCore", "CCurl"], exclude: ["README.md"], swiftSettings: strict),
        // gitops-ml.yaml, policies/, structured files (JSON/YAML/TOML) and their diffs.
        .target(
            name: "Config", dependencies: ["GitOpsMLCore", .product(name: "Yams", package: "Yams")],
            exclude: ["README.md"], swiftSettings: strict),
        // Datasets: columnar reading of CSV/TSV (and, with the data suite, expectations and drift).
        .target(
            name: "Datasets",
            dependencies: ["GitOpsMLCore", "Config", "Statistics", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"], swiftSettings: strict),
        // Metrics from predictions, and champion-vs-challenger statistics.
        .target(
            name: "Gates", dependencies: ["GitOpsMLCore", "Statistics"], exclude: ["README.md"], swiftSettings: strict),
        // Plan → run → findings for `check`, the code-test runner, and the reporters.
        .target(
            name: "Check",
            dependencies: [
                "GitOpsMLCore", "Config", "Datasets", "Gates", "Statistics", "Processes",
            ],
            exclude: ["README.md"],
            swiftSettings: strict),
        // Templates → workflows, manifests and monitoring, each read back before it is written.
        .target(
            name: "Render",
            dependencies: ["GitOpsMLCore", "Config"],
            exclude: ["README.md"], swiftSettings: strict),
        // Release records, promotion commits with trailers, the GTO-compatible registry, push with retry, signing.
        .target(
            name: "Promotion", dependencies: ["GitOpsMLCore", "Config", "Datasets", "Render", "GitStore", "Processes"],
            exclude: ["README.md"],
            swiftSettings: strict),
        // What an action may rely on: the rules in force, gate reports as evidence, the promotion gate.
        .target(
            name: "Trust", dependencies: ["GitOpsMLCore", "Config", "GitStore", "Promotion", "Datasets", "Check"],
            exclude: ["README.md"], swiftSettings: strict),
        // The cluster: access, discovery, server-side apply of a manifest set, rollout health, drift.
        .target(
            name: "Kubernetes", dependencies: ["GitOpsMLCore", "Config", "HTTPClient", "Processes"],
            exclude: ["README.md"],
            swiftSettings: strict),
        // The sync agent: the reconcile pass, the local target, rollout health, rollbacks in git, the push webhook.
        .target(
            name: "Agent",
            dependencies: [
                "GitOpsMLCore", "GitStore", "HTTPClient", "Config", "Datasets", "Gates", "Promotion", "Trust",
                "Kubernetes", "Processes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"],
            swiftSettings: strict),
        // History read back: data origins, model lineage and the audit.
        .target(
            name: "Lineage",
            dependencies: ["GitOpsMLCore", "GitStore", "Config", "Datasets", "Check", "Promotion", "Trust"],
            exclude: ["README.md"],
            swiftSettings: strict),
        // One file per subcommand; wires concrete implementations; maps errors to exit codes.
        .target(
            name: "GitOpsMLCLI",
            dependencies: [
                "GitOpsMLCore", "GitStore", "HTTPClient", "Config", "Datasets", "Check", "Render", "Promotion", "Agent",
                "Lineage", "Trust", "CProcess",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"], swiftSettings: strict),
        .executableTarget(name: "gitops-ml", dependencies: ["GitOpsMLCLI"], swiftSettings: strict),
        // benchmarks/: the coverage of the gates' intervals by simulation (`make coverage`).
        .executableTarget(
            name: "coverage-simulation", dependencies: ["Gates"], path: "benchmarks/CoverageSimulation",
            swiftSettings: strict),
        // benchmarks/: continuously judged canaries against the peers' fixed checks (`make canary`).
        .executableTarget(
            name: "canary-simulation", dependencies: ["Gates", "Statistics"], path: "benchmarks/CanarySimulation",
            swiftSettings: strict),

        .target(
            name: "TestSupport",
            dependencies: [
                "GitOpsMLCore", "Gates", "HTTPClient", "Processes", .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/TestSupport"),
        .testTarget(name: "GitOpsMLCoreTests", dependencies: ["GitOpsMLCore", "TestSupport"]),
        .testTarget(name: "StatisticsTests", dependencies: ["Statistics"]),
        .testTarget(name: "ProcessesTests", dependencies: ["Processes", "GitOpsMLCore"]),
        .testTarget(name: "GitStoreTests", dependencies: ["GitStore", "TestSupport"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "TestSupport"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "TestSupport"]),
        .testTarget(
            name: "DatasetsTests", dependencies: ["Datasets", "GitStore", "Statistics", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "GatesTests", dependencies: ["Gates", "Statistics", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CheckTests", dependencies: ["Check", "Config", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "TrustTests", dependencies: ["Trust", "Check", "Config", "GitStore", "Promotion", "TestSupport"]),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "Kubernetes", "HTTPClient", "Datasets", "GitStore", "TestSupport"]),
        .testTarget(
            name: "KubernetesTests", dependencies: ["Kubernetes", "Config", "HTTPClient", "TestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "PromotionTests", dependencies: ["Promotion", "GitStore", "TestSupport"]),
        .testTarget(
            name: "LineageTests",
            dependencies: ["Lineage", "GitStore", "Config", "Datasets", "Promotion", "TestSupport"]),
        .testTarget(
            name: "RenderTests", dependencies: ["Render", "Config", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "EndToEndTests", dependencies: ["GitOpsMLCore", "Config", "TestSupport"]),
        // The parsers under property-based fuzzing, time-bounded by GITOPS_ML_FUZZ_SECONDS, and checked
        // against Python's tomllib, json and float() on a differential corpus.
        .testTarget(
            name: "FuzzTests",
            dependencies: [
                "GitOpsMLCore", "Config", "Datasets", "Gates", "Promotion", "GitStore", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ], resources: [.copy("Corpus")]),
    ],
    swiftLanguageModes: [.v6]
)
