import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Config

/// The bundled presets: embedded as they are in policies/, each usable through `extends`, merged as
/// docs/policies.md says; the JSON Schema and docs/policies.md agree with the parser.
@Suite("Policy library")
struct PolicyLibraryTests {
    let temp = TemporaryDirectory("policy-library")

    @Test func theBinaryCarriesExactlyThePoliciesFolder() throws {
        let folder = packageRoot + "/policies"
        let files = try FileManager.default.subpathsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }
        #expect(Set(files) == Set(BundledPolicies.files.keys))
        for path in files {
            #expect(
                try String(contentsOfFile: folder + "/" + path, encoding: .utf8) == BundledPolicies.files[path],
                "\(path) differs from its embedded copy: run make templates")
        }
        _ = try run(["python3", packageRoot + "/scripts/embed-templates.py", "--check"])  // throws on exit 1
    }

    /// A policy that extends `preset`, with what the preset leaves to the user.
    static func extending(_ preset: String, kind: String, spec: String = "{}") -> String {
        "apiVersion: gitops-ml/v1\nkind: \(kind)\nextends: builtin:\(preset)\nmetadata: {name: mine}\nspec: \(spec)\n"
    }

    @Test func everyPresetParsesThroughExtends() throws {
        #expect(PolicyLibrary.names.count == 6)
        for name in PolicyLibrary.names {
            let kind = try #require(PolicyLibrary.summary(name)?.kind)
            let parsed = try Policy.parse(Array(Self.extending(name, kind: kind).utf8), file: "mine.yaml")
            #expect(parsed.first?.kind == kind, "\(name)")
        }
    }

    func gates(_ spec: String) throws -> [GatePolicy.Gate] {
        let text = Self.extending("gates/binary-classification", kind: "GatePolicy", spec: spec)
        guard case .gate(let policy)? = try Policy.parse(Array(text.utf8), file: "policies/gates.yaml").first else {
            throw GitOpsMLError.usage("not a GatePolicy")
        }
        return policy.gates
    }

    @Test func anOverrideReplacesAddsAndRemovesByIdentity() throws {
        #expect(try gates("{}").map(\.metric) == ["roc_auc", "brier"])
        let merged = try gates(
            """

              model: churn
              gates:
                - {metric: brier, remove: true}
                - {metric: roc_auc, non_inferiority_margin: 0.005}
                - {metric: accuracy, threshold: 0.7}
            """)
        #expect(merged.map(\.metric) == ["roc_auc", "accuracy"])
        #expect(merged.first?.nonInferiorityMargin == 0.005)
        #expect(merged.first?.significance?.test == .delong, "the preset's other keys stay")
        #expect(
            merged.last?.location.file == "policies/gates.yaml" && merged.last?.location.line == 10,
            "\(String(describing: merged.last?.location))")

        let promotion = Self.extending("promotion/default", kind: "PromotionPolicy", spec: "{timezone: Asia/Tokyo}")
        guard case .promotion(let policy)? = try Policy.parse(Array(promotion.utf8), file: "p.yaml").first else {
            Issue.record("not a PromotionPolicy")
            return
        }
        #expect(policy.timeZone == "Asia/Tokyo")
        #expect(policy.environments["production"]?.soak == 86400)
    }

    /// `remove: true` of a gate the preset does not have (a typo) would leave the preset's gate in force:
    /// an error at its line instead of silence.
    @Test func removingWhatThePresetDoesNotHaveIsAnError() throws {
        let error = #expect(throws: GitOpsMLError.self) {
            try gates(
                """

                  model: churn
                  gates:
                    - {metric: breir, remove: true}
                """)
        }
        #expect(
            error?.message == "gates: remove: true names breir, which the preset does not have",
            "\(String(describing: error))")
        #expect(
            error?.location?.file == "policies/gates.yaml" && error?.location?.line == 8, "\(String(describing: error))"
        )
    }

    @Test func aWrongPresetIsAnErrorAtItsLine() throws {
        for (text, message) in [
            (Self.extending("gates/nonsense", kind: "GatePolicy"), "unknown preset"),
            (Self.extending("deploy/default", kind: "GatePolicy"), "is a DeployPolicy"),
            (
                Self.extending("promotion/default", kind: "PromotionPolicy", spec: "{timezone: Mars/Olympus}"),
                "unknown time zone"
            ),
        ] {
            do {
                _ = try Policy.parse(Array(text.utf8), file: "policies/x.yaml")
                Issue.record("accepted: \(text)")
            } catch let error as GitOpsMLError {
                #expect(error.message.contains(message), "\(error)")
                #expect(error.location?.file == "policies/x.yaml" && error.location?.line != nil, "\(error)")
            }
        }
    }

    @Test(.enabled(if: venvTool("python") != nil || runningInCI))
    func theSchemaAndTheParserAgree() throws {
        let python = try #require(venvTool("python"), "make test installs .venv")
        var cases: [(name: String, text: String, valid: Bool)] = PolicyLibrary.names.map {
            ($0.replacingOccurrences(of: "/", with: "-") + ".yaml", PolicyLibrary.text($0) ?? "", true)
        }
        for name in ["gates", "data", "deploy", "promotion"] {
            cases.append(
                (
                    "example-\(name).yaml",
                    try String(contentsOfFile: packageRoot + "/examples/churn/policies/\(name).yaml", encoding: .utf8),
                    true
                ))
        }
        let header = "apiVersion: gitops-ml/v1\nmetadata: {name: x}\n"
        cases += [
            ("bad-kind.yaml", header + "kind: Policy\nspec: {}\n", false),
            (
                "bad-soak.yaml", header + "kind: PromotionPolicy\nspec: {environments: {production: {soak: soon}}}\n",
                false
            ),
            (
                "bad-freeze.yaml",
                header + "kind: PromotionPolicy\nspec: {environments: {production: {freeze: [{days: [someday]}]}}}\n",
                false
            ),
            ("bad-rule.yaml", header + "kind: DeployPolicy\nspec: {rules: [{id: probes, level: high}]}\n", false),
            ("no-gates.yaml", header + "kind: GatePolicy\nspec: {model: m}\n", false),
            (
                "approvals.yaml",
                header
                    + "kind: PromotionPolicy\nspec: {environments: {production: {after: [staging], approvals: {count: 2, signers: reviewers}, max_per_day: 3}}}\n",
                true
            ),
        ]
        let config = """
            version: 1
            models:
              m: {}
            datasets:
              train: data/train.csv
            environments:
              staging: {branch: gitops}
              production: {branch: gitops}

            """
        for item in cases {
            let dir = temp.sub(item.name)
            try write(config, to: "gitops-ml.yaml", in: dir)
            try write(
                item.text.replacingOccurrences(of: "model: churn", with: "model: m").replacingOccurrences(
                    of: "dataset: train", with: "dataset: train"), to: "policies/policy.yaml", in: dir)
            let schema = try Subprocess.run([
                python, packageRoot + "/Tests/Fixtures/validate_schema.py", packageRoot + "/schemas/policy.schema.json",
                dir + "/policies/policy.yaml",
            ])
            // The validator says ok (exit 0) or names the error (exit 1); any other exit is its own failure.
            #expect(schema.status == (item.valid ? 0 : 1), "\(item.name): \(schema.stdoutText)\(schema.stderrText)")
            #expect(schema.stdoutText.hasSuffix(": ok\n") == item.valid, "\(item.name): \(schema.stdoutText)")
            try git("init", "-q", in: dir)
            let ours = try gitopsML(["validate"], in: dir)
            // Ours accepts (exit 0) or refuses as a configuration error: exit 2, one line naming the file.
            #expect(ours.status == (item.valid ? 0 : 2), "\(item.name): \(ours.stderrText)")
            if !item.valid {
                let lines = ours.stderrText.split(separator: "\n")
                #expect(
                    lines.count == 1 && ours.stderrText.contains("policies/policy.yaml"),
                    "\(item.name): \(ours.stderrText)")
            }
        }
    }

    /// docs/policies.md names every kind, every field the schema knows and every built-in rule.
    @Test func theDocumentationCoversTheSchema() throws {
        let docs = try String(contentsOfFile: packageRoot + "/docs/policies.md", encoding: .utf8)
        let data = try #require(FileManager.default.contents(atPath: packageRoot + "/schemas/policy.schema.json"))
        var names: Set<String> = []
        func collect(_ value: Any) {
            if let object = value as? [String: Any] {
                if let properties = object["properties"] as? [String: Any] { names.formUnion(properties.keys) }
                if let kinds = (object["kind"] as? [String: Any])?["enum"] as? [String] { names.formUnion(kinds) }
                object.values.forEach(collect)
            } else if let list = value as? [Any] {
                list.forEach(collect)
            }
        }
        collect(try JSONSerialization.jsonObject(with: data))
        names.formUnion(Policy.kinds)
        names.formUnion(DeployPolicy.BuiltIn.allCases.map(\.rawValue))
        names.formUnion(PolicyLibrary.names.map { "builtin:" + $0 })
        #expect(names.count > 60)
        let missing = names.filter { !docs.contains("`\($0)`") && !docs.contains("`\($0):") }.sorted()
        #expect(missing.isEmpty, "docs/policies.md does not name: \(missing.joined(separator: ", "))")
    }
}
