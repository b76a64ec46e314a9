import Foundation
import TestSupport
import Testing

/// The layout of DESIGN.md §8, held: each target imports only the targets its row allows (the build's
/// `--explicit-target-dependency-import-check` holds Package.swift to the imports; this holds the imports to
/// the design). Where the package does not match the design yet, the exception is listed with its reason,
/// so that it is seen and cannot grow unnoticed.
@Suite("Module layout")
struct LayoutTests {
    /// DESIGN §8's rows.
    static let allowed: [String: Set<String>] = [
        "GitOpsMLCore": [],
        "Statistics": ["GitOpsMLCore"],
        "Processes": ["GitOpsMLCore"],
        "GitStore": ["GitOpsMLCore", "CLibGit2"],
        "HTTPClient": ["GitOpsMLCore", "CCurl"],
        "Config": ["GitOpsMLCore", "Yams"],
        "Datasets": ["GitOpsMLCore", "Config", "Statistics"],
        "Gates": ["GitOpsMLCore", "Statistics"],
        "Render": ["GitOpsMLCore", "Config"],
        "Kubernetes": ["GitOpsMLCore", "Config", "HTTPClient"],
        "Check": ["GitOpsMLCore", "Config", "Datasets", "Gates"],
        "Promotion": ["GitOpsMLCore", "Config", "GitStore", "Render", "Datasets"],
        "Trust": ["GitOpsMLCore", "Config", "GitStore", "Promotion", "Check"],
        "Lineage": ["GitOpsMLCore", "GitStore", "Config", "Datasets", "Promotion", "Trust"],
        "Agent": [
            "GitOpsMLCore", "Config", "GitStore", "HTTPClient", "Processes", "Datasets", "Gates", "Promotion", "Trust",
            "Kubernetes",
            "Hummingbird", "ServiceLifecycle", "Prometheus", "Crypto", "Logging",
        ],
    ]

    /// Imports the design does not allow yet, and why they are still there.
    static let exceptions: [String: [String: String]] = [
        "GitStore": ["Crypto": "git-lfs and DVC object ids are SHA-256 and MD5 of blobs read here"],
        "Datasets": [
            "Crypto": "content digests (SHA-256 of records, DVC's MD5) are swift-crypto's, not hand-written in Core"
        ],
        "Check": [
            "Processes": "the code suite runs the project's test commands",
            "Statistics": "a check's expectations and its two model versions are computed with the one parallel map",
        ],
        "Kubernetes": ["Processes": "kubeconfig's exec credential plugins are programs"],
        "Promotion": ["Processes": "commits and approvals are signed and verified with ssh-keygen and gpg"],
        "Trust": ["Datasets": "recomputing a gate report needs the data stores its checks read"],
        "Lineage": ["Check": "audit findings and gate reports are Check's types"],
        "Agent": [
            "AsyncHTTPClient": "the rollout proxy forwards requests on the event loops (libcurl blocks a thread each)",
            "NIOCore":
                "the proxy's bodies and timeouts are SwiftNIO's types, as Hummingbird and AsyncHTTPClient pass them",
            "NIOHTTP1": "AsyncHTTPClient takes SwiftNIO's HTTP/1 method and header types",
            "HTTPTypes": "Hummingbird's request fields are swift-http-types' (the proxy copies them)",
        ],
    ]

    static let cModules: Set<String> = ["CLibGit2", "CCurl", "CProcess"]

    /// Modules of the toolchain and the system, which any target may use.
    static let system: Set<String> = ["Foundation", "Dispatch", "Synchronization", "Glibc", "Darwin"]

    @Test func everyTargetImportsOnlyWhatItsLayerAllows() throws {
        for (target, allowed) in Self.allowed.sorted(by: { $0.key < $1.key }) {
            let folder = packageRoot + "/Sources/" + target
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".swift") }
            #expect(!files.isEmpty, "no sources for \(target)")
            var imported: Set<String> = []
            for file in files {
                let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
                for line in text.split(separator: "\n") {
                    let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                    guard let index = words.firstIndex(of: "import"), index + 1 < words.count,
                        words[..<index].allSatisfy({ ["public", "internal", "private"].contains($0) })
                    else { continue }
                    let module = String(words[index + 1].split(separator: ".")[0])
                    imported.insert(module)
                    // C types stay inside the module that owns the C library: its import is internal.
                    #expect(
                        !Self.cModules.contains(module) || words.first == "internal",
                        "\(target)/\(file): \(module) must be imported with internal import")
                }
            }
            let excused = Set(Self.exceptions[target]?.keys.map { $0 } ?? [])
            let stray = imported.subtracting(allowed).subtracting(Self.system).subtracting(excused)
            #expect(stray.isEmpty, "\(target) imports \(stray.sorted()), which DESIGN §8 does not allow it")
            let stale = excused.subtracting(imported)
            #expect(stale.isEmpty, "\(target): the exceptions \(stale.sorted()) are gone; remove them from the list")
        }
    }
}
