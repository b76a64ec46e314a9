#!/usr/bin/env python3
"""Benchmarks of `gitops-ml check`, whole process, on this machine.

1. The churn example (examples/churn/materialize.sh): `gitops-ml check --no-note` on challenger/better,
   all suites but code (there are no code checks in the example).
2. 1,000,000 predictions per version (a generated repository: champion on main, challenger on a branch),
   one accuracy gate with a paired bootstrap of 1,000 resamples plus DeLong on ROC-AUC and McNemar.

    python3 benchmarks/bench_check.py --gitops-ml .build/release/gitops-ml [--runs 7]
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def measure(command, cwd, runs):
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            sys.exit(f"{' '.join(command)} failed: {err.decode()}")
    return statistics.median(times), max(peaks)


def git(*args, cwd):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@e", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@e")
    subprocess.run(["git", *args], cwd=cwd, check=True, env=env, stdout=subprocess.DEVNULL)


def predictions(path, rows, skill, seed):
    rng = random.Random(seed)
    truth_rng = random.Random(1)  # the same labels for both versions
    with open(path, "w") as handle:
        handle.write("id,y_true,y_pred,score\n")
        for i in range(rows):
            y = 1 if truth_rng.random() < 0.3 else 0
            score = min(1.0, max(0.0, (0.5 + skill * (y - 0.5)) + rng.gauss(0, 0.25)))
            handle.write(f"{i},{y},{int(score >= 0.5)},{score:.4f}\n")


def large_repo(path, rows):
    os.makedirs(os.path.join(path, "policies"))
    git("init", "-q", "-b", "main", cwd=path)
    with open(os.path.join(path, "gitops-ml.yaml"), "w") as handle:
        handle.write("version: 1\nmodels:\n  m:\n    predictions: preds.csv\n")
    with open(os.path.join(path, "policies", "gates.yaml"), "w") as handle:
        handle.write(
            "apiVersion: gitops-ml/v1\nkind: GatePolicy\nmetadata: {name: g}\nspec:\n  gates:\n"
            "    - metric: accuracy\n      significance: {test: bootstrap, resamples: 1000, seed: 1}\n"
            "    - metric: roc_auc\n      non_inferiority_margin: 0.01\n"
            "    - metric: error_rate\n      significance: {test: mcnemar}\n")
    predictions(os.path.join(path, "preds.csv"), rows, 0.50, 2)
    git("add", "-A", cwd=path)
    git("commit", "-q", "-m", "champion", cwd=path)
    git("checkout", "-q", "-b", "challenger", cwd=path)
    predictions(os.path.join(path, "preds.csv"), rows, 0.52, 3)
    git("commit", "-q", "-am", "challenger", cwd=path)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    binary = os.path.abspath(args.gitops_ml)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        example = os.path.join(tmp, "churn")
        subprocess.run(["bash", os.path.join(root, "examples/churn/materialize.sh"), example], check=True, stdout=subprocess.DEVNULL)
        git("checkout", "-q", "challenger/better", cwd=example)
        rows.append(("check on the churn example (1,000 predictions)", *measure([binary, "check", "--no-note"], example, args.runs)))
        large = os.path.join(tmp, "large")
        large_repo(large, args.rows)
        rows.append((f"check on {args.rows:,} predictions, bootstrap 1,000 + DeLong + McNemar",
                     *measure([binary, "check", "--no-note", "--suite", "gate"], large, max(3, args.runs // 2))))
    print("| task | wall (median) | peak memory |")
    print("|---|---|---|")
    for task, wall, peak in rows:
        print(f"| {task} | {wall * 1000:.0f} ms | {peak:.0f} MB |")


if __name__ == "__main__":
    main()
