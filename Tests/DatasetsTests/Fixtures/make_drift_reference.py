#!/usr/bin/env python3
"""Reference values for the drift statistics, computed with scipy, numpy and statsmodels:
ks_2samp, wasserstein_distance, jensenshannon, chisquare, chi2_contingency, proportions_ztest,
multipletests(fdr_bh), gammaincc, numpy quantiles and standard deviations.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install scipy numpy statsmodels
    /tmp/ref/bin/python Tests/DataTests/Fixtures/make_drift_reference.py > Tests/DataTests/Fixtures/drift_reference.json
    .venv/bin/python Tests/DataTests/Fixtures/make_drift_reference.py --check   # recompute, compare (make test)
"""
import json
import sys

import numpy as np
import scipy
import statsmodels
from scipy import special, stats
from scipy.spatial.distance import jensenshannon
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

rng = np.random.default_rng(7)
out = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__}}


def shares(ref, cur, floor):
    """Ten bins at the reference's deciles, (e[k-1], e[k]], outer bins open; empty bins floored."""
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    def hist(values):
        idx = np.searchsorted(edges, values, side="left")
        return np.bincount(idx, minlength=len(edges) + 1) / len(values)
    r, c = hist(ref), hist(cur)
    if floor:
        r = np.where(r == 0, 0.0001, r)
        c = np.where(c == 0, 0.0001, c)
    return r, c


numeric = []
for n1, n2, shift, decimals in [(40, 40, 0.0, 6), (30, 70, 0.5, 6), (300, 500, 0.1, 6), (800, 1000, 0.05, 1),
                                (1000, 1000, 0.3, 2), (2500, 1200, 0.08, 3), (12000, 15000, 0.03, 6)]:
    ref = np.round(rng.normal(0, 1, n1), decimals)
    cur = np.round(rng.normal(shift, 1.1, n2), decimals)
    ks = stats.ks_2samp(ref, cur)
    r, c = shares(ref, cur, True)
    rj, cj = shares(ref, cur, False)
    numeric.append({
        "reference": ref.tolist(), "current": cur.tolist(),
        "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
        "ks_method": "exact" if max(n1, n2) <= 10000 else "asymptotic",
        "wasserstein": float(stats.wasserstein_distance(ref, cur)),
        "normed_wasserstein": float(stats.wasserstein_distance(ref, cur) / np.std(ref)),
        "std_ddof0": float(np.std(ref)), "std_ddof1": float(np.std(ref, ddof=1)),
        "quantiles": [float(np.quantile(ref, q)) for q in (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)],
        "psi": float(np.sum((r - c) * np.log(r / c))),
        "jensenshannon": float(jensenshannon(rj, cj)),
    })
out["numeric"] = numeric

categorical = []
for n1, n2, probs_ref, probs_cur in [(500, 400, [0.5, 0.3, 0.2], [0.45, 0.35, 0.2]),
                                     (2000, 2000, [0.25, 0.25, 0.25, 0.25], [0.4, 0.2, 0.2, 0.2]),
                                     (300, 350, [0.6, 0.3, 0.1, 0.0], [0.55, 0.3, 0.1, 0.05])]:
    labels = np.array(["a", "b", "c", "d"][: len(probs_ref)])
    ref = rng.choice(labels, n1, p=probs_ref)
    cur = rng.choice(labels, n2, p=probs_cur)
    keys = sorted(set(ref) | set(cur))
    rc = np.array([np.sum(ref == k) for k in keys], dtype=float)
    cc = np.array([np.sum(cur == k) for k in keys], dtype=float)
    f_exp = rc * len(cur) / len(ref)
    entry = {"reference": ref.tolist(), "current": cur.tolist()}
    if np.all(f_exp > 0):
        gof = stats.chisquare(cc, f_exp)
        entry["chisquare_statistic"] = float(gof.statistic)
        entry["chisquare_pvalue"] = float(gof.pvalue)
    cont = stats.chi2_contingency(np.vstack([rc, cc]))
    entry["contingency_statistic"] = float(cont.statistic)
    entry["contingency_pvalue"] = float(cont.pvalue)
    entry["contingency_dof"] = int(cont.dof)
    r = rc / len(ref)
    c = cc / len(cur)
    rf = np.where(r == 0, 0.0001, r)
    cf = np.where(c == 0, 0.0001, c)
    entry["psi"] = float(np.sum((rf - cf) * np.log(rf / cf)))
    entry["jensenshannon"] = float(jensenshannon(r, c))
    categorical.append(entry)
out["categorical"] = categorical

binary = []
for n1, n2, p1, p2 in [(400, 500, 0.3, 0.36), (1000, 800, 0.5, 0.5), (60, 90, 0.2, 0.4)]:
    ref = np.where(rng.random(n1) < p1, "yes", "no")
    cur = np.where(rng.random(n2) < p2, "yes", "no")
    key = sorted(set(ref) | set(cur))[0]
    z, p = proportions_ztest([np.sum(ref == key), np.sum(cur == key)], [n1, n2])
    binary.append({"reference": ref.tolist(), "current": cur.tolist(), "z": float(z), "pvalue": float(p)})
out["binary"] = binary

pvals = [0.001, 0.04, 0.03, 0.2, 0.5, 0.012, 0.9, 0.049]
out["benjamini_hochberg"] = {"p": pvals, "adjusted": multipletests(pvals, method="fdr_bh")[1].tolist()}
out["gammaincc"] = [{"a": a, "x": x, "q": float(special.gammaincc(a, x))}
                    for a, x in [(0.5, 0.1), (0.5, 3.0), (1.5, 2.0), (3.0, 0.5), (10.0, 12.0), (50.0, 40.0), (2.0, 30.0)]]


def close(a, b, path="$"):
    """Equal structure; numbers equal to 1e-12 relative (another BLAS may round the last digit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], f"{path}.{k}") for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, float) or isinstance(b, float):
        same = abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))
    else:
        same = a == b
    if not same:
        print(f"differs at {path}: committed {b!r}, recomputed {a!r}", file=sys.stderr)
    return same


if "--check" in sys.argv:
    path = __file__.rsplit("/", 1)[0] + "/drift_reference.json"
    with open(path) as handle:
        committed = json.load(handle)
    committed.pop("versions", None)
    recomputed = json.loads(json.dumps(out))
    versions = recomputed.pop("versions")
    good = close(recomputed, committed)
    print(f"drift_reference.json: recomputed with {versions}: {'same' if good else 'DIFFERENT'}")
    sys.exit(0 if good else 1)
json.dump(out, sys.stdout, allow_nan=False)
sys.stdout.write("\n")
