#!/usr/bin/env python3
"""History queries on a generated 100,000-commit repository: `gitops-ml data origin` (the walk `lineage`
and `audit` make for each dataset) and `gitops-ml lineage` of a promoted version against
`git log --format=%H -- <the same paths>`, cold (no history cache) and warm (repeated, and after one new
commit), and the cache's size.

Every commit changes one of 50 code files; every 1,000th rewrites the dataset's .dvc pointer with a new md5.
    python3 benchmarks/bench_history.py --gitops-ml .build/release/gitops-ml [--commits 100000] [--runs 5]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

PATHS = ["data/train.csv", "data/train.csv.dvc", "data.dvc", "dvc.lock"]


def generate(path, commits):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    chunks = []
    for i in range(commits):
        files = {f"src/m{i % 50}.py": f"x = {i}\n"}
        if i == 0:
            files["gitops-ml.yaml"] = ("version: 1\nproject: bench\nmodels:\n  m: {artifact: model.bin}\n"
                                       "datasets:\n  train: data/train.csv\n"
                                       "environments:\n  staging: {branch: gitops, namespace: bench}\n")
        if i % 1000 == 0:
            md5 = f"{i:032x}".replace("0", "a")
            files["data/train.csv.dvc"] = f"outs:\n- md5: {md5}\n  size: {i}\n  hash: md5\n  path: train.csv\n"
        chunks.append(f"commit refs/heads/main\nmark :{i + 1}\ncommitter A <a@example.com> {1_700_000_000 + i} +0000\n"
                      f"data 7\nc{i:05d}\n")
        if i:
            chunks.append(f"from :{i}\n")
        for name, text in files.items():
            chunks.append(f"M 100644 inline {name}\ndata {len(text.encode())}\n{text}\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input="".join(chunks).encode(), check=True)
    subprocess.run(["git", "reset", "-q", "--hard"], cwd=path, check=True)
    # One promotion of the tip on the environment branch, as `promote` writes it (trailers and record).
    source = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, check=True, capture_output=True,
                            text=True).stdout.strip()
    record = (f"apiVersion: gitops-ml/v1\nkind: Release\nmodel: m\nenvironment: staging\nversion: v1\n"
              f"source_commit: {source}\n")
    message = (f"promote(m): v1 to staging\n\nGitops-Ml-Model: m\nGitops-Ml-Version: v1\n"
               f"Gitops-Ml-Environment: staging\nGitops-Ml-Source-Commit: {source}\n")
    blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=path, input=record.encode(), check=True,
                          capture_output=True).stdout.decode().strip()
    inner = subprocess.run(["git", "mktree"], cwd=path, input=f"100644 blob {blob}\tm.yaml\n".encode(),
                           check=True, capture_output=True).stdout.decode().strip()
    middle = subprocess.run(["git", "mktree"], cwd=path, input=f"040000 tree {inner}\tstaging\n".encode(),
                            check=True, capture_output=True).stdout.decode().strip()
    root = subprocess.run(["git", "mktree"], cwd=path, input=f"040000 tree {middle}\tenvironments\n".encode(),
                          check=True, capture_output=True).stdout.decode().strip()
    env = dict(os.environ, GIT_AUTHOR_NAME="p", GIT_AUTHOR_EMAIL="p@example.com", GIT_COMMITTER_NAME="p",
               GIT_COMMITTER_EMAIL="p@example.com")
    commit = subprocess.run(["git", "commit-tree", root, "-m", message], cwd=path, env=env, check=True,
                            capture_output=True).stdout.decode().strip()
    subprocess.run(["git", "update-ref", "refs/heads/gitops", commit], cwd=path, check=True)


def timed(command, cwd, runs, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    binary = os.path.abspath(args.gitops_ml)
    repo = os.path.join(tempfile.mkdtemp(prefix="bench-history-"), "repo")
    generate(repo, args.commits)
    cache = os.path.join(repo, ".git/gitops-ml/history-cache")

    def drop_cache():
        if os.path.exists(cache):
            os.remove(cache)

    git_log = timed(["git", "log", "--format=%H", "--"] + PATHS, repo, args.runs)
    cold = timed([binary, "data", "origin", "data/train.csv"], repo, args.runs, before=drop_cache)
    timed([binary, "data", "origin", "data/train.csv"], repo, 1)
    warm = timed([binary, "data", "origin", "data/train.csv"], repo, args.runs)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "one more"], cwd=repo, check=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b", GIT_COMMITTER_NAME="a",
                            GIT_COMMITTER_EMAIL="a@b"))
    after_commit = timed([binary, "data", "origin", "data/train.csv"], repo, 1)
    lineage_cold = timed([binary, "lineage", "m@v1"], repo, args.runs, before=drop_cache)
    lineage_warm = timed([binary, "lineage", "m@v1"], repo, args.runs)
    print(f"## History queries, {args.commits:,} commits (median of {args.runs} runs)\n")
    print("| query | time | vs git log |")
    print("|---|---|---|")
    print(f"| git log --format=%H -- <4 paths> | {git_log * 1000:,.0f} ms | 1.0× |")
    print(f"| gitops-ml data origin, no cache (first run) | {cold * 1000:,.0f} ms | {cold / git_log:.2f}× |")
    print(f"| gitops-ml data origin, repeated | {warm * 1000:,.0f} ms | |")
    print(f"| gitops-ml data origin, after one new commit | {after_commit * 1000:,.0f} ms | |")
    print(f"| gitops-ml lineage m@v1, no cache (first run) | {lineage_cold * 1000:,.0f} ms | {lineage_cold / git_log:.2f}× |")
    print(f"| gitops-ml lineage m@v1, repeated | {lineage_warm * 1000:,.0f} ms | |")
    print(f"| history cache size | {os.path.getsize(cache):,} bytes | |")


if __name__ == "__main__":
    main()
