import GitOpsMLCore
import Testing

@testable import Config

@Suite("gitops-ml.yaml and policies")
struct ProjectConfigTests {
    static let valid = """
        version: 1
        project: churn
        default_branch: main
        metrics: [metrics.json]
        params: params.yaml
        models:
          churn:
            artifact: model/model.json
            predictions: eval/predictions.csv
            task: classification
            serving:
              image: ghcr.io/acme/churn
              port: 8080
              command: [python3, serve.py]
        datasets:
          train: data/train.csv
          eval:
            path: data/eval.tsv
            format: tsv
        environments:
          staging: {branch: gitops, namespace: ml-staging}
          production: {branch: gitops, requires_approval: true}
        checks:
          first_deployment: warn
          code:
            - name: unit
              run: python3 -m pytest -q
              timeout: 120
              junit: reports/unit.xml
        """

    @Test func parsesEverySection() throws {
        let config = try ProjectConfig.parse(Array(Self.valid.utf8))
        #expect(config.project == "churn")
        #expect(config.params == ["params.yaml"])
        #expect(config.models["churn"]?.serving.command == ["python3", "serve.py"])
        #expect(config.models["churn"]?.serving.replicas == 1)
        #expect(config.datasets["train"]?.path == "data/train.csv")
        #expect(config.datasets["eval"]?.format == "tsv")
        #expect(config.environments["production"]?.requiresApproval == true)
        #expect(config.environments["staging"]?.namespace == "ml-staging")
        #expect(config.checks.code.first?.timeout == 120)
        #expect(config.checks.firstDeployment == .warn)
    }

    @Test(arguments: [
        ("version: 1\nmodles: {}\n", 2, "unknown key 'modles'"),
        ("version: 2\n", 1, "unsupported version 2"),
        ("project: x\n", 1, "missing required key 'version'"),
        ("version: 1\nmodels:\n  m:\n    serving:\n      port: 99999\n", 5, "port must be between 1 and 65535"),
        ("version: 1\nmodels:\n  m:\n    task: ranking\n", 4, "unknown value \"ranking\""),
        ("version: 1\nchecks:\n  code:\n    - name: x\n", 4, "missing required key 'run'"),
        (
            "version: 1\nenvironments:\n  prod:\n    branch: main\n    aproval: true\n", 5,
            "unknown key 'aproval' in environments.prod"
        ),
        ("version: one\n", 1, "expected a whole number"),
        ("version: 1\nmetrics: {a: 1}\n", 2, "expected text"),
    ])
    func errorsNameTheLine(text: String, line: Int, message: String) throws {
        let error = #expect(throws: GitOpsMLError.self) {
            try ProjectConfig.parse(Array(text.utf8), file: "gitops-ml.yaml")
        }
        #expect(error?.location?.line == line, "\(String(describing: error))")
        #expect(error?.location?.file == "gitops-ml.yaml")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
        #expect(error.map { ExitStatus.of($0) } == .usage)
    }

    @Test func parsesGateAndDataPolicies() throws {
        let gate = try Policy.parse(
            Array(
                """
                apiVersion: gitops-ml/v1
                kind: GatePolicy
                metadata: {name: churn-gates}
                spec:
                  model: churn
                  gates:
                    - metric: accuracy
                      threshold: 0.8
                      min_absolute_change: 0.0
                      significance: {test: mcnemar, alpha: 0.05}
                    - metric: log_loss
                      greater_is_better: false
                      non_inferiority_margin: 0.01
                """.utf8), file: "policies/gates.yaml")
        guard case .gate(let policy) = gate.first else { Issue.record("not a gate policy"); return }
        #expect(policy.gates.count == 2)
        #expect(policy.gates[0].significance?.test == .mcnemar)
        #expect(policy.gates[1].greaterIsBetter == false)
        #expect(policy.gates[1].location.line == 11)

        let data = try Policy.parse(
            Array(
                """
                apiVersion: gitops-ml/v1
                kind: DataPolicy
                metadata: {name: train-data}
                spec:
                  dataset: train
                  expectations:
                    - expect: column_values_to_be_between
                      column: age
                      min_value: 18
                      max_value: 100
                      mostly: 0.99
                """.utf8), file: "policies/data.yaml")
        guard case .data(let dataPolicy) = data.first else { Issue.record("not a data policy"); return }
        #expect(dataPolicy.expectations.first?.arguments.map(\.key) == ["min_value", "max_value"])
        #expect(
            dataPolicy.expectations.first?.rule
                == .columnValuesToBeBetween(.init(18, 100), strictMin: false, strictMax: false))

        let typo = #expect(throws: GitOpsMLError.self) {
            try Policy.parse(
                Array(
                    "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n    - metric: acc\n      treshold: 1\n"
                        .utf8), file: "policies/g.yaml")
        }
        #expect(typo?.description.hasPrefix("policies/g.yaml:7: ") == true, "\(String(describing: typo))")
        let version = #expect(throws: GitOpsMLError.self) {
            try Policy.parse(Array("apiVersion: gitops-ml/v2\nkind: GatePolicy\n".utf8), file: "p.yaml")
        }
        #expect(version?.message.contains("unsupported apiVersion") == true)
    }

    /// An expectation's arguments are typed where the policy is read: a wrong one fails the whole policy at the
    /// expectation's line, before any data is read.
    @Test(arguments: [
        ("expect: column_values_to_be_of_type\n      column: a\n      type_: purple", "unknown type \"purple\""),
        ("expect: column_values_to_match_regex\n      column: a\n      regex: '(['", "invalid regex"),
        ("expect: column_values_to_be_between\n      column: a\n      min_value: ten", "min_value must be a number"),
        ("expect: column_values_to_be_between\n      column: a\n      max_value: .nan", "must be a finite number"),
        ("expect: column_values_to_be_unique", "needs a column"),
        (
            "expect: column_quantile_values_to_be_between\n      column: a\n      quantile_ranges: {quantiles: [0.5], value_ranges: [[1]]}",
            "each value range must be [low, high]"
        ),
        ("expect: table_columns_to_match_set\n      column_set: [1, 2]", "column_set must be a list of text"),
    ])
    func expectationArgumentsAreTypedWhereThePolicyIsRead(expectation: String, message: String) {
        let text = "apiVersion: gitops-ml/v1\nkind: DataPolicy\nmetadata: {name: d}\nspec:\n  expectations:\n    - "
        let error = #expect(throws: GitOpsMLError.self) {
            try Policy.parse(Array((text + expectation + "\n").utf8), file: "policies/d.yaml")
        }
        #expect(error?.location?.line == 6, "\(String(describing: error))")
        #expect(error?.message.contains(message) == true, "\(String(describing: error))")
    }
}
