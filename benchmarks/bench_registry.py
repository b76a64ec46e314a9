#!/usr/bin/env python3
"""`gitops-ml registry show` against `gto show`, whole process, on this machine.

A 2,000-commit repository (git fast-import) with 300 annotated GTO tags over 10 models, written with git in
GTO's formats and messages: each model gets versions registered on successive commits (`m@v1.N.0`), stages
assigned and moved (`m#staging#N`, `m#prod#N`), some unassignments (`m#staging!#N`) and deregistrations
(`m@v1.0.0!`); tag times increase by a minute. Both tools must print the same `show --json` (checked), then
each is timed: gitops-ml with its tag index cold (deleted before every run) and warm, gto as is.

    python3 benchmarks/bench_registry.py --gitops-ml .build/release/gitops-ml --gto .venv/bin/gto [--runs 7]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from bench_git import measure

MODELS = [f"model-{i}" for i in range(10)]


def build(path, commits=2000, tags=300):
    subprocess.run(["git", "init", "-q", "-b", "main", path], check=True)
    stream = []
    for n in range(commits):
        content = f"step {n}\n".encode()
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\ncommitter Bench <bench@example.com> {1_700_000_000 + n * 60} +0000\n"
                      f"data {len(f'commit {n}')}\ncommit {n}\n")
        if n:
            stream.append(f"from :{n}\n")
        stream.append(f"M 100644 inline model.txt\ndata {len(content)}\n")
        stream.append(content.decode() + "\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=path, input="".join(stream).encode(), check=True)
    marks = subprocess.run(["git", "rev-list", "--reverse", "main"], cwd=path, capture_output=True, text=True,
                           check=True).stdout.split()
    counters = {m: 0 for m in MODELS}
    made = 0
    clock = 1_800_000_000
    minor = {m: 0 for m in MODELS}

    def tag(name, commit, message):
        nonlocal made, clock
        env = dict(os.environ, GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.com",
                   GIT_COMMITTER_DATE=f"@{clock} +0000")
        subprocess.run(["git", "tag", "-a", name, "-m", message, commit], cwd=path, env=env, check=True)
        made += 1
        clock += 60

    step = 0
    while made < tags:
        model = MODELS[step % len(MODELS)]
        commit = marks[(step * 37) % len(marks)]
        version = f"v1.{minor[model]}.0"
        minor[model] += 1
        tag(f"{model}@{version}", commit, f"Registering artifact {model} version {version}")
        for stage in ("staging", "prod") if step % 3 == 0 else ("staging",):
            if made >= tags:
                break
            counters[model] += 1
            tag(f"{model}#{stage}#{counters[model]}", commit,
                f"Assigning stage {stage} to artifact {model} version {version}")
        if step % 7 == 6 and made < tags:
            counters[model] += 1
            tag(f"{model}#staging!#{counters[model]}", commit,
                f"Unassigning stage 'staging' to artifact '{model}' version '{version}'")
        if step % 11 == 10 and made < tags and minor[model] > 1:
            tag(f"{model}@v1.0.0!", marks[0], f"Deregistering artifact {model} version v1.0.0")
        step += 1
    return made


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--gto", required=True)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    binary = os.path.abspath(args.gitops_ml)
    gto_binary = os.path.abspath(args.gto)
    work = tempfile.mkdtemp(prefix="bench-registry-")
    try:
        repo = os.path.join(work, "repo")
        count = build(repo)
        index = os.path.join(repo, ".git", "gitops-ml", "registry-index")
        ours = json.loads(measure([binary, "registry", "show", "--json"], repo, 1)[2])
        theirs = json.loads(measure([gto_binary, "show", "--json"], repo, 1)[2])
        if ours != theirs:
            sys.exit(f"outputs differ:\nours   {json.dumps(ours, sort_keys=True)}\ntheirs {json.dumps(theirs, sort_keys=True)}")
        cold = measure(["sh", "-c", f"rm -f '{index}' && exec '{binary}' registry show --json"], repo, args.runs)
        warm = measure([binary, "registry", "show", "--json"], repo, args.runs)
        gto = measure([gto_binary, "show", "--json"], repo, max(3, args.runs // 2))
        print(f"registry show on 2,000 commits with {count} GTO tags ({len(ours)} models), same JSON as gto show")
        print(f"  gitops-ml (index cold)  {cold[0] * 1000:8.1f} ms  {cold[1]:6.1f} MB")
        print(f"  gitops-ml (index warm)  {warm[0] * 1000:8.1f} ms  {warm[1]:6.1f} MB")
        print(f"  gto show                {gto[0] * 1000:8.1f} ms  {gto[1]:6.1f} MB")
        print(f"  speed-up: {gto[0] / warm[0]:.0f}x warm, {gto[0] / cold[0]:.0f}x cold")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
