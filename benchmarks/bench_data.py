#!/usr/bin/env python3
"""Benchmarks of gitops-ml's data suite against polars, Great Expectations and Evidently, whole process.

Data (generated here with numpy, seed 1): 1,000,000 rows x 10 columns, ~80 MB of CSV: id (int), age
(int), f1..f6 (floats), cat1 and cat2 (about 20 levels each). The "current" file shifts the means of f1
and f2 by half a standard deviation and changes the mix of cat1; everything else is drawn the same way.

1. The same 21 expectations: gitops-ml (`data validate` on the workspace file), a polars script
   (read + checks) and a Great Expectations script (pandas datasource, the same 21 expectations).
2. Drift of the two files: gitops-ml (`data drift`, reference committed in git, current in the work
   tree) against Evidently's DataDriftPreset; the columns flagged as drifted are compared.

    python3 benchmarks/bench_data.py --gitops-ml .build/release/gitops-ml --python .venv-bench/bin/python [--rows 1000000]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

EXPECTATIONS = [
    {"expect": "expect_table_columns_to_match_ordered_list", "column_list": ["id", "age", "f1", "f2", "f3", "f4", "f5", "f6", "cat1", "cat2"]},
    {"expect": "expect_table_row_count_to_be_between", "min_value": 1000, "max_value": 10000000},
    {"expect": "expect_column_values_to_not_be_null", "column": "id"},
    {"expect": "expect_column_values_to_be_unique", "column": "id"},
    {"expect": "expect_column_values_to_be_between", "column": "age", "min_value": 18, "max_value": 100, "mostly": 0.99},
    {"expect": "expect_column_values_to_not_be_null", "column": "age"},
] + [
    {"expect": "expect_column_values_to_be_between", "column": f"f{i}", "min_value": -100, "max_value": 100} for i in range(1, 7)
] + [
    {"expect": "expect_column_mean_to_be_between", "column": "f1", "min_value": -1, "max_value": 1},
    {"expect": "expect_column_stdev_to_be_between", "column": "f2", "min_value": 0.5, "max_value": 2},
    {"expect": "expect_column_median_to_be_between", "column": "f3", "min_value": -1, "max_value": 1},
    {"expect": "expect_column_quantile_values_to_be_between", "column": "f4",
     "quantile_ranges": {"quantiles": [0.05, 0.5, 0.95], "value_ranges": [[-3, 0], [-1, 1], [0, 3]]}},
    {"expect": "expect_column_values_to_be_in_set", "column": "cat1", "value_set": [f"a{i}" for i in range(20)]},
    {"expect": "expect_column_values_to_be_in_set", "column": "cat2", "value_set": [f"b{i}" for i in range(20)]},
    {"expect": "expect_column_values_to_not_be_null", "column": "cat1"},
    {"expect": "expect_column_value_lengths_to_be_between", "column": "cat2", "min_value": 2, "max_value": 3},
    {"expect": "expect_column_max_to_be_between", "column": "age", "min_value": 50, "max_value": 100},
]
assert len(EXPECTATIONS) == 21

GENERATE = r'''
import numpy as np, sys
rows, path, shifted = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
rng = np.random.default_rng(1 if not shifted else 2)
cols = {"id": np.arange(rows), "age": rng.integers(18, 90, rows)}
for i in range(1, 7):
    shift = 0.5 if shifted and i in (1, 2) else 0.0
    cols[f"f{i}"] = np.round(rng.normal(shift, 1.0, rows), 6)
p1 = np.ones(20) / 20
if shifted:
    p1 = np.linspace(3, 0.2, 20); p1 /= p1.sum()
cols["cat1"] = np.array([f"a{i}" for i in range(20)])[rng.choice(20, rows, p=p1)]
cols["cat2"] = np.array([f"b{i}" for i in range(20)])[rng.integers(0, 20, rows)]
import pandas as pd
pd.DataFrame(cols).to_csv(path, index=False)
'''

POLARS = r'''
import polars as pl, sys, json
checks = json.loads(sys.argv[2])
df = pl.read_csv(sys.argv[1])
ok = []
for e in checks:
    t, c = e["expect"], e.get("column")
    s = df[c] if c else None
    if t.endswith("ordered_list"): ok.append(df.columns == e["column_list"])
    elif t.endswith("row_count_to_be_between"): ok.append(e["min_value"] <= df.height <= e["max_value"])
    elif t.endswith("not_be_null"): ok.append(s.null_count() == 0)
    elif t.endswith("to_be_unique"): ok.append(s.n_unique() == s.len())
    elif t.endswith("quantile_values_to_be_between"):
        q = e["quantile_ranges"]; ok.append(all(lo <= s.quantile(x, "linear") <= hi for x, (lo, hi) in zip(q["quantiles"], q["value_ranges"])))
    elif t.endswith("values_to_be_between"):
        frac = ((s >= e["min_value"]) & (s <= e["max_value"])).mean(); ok.append(frac >= e.get("mostly", 1))
    elif t.endswith("mean_to_be_between"): ok.append(e["min_value"] <= s.mean() <= e["max_value"])
    elif t.endswith("stdev_to_be_between"): ok.append(e["min_value"] <= s.std() <= e["max_value"])
    elif t.endswith("median_to_be_between"): ok.append(e["min_value"] <= s.median() <= e["max_value"])
    elif t.endswith("in_set"): ok.append(s.is_in(e["value_set"]).all())
    elif t.endswith("lengths_to_be_between"): l = s.str.len_chars(); ok.append(bool(((l >= e["min_value"]) & (l <= e["max_value"])).all()))
    elif t.endswith("max_to_be_between"): ok.append(e["min_value"] <= s.max() <= e["max_value"])
print(json.dumps([bool(x) for x in ok]))
'''

GX = r'''
import great_expectations as gx, json, sys, pandas as pd
import great_expectations.expectations as gxe
checks = json.loads(sys.argv[2])
df = pd.read_csv(sys.argv[1])
context = gx.get_context(mode="ephemeral")
batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b").get_batch(batch_parameters={"dataframe": df})
def camel(name): return "".join(part.capitalize() for part in name.split("_"))
results = []
for e in checks:
    kwargs = {k: v for k, v in e.items() if k != "expect"}
    cls = getattr(gxe, camel(e["expect"]))
    results.append(bool(batch.validate(cls(**kwargs)).success))
print(json.dumps(results))
'''

EVIDENTLY = r'''
import pandas as pd, sys, json
from evidently import Report
from evidently.presets import DataDriftPreset
ref = pd.read_csv(sys.argv[1]); cur = pd.read_csv(sys.argv[2])
data = Report([DataDriftPreset()]).run(reference_data=ref, current_data=cur).dict()
drifted = []
for metric in data["metrics"]:
    name = metric["metric_name"]
    if not name.startswith("ValueDrift("):
        continue
    column = name.split("column=")[1].split(",")[0]
    threshold = float(name.split("threshold=")[1].rstrip(")"))
    p_value = any(test in name for test in ("K-S", "chi-square", "Z-test", "p_value"))
    value = float(metric["value"])
    if (value < threshold) if p_value else (value >= threshold):
        drifted.append(column)
print(json.dumps(sorted(drifted)))
'''


def measure(command, cwd, runs, env=None):
    times, peaks, out = [], [], b""
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = process.communicate()
        _, _, usage = os.wait4(process.pid, 0) if False else (0, 0, None)
        times.append(time.perf_counter() - start)
        if process.returncode not in (0, 1):
            sys.exit(f"{' '.join(command[:3])} failed: {err.decode()[-2000:]}")
    return statistics.median(times), out


def peak(command, cwd, env=None):
    """Peak resident memory of one run, from GNU time if present, else wait4."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, _, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--python", required=True, help="a Python with numpy, pandas, polars, great-expectations, evidently")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-slow", action="store_true", help="skip Great Expectations and Evidently")
    args = parser.parse_args()
    binary = os.path.abspath(args.gitops_ml)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = os.environ.get("BENCH_DIR", tmp)
        repo = os.path.join(tmp, "repo")
        os.makedirs(os.path.join(repo, "data"))
        os.makedirs(os.path.join(repo, "policies"))
        ref_path = os.path.join(repo, "data", "data.csv")
        cur_path = os.path.join(tmp, "current.csv")
        subprocess.run([args.python, "-c", GENERATE, str(args.rows), ref_path, "0"], check=True)
        subprocess.run([args.python, "-c", GENERATE, str(args.rows), cur_path, "1"], check=True)
        with open(os.path.join(repo, "gitops-ml.yaml"), "w") as handle:
            handle.write("version: 1\ndatasets:\n  d: data/data.csv\n")
        with open(os.path.join(repo, "policies", "data.yaml"), "w") as handle:
            handle.write("apiVersion: gitops-ml/v1\nkind: DataPolicy\nmetadata: {name: d}\nspec:\n  dataset: d\n  expectations:\n")
            for e in EXPECTATIONS:
                handle.write("    - " + json.dumps(e) + "\n")
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@e", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@e")
        subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
        subprocess.run(["git", "commit", "-q", "-m", "reference"], cwd=repo, check=True, env=env)
        size = os.path.getsize(ref_path) / 1e6
        print(f"data: {args.rows:,} rows, {size:.0f} MB", file=sys.stderr)

        wall, out = measure([binary, "data", "validate"], repo, args.runs)
        rows.append(("21 expectations", "gitops-ml data validate", wall, peak([binary, "data", "validate"], repo), out.decode().count("✔")))
        wall, out = measure([args.python, "-c", POLARS, ref_path, json.dumps(EXPECTATIONS)], repo, args.runs)
        rows.append(("21 expectations", "polars", wall, peak([args.python, "-c", POLARS, ref_path, json.dumps(EXPECTATIONS)], repo), sum(json.loads(out))))
        if not args.skip_slow:
            wall, out = measure([args.python, "-c", GX, ref_path, json.dumps(EXPECTATIONS)], repo, 1)
            rows.append(("21 expectations", "great-expectations", wall, peak([args.python, "-c", GX, ref_path, json.dumps(EXPECTATIONS)], repo), sum(json.loads(out.decode().strip().splitlines()[-1]))))

        # Drift: the reference at HEAD (git), the current file in the work tree.
        os.replace(cur_path, ref_path)
        drift = [binary, "data", "drift", "d", "--base", "HEAD", "--json"]
        wall, out = measure(drift, repo, args.runs)
        ours = sorted(f["details"]["column"] for f in json.loads(out) if f.get("status") == "warn")
        rows.append(("drift, 1M vs 1M", "gitops-ml data drift", wall, peak(drift, repo), ",".join(ours)))
        if not args.skip_slow:
            subprocess.run(["git", "show", "HEAD:data/data.csv"], cwd=repo, check=True, stdout=open(os.path.join(tmp, "reference.csv"), "wb"))
            command = [args.python, "-c", EVIDENTLY, os.path.join(tmp, "reference.csv"), ref_path]
            wall, out = measure(command, repo, 1)
            rows.append(("drift, 1M vs 1M", "evidently DataDriftPreset", wall, peak(command, repo), ",".join(json.loads(out.decode().strip().splitlines()[-1]))))

    print("| task | tool | wall (median) | peak memory | result |")
    print("|---|---|---|---|---|")
    for task, tool, wall, mem, result in rows:
        print(f"| {task} | {tool} | {wall:.2f} s | {mem:.0f} MB | {result} |")
    # The answers must agree: as many expectations met by each tool, the same columns drifted.
    for task in ("21 expectations", "drift, 1M vs 1M"):
        results = {tool: result for row_task, tool, _, _, result in rows if row_task == task}
        if len(set(results.values())) > 1:
            sys.exit(f"{task}: the tools disagree: {results}")


if __name__ == "__main__":
    main()
