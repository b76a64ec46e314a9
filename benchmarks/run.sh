#!/usr/bin/env bash
# Runs every benchmark; `make benchmark` builds the release binary and the venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 benchmarks/bench_git.py --gitops-ml .build/release/gitops-ml --dvc .venv/bin/dvc "$@"
python3 benchmarks/bench_check.py --gitops-ml .build/release/gitops-ml "$@"
python3 benchmarks/bench_registry.py --gitops-ml .build/release/gitops-ml --gto .venv/bin/gto "$@"
# The peer tools of bench_data.py in their own venv (pandas < 3 for evidently), made here when missing.
if ! [ -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --disable-pip-version-check -r benchmarks/requirements-bench.txt
fi
python3 benchmarks/bench_data.py --gitops-ml .build/release/gitops-ml --python .venv-bench/bin/python
python3 benchmarks/bench_agent.py --gitops-ml .build/release/gitops-ml
python3 benchmarks/bench_history.py --gitops-ml .build/release/gitops-ml
