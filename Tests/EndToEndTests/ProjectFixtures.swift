/// Files of the small projects several end-to-end tests build.
enum ProjectFixtures {
    /// A GatePolicy on model `m`: `metric` must not get worse.
    static func gatePolicy(metric: String) -> String {
        """
        apiVersion: gitops-ml/v1
        kind: GatePolicy
        metadata: {name: gates}
        spec:
          model: m
          gates:
            - {metric: \(metric), greater_is_better: true, min_absolute_change: 0.0}

        """
    }

    /// A DVC pipeline whose "model" scores as well as its `train.quality` parameter says; the metrics are a
    /// cached DVC output (`dvc repro` writes them, `dvc push` keeps them). `config` is gitops-ml.yaml.
    static func dvcPipeline(config: String) -> [String: String] {
        [
            "params.yaml": "train:\n  quality: 0.76\n",
            "train.py": """
            import json
            quality = float(open("params.yaml").read().split("quality:")[1])
            json.dump({"avg_prec": {"test": quality}}, open("metrics.json", "w"))

            """,
            "dvc.yaml": """
            stages:
              train:
                cmd: python3 train.py
                deps: [train.py]
                params: [train.quality]
                metrics: [{metrics.json: {cache: true}}]

            """,
            "gitops-ml.yaml": config,
            "policies/gates.yaml": gatePolicy(metric: "avg_prec.test"),
        ]
    }
}
