#!/usr/bin/env python3
"""Coverage of a gate's bootstrap on log-loss when the challenger changes only 10 % of the champion's
predictions (moved halfway to the right answer): the per-example differences are 0 on the other 90 %, so
the mean rests on a handful of values, as accuracy's does with few discordant pairs. numpy re-implementation
of the gates' expanded percentile interval (999 resamples), beside Student's t on (non-zero differences − 1)
degrees of freedom, the analogue of DeLong's small-sample switch. An open problem, not a gate's switch
(benchmarks/README.md). Run: .venv/bin/python benchmarks/coverage_sparse_losses.py [REPS]
"""
import sys

import numpy as np
from scipy import stats

rng = np.random.default_rng(5)


def differences(n):
    x = rng.normal(size=n)
    y = rng.random(n) < 1 / (1 + np.exp(-1.5 * x))
    pa = 1 / (1 + np.exp(-(1.2 * x + 0.3 * rng.normal(size=n))))
    moved = rng.random(n) < 0.1
    pb = np.where(moved, np.where(y, pa + 0.5 * (1 - pa), pa * 0.5), pa)
    return -np.log(np.where(y, pb, 1 - pb)) + np.log(np.where(y, pa, 1 - pa))


def expanded_percentile(d, resamples=999):
    n = len(d)
    means = np.sort(d[rng.integers(0, n, (resamples, n))].mean(axis=1))
    tail = stats.norm.cdf(-np.sqrt(n / (n - 1)) * stats.t.ppf(0.975, n - 1))
    k = int(np.ceil((resamples + 1) * tail)) - 1
    return means[max(k - 1, 0)], means[resamples - k]


def student_nonzero(d):
    n, k = len(d), int(np.count_nonzero(d))
    half = stats.t.ppf(0.975, max(k - 1, 1)) * d.std(ddof=1) / np.sqrt(n)
    return d.mean() - half, d.mean() + half


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    truth = differences(4_000_000).mean()
    print("| interval | n = 50 | n = 200 | n = 1,000 |\n|---|---|---|---|")
    rows = {"a gate's bootstrap (expanded percentile)": expanded_percentile, "t on non-zero − 1 df": student_nonzero}
    results = {name: [] for name in rows}
    for n in (50, 200, 1000):
        hits = dict.fromkeys(rows, 0)
        for _ in range(reps):
            d = differences(n)
            for name, method in rows.items():
                lower, upper = method(d)
                hits[name] += lower <= truth <= upper
        for name in rows:
            results[name].append(f"{100 * hits[name] / reps:.1f} %")
    for name, cells in results.items():
        print(f"| {name} | " + " | ".join(cells) + " |")
