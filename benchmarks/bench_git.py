#!/usr/bin/env python3
"""Benchmarks of gitops-ml's git reading against dvc and git, whole process, on this machine.

1. A 2,000-commit DVC project made with `git fast-import` (each commit changes metrics.json; every tenth
   also params.yaml; a filler file grows the trees), timed with `gitops-ml diff metrics HEAD~100 HEAD --json`
   against `dvc metrics diff HEAD~100 HEAD --json` (same output checked), and params likewise.
2. A 50 MB blob of random bytes: `gitops-ml show HEAD:big.bin` against `git cat-file -p HEAD:big.bin`.

Wall time is the median of --runs runs; peak memory is the child's maximum resident set (wait4).
    python3 benchmarks/bench_git.py --gitops-ml .build/release/gitops-ml --dvc .venv/bin/dvc [--runs 7]
"""
import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time


def measure(command, cwd, runs, env=None):
    """Median wall seconds and max peak RSS (MB) over `runs` runs; stdout of the last run."""
    times, peaks, out = [], [], b""
    for _ in range(runs):
        start = time.perf_counter()
        with open(os.devnull, "wb") as devnull:
            process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=devnull, env=env)
            out = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = status
        times.append(time.perf_counter() - start)
        peaks.append(usage.ru_maxrss / 1024)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(command)} failed")
    return statistics.median(times), max(peaks), out


def fast_import_repo(path, commits):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    rng = random.Random(1)
    lines = []
    mark = 0
    t0 = 1_700_000_000
    filler_names = [f"src/module_{i:03d}.py" for i in range(200)]
    for n in range(commits):
        mark += 1
        metrics = {"train": {"accuracy": round(0.7 + rng.random() * 0.2, 6), "loss": round(rng.random(), 6)},
                   "eval": {"accuracy": round(0.7 + rng.random() * 0.2, 6), "auc": round(0.8 + rng.random() * 0.1, 6),
                            "per_class": {f"c{i}": round(rng.random(), 6) for i in range(10)}}, "step": n}
        files = {"metrics.json": json.dumps(metrics, indent=2) + "\n"}
        if n % 10 == 0:
            files["params.yaml"] = f"train:\n  lr: {round(rng.random() / 10, 6)}\n  epochs: {n % 50 + 1}\n  layers: [64, {n % 7 * 32 + 32}]\n"
        if n == 0:
            files["dvc.yaml"] = "stages:\n  train:\n    cmd: python train.py\n    params: [train]\n    metrics:\n      - metrics.json:\n          cache: false\n"
            files[".dvc/config"] = ""
            files[".dvc/.gitignore"] = "/config.local\n/tmp\n/cache\n"
            files[".dvcignore"] = ""
            for name in filler_names:
                files[name] = f"# {name}\n" + "x = 1\n" * 50
        files[filler_names[n % len(filler_names)]] = f"# revision {n}\n" + "y = 2\n" * (n % 40 + 1)
        lines.append(f"commit refs/heads/main\ncommitter Bench <bench@example.com> {t0 + n * 60} +0000\n")
        message = f"step {n}"
        lines.append(f"data {len(message)}\n{message}\n")
        # fast-import chains commits on the same branch: no explicit parent needed.
        for name, content in files.items():
            data = content.encode()
            lines.append(f"M 100644 inline {name}\ndata {len(data)}\n")
            lines.append(data.decode() + "\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input="".join(lines).encode(), check=True)
    subprocess.run(["git", "checkout", "-q", "-f", "main"], cwd=path, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--dvc", required=True)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--commits", type=int, default=2000)
    args = parser.parse_args()
    ours = os.path.abspath(args.gitops_ml)
    args.dvc = os.path.abspath(args.dvc)
    env = dict(os.environ, DVC_NO_ANALYTICS="1")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        fast_import_repo(repo, args.commits)
        count = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
        print(f"repository: {count} commits", file=sys.stderr)
        for kind in ("metrics", "params"):
            mine = measure([ours, "diff", kind, "HEAD~100", "HEAD", "--json"], repo, args.runs)
            theirs = measure([args.dvc, kind, "diff", "HEAD~100", "HEAD", "--json"], repo, args.runs, env)
            same = json.loads(mine[2] or b"{}") == json.loads(theirs[2] or b"{}")
            rows.append((f"diff {kind} HEAD~100 HEAD", mine, f"dvc {kind} diff", theirs, same))

        big = os.path.join(tmp, "big")
        subprocess.run(["git", "init", "-q", "-b", "main", big], check=True)
        with open(os.path.join(big, "big.bin"), "wb") as handle:
            handle.write(random.Random(2).randbytes(50 * 1024 * 1024))
        subprocess.run(["git", "add", "big.bin"], cwd=big, check=True)
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@e", "commit", "-q", "-m", "big"], cwd=big, check=True)
        subprocess.run(["git", "gc", "-q"], cwd=big, check=True)  # packed, as in a real clone
        mine = measure([ours, "show", "HEAD:big.bin"], big, args.runs)
        theirs = measure(["git", "cat-file", "-p", "HEAD:big.bin"], big, args.runs)
        rows.append(("show HEAD:big.bin (50 MB)", mine, "git cat-file -p", theirs, mine[2] == theirs[2]))

    print("| task | gitops-ml | peak | peer | peer time | peer peak | ratio | same output |")
    print("|---|---|---|---|---|---|---|---|")
    for task, mine, peer, theirs, same in rows:
        ratio = theirs[0] / mine[0]
        print(f"| {task} | {mine[0]*1000:.1f} ms | {mine[1]:.0f} MB | {peer} | {theirs[0]*1000:.1f} ms | {theirs[1]:.0f} MB "
              f"| {ratio:.1f}× {'faster' if ratio >= 1 else 'slower'} | {'yes' if same else 'NO'} |")
    differing = [task for task, _, _, _, same in rows if not same]
    if differing:
        sys.exit(f"gitops-ml and its peer answered differently: {', '.join(differing)}")


if __name__ == "__main__":
    main()
