#!/usr/bin/env bash
# Runs every benchmark; `make benchmark` builds the release binary and the venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 benchmarks/bench_git.py --gitops-ml .build/release/gitops-ml --dvc .venv/bin/dvc "$@"
python3 benchmarks/bench_check.py --gitops-ml .build/release/gitops-ml "$@"
python3 benchmarks/bench_registry.py --gitops-ml .build/release/gitops-ml --gto .venv/bin/gto "$@"
if [ -x /tmp/benchvenv/bin/python ]; then python3 benchmarks/bench_data.py --gitops-ml .build/release/gitops-ml --python /tmp/benchvenv/bin/python; else echo "bench_data.py needs a Python with numpy, pandas, polars, great-expectations and evidently (see the script)"; fi
python3 benchmarks/bench_agent.py --gitops-ml .build/release/gitops-ml
python3 benchmarks/bench_history.py --gitops-ml .build/release/gitops-ml
