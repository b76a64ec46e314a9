#!/usr/bin/env python3
"""Expected values for the gate and drift statistics, computed independently of gitops-ml:
scikit-learn (metrics), statsmodels (McNemar's score test), scipy (normal tails, brentq for Tango's
interval), a DeLong from the paper (Sun & Xu, re-typed from yandexdataschool/roc_comparison), and
Evidently's own stattests, imported from the `evidently` package and called as Evidently calls them
(nulls and infinities dropped, its automatic choice from `get_stattest`, its refusals).

The data are not stored: Tests/Reference/refgen.py and Tests/TestSupport/ReferenceData.swift build the
same values from the specs in the fixtures.

    .venv/bin/python Tests/Reference/make_statistics_reference.py          # rewrite the fixtures
    .venv/bin/python Tests/Reference/make_statistics_reference.py --check  # recompute, compare (make test)
    .venv/bin/python Tests/Reference/make_statistics_reference.py --corpus SEED COUNT FILE  # fresh cases
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import sklearn
import statsmodels
from scipy import optimize, stats
from sklearn import metrics
from statsmodels.stats.contingency_tables import mcnemar

import evidently
from evidently.legacy.calculations.stattests import registry
from evidently.legacy.core import ColumnType

sys.path.insert(0, os.path.dirname(__file__))
import refgen  # noqa: E402

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
GATES = os.path.join(HERE, "..", "GatesTests", "Fixtures", "statistics_reference.json")
DRIFT = os.path.join(HERE, "..", "DatasetsTests", "Fixtures", "evidently_reference.json")
VERSIONS = {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
            "statsmodels": statsmodels.__version__, "pandas": pd.__version__, "evidently": evidently.__version__}


# ---------------------------------------------------------------- gates

def delong(y, a, b):
    def midrank(x):
        order = np.argsort(x, kind="stable")
        z = x[order]
        t = np.zeros(len(x))
        i = 0
        while i < len(x):
            j = i
            while j < len(x) and z[j] == z[i]:
                j += 1
            t[i:j] = 0.5 * (i + j - 1)
            i = j
        out = np.empty(len(x))
        out[order] = t + 1
        return out
    order = (-y).argsort(kind="stable")
    m = int(y.sum())
    preds = np.vstack((a, b))[:, order]
    n = preds.shape[1] - m
    tx = np.array([midrank(r[:m]) for r in preds])
    ty = np.array([midrank(r[m:]) for r in preds])
    tz = np.array([midrank(r) for r in preds])
    aucs = tz[:, :m].sum(axis=1) / m / n - (m + 1.0) / 2.0 / n
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.cov(v01) / m + np.cov(v10) / n
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if not variance > 1e-20:
        return {"undefined": True}
    z = (aucs[1] - aucs[0]) / math.sqrt(variance)
    out = {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "variance": variance, "z": float(z),
           "p_value": float(2 * stats.norm.sf(abs(z)))}
    # gitops-ml's small-sample rule (benchmarks/README.md): with fewer than 30 examples scored differently
    # by the two models, or fewer than half of them, Student's t on (that count - 1) degrees of freedom.
    differing = int(np.sum(np.asarray(a) != np.asarray(b)))
    if differing < 30 or 2 * differing < len(a):
        out["degrees_of_freedom"] = differing - 1
        out["p_value_t"] = float(2 * stats.t.sf(abs(z), differing - 1))
    return out


def tango(b, c, n, confidence):
    """Tango (1998): the delta0 whose score statistic equals +-z, found with scipy's brentq.
    x12 = c (only the challenger right), x21 = b."""
    def score(d):
        a_ = 2 * n
        b_ = -c - b + (2 * n - c + b) * d
        c_ = -b * d * (1 - d)
        q = (math.sqrt(b_ * b_ - 4 * a_ * c_) - b_) / (2 * a_)
        return (c - b - n * d) / math.sqrt(n * (2 * q + d * (1 - d)))
    z = stats.norm.ppf(0.5 + confidence / 2)
    if b == c == 0:  # the statistic is 0/0 at d = 0; its limit gives the closed form +-z^2/(n + z^2)
        return [-z * z / (n + z * z), z * z / (n + z * z)]
    est = (c - b) / n
    eps = 1e-12
    lo = -1 + eps if score(-1 + eps) <= z else optimize.brentq(lambda d: score(d) - z, -1 + eps, est, xtol=1e-15)
    hi = 1 - eps if score(1 - eps) >= -z else optimize.brentq(lambda d: score(d) + z, est, 1 - eps, xtol=1e-15)
    return [lo, hi]


def label_text(values, style, positive=1):
    forms = {"int": ("0", "1"), "float": ("0.0", "1.0"), "bool": ("False", "True"), "yes": ("no", "yes")}
    return [forms[style][1] if v == positive else forms[style][0] for v in values]


def undefined_as_none(value):
    return None if math.isnan(value) else float(value)


def average_precision(y, s):
    """scikit-learn's average precision, none with no positive in y_true, where it warns "No positive class
    found in y_true, recall is set to one for all thresholds" and answers 0.0: recall is 0/0 there, and
    gitops-ml refuses it, as both refuse ROC AUC."""
    if not np.any(np.asarray(y) == 1):
        return None
    return undefined_as_none(metrics.average_precision_score(y, s))


def binary_case(name, spec, style):
    y, pred, proba = refgen.classification(spec)
    y = np.array(y)
    case = {"name": name, "spec": spec, "labels": style}
    for side in ("a", "b"):
        p = np.array(pred[side])
        s = np.array([row[1] for row in proba[side]]) / 1000
        case["metrics_" + side] = {
            "accuracy": metrics.accuracy_score(y, p),
            "precision": metrics.precision_score(y, p, zero_division=0),
            "recall": metrics.recall_score(y, p, zero_division=0),
            "f1": metrics.f1_score(y, p, zero_division=0),
            "f1_macro": metrics.f1_score(y, p, average="macro", zero_division=0),
            "f1_weighted": metrics.f1_score(y, p, average="weighted", zero_division=0),
            # scikit-learn answers nan (with a warning) where the metric is undefined; gitops-ml refuses.
            "roc_auc": undefined_as_none(metrics.roc_auc_score(y, s)),
            "pr_auc": average_precision(y, s),
            "log_loss": metrics.log_loss(y, s, labels=[0, 1]),
            "brier": metrics.brier_score_loss(y, s, pos_label=1),
        }
    a_right = np.array(pred["a"]) == y
    b_right = np.array(pred["b"]) == y
    b = int((a_right & ~b_right).sum())
    c = int((~a_right & b_right).sum())
    if b + c > 0:
        res = mcnemar([[0, b], [c, 0]], exact=False, correction=False)
        case["mcnemar"] = {"b": b, "c": c, "statistic": float(res.statistic), "p_value": float(res.pvalue),
                           "tango_95": tango(b, c, len(y), 0.95), "tango_90": tango(b, c, len(y), 0.90)}
    else:
        case["mcnemar"] = {"b": 0, "c": 0, "p_value": 1.0, "tango_95": tango(0, 0, len(y), 0.95)}
    if not len(set(y.tolist())) < 2 and min(int(y.sum()), len(y) - int(y.sum())) >= 2:
        sa = np.array([row[1] for row in proba["a"]]) / 1000
        sb = np.array([row[1] for row in proba["b"]]) / 1000
        case["delong"] = delong(y, sa, sb)
    return case


def multiclass_case(name, spec):
    y, pred, proba = refgen.classification(spec)
    classes = spec["classes"]
    yt = np.array([classes[i] for i in y])
    case = {"name": name, "spec": spec}
    for side in ("a", "b"):
        yp = np.array([classes[i] for i in pred[side]])
        P = np.array(proba[side]) / 1000
        # A metric scikit-learn leaves undefined (NaN: macro ROC AUC with a class absent from y_true) is
        # none, as gitops-ml refuses it; JSON has no NaN.
        case["metrics_" + side] = {name: undefined_as_none(value) for name, value in {
            "accuracy": metrics.accuracy_score(yt, yp),
            "f1_macro": metrics.f1_score(yt, yp, average="macro", zero_division=0),
            "f1_weighted": metrics.f1_score(yt, yp, average="weighted", zero_division=0),
            "precision_macro": metrics.precision_score(yt, yp, average="macro", zero_division=0),
            "recall_macro": metrics.recall_score(yt, yp, average="macro", zero_division=0),
            "roc_auc": metrics.roc_auc_score(yt, P, multi_class="ovr", labels=classes),
            "roc_auc_weighted": metrics.roc_auc_score(yt, P, multi_class="ovr", average="weighted", labels=classes),
            "log_loss": metrics.log_loss(yt, P, labels=classes),
            "brier": metrics.brier_score_loss(yt, P, labels=classes),
        }.items()}
    return case


def regression_case(name, spec):
    truth = np.array(refgen.numeric(spec["truth"]))
    out = {"name": name, "spec": spec}
    for side in ("a", "b"):
        pred = np.array(refgen.numeric(spec[side]))
        out["metrics_" + side] = {
            "mae": metrics.mean_absolute_error(truth, pred), "mse": metrics.mean_squared_error(truth, pred),
            "rmse": math.sqrt(metrics.mean_squared_error(truth, pred)), "r2": metrics.r2_score(truth, pred),
            "mape": metrics.mean_absolute_percentage_error(truth, pred)}
    return out


def gates():
    out = {"versions": VERSIONS, "binary": [], "multiclass": [], "regression": []}
    base = {"classes": [0, 1], "accuracy_a": 780, "accuracy_b": 810, "separation_a": 600, "separation_b": 750,
            "positive_share": 350}
    for n, style in [(30, "int"), (200, "float"), (1000, "bool"), (100000, "yes")]:
        out["binary"].append(binary_case(f"n={n} labels {style}", dict(base, seed=100 + n, n=n), style))
    out["binary"].append(binary_case("perfect separation", dict(base, seed=7, n=200, separation_a=100000,
                                                                 separation_b=100000), "int"))
    out["binary"].append(binary_case("one class", dict(base, seed=8, n=50, positive_share=1000), "int"))
    out["binary"].append(binary_case("identical models", dict(base, seed=9, n=300, accuracy_b=780,
                                                               separation_b=600, accuracy_a=1000), "int"))
    for n in (30, 200, 1000):
        out["multiclass"].append(multiclass_case(f"3 classes n={n}", {
            "seed": 300 + n, "n": n, "classes": ["bird", "cat", "dog"], "accuracy_a": 700, "accuracy_b": 720,
            "separation_a": 800, "separation_b": 900}))
    out["multiclass"].append(multiclass_case("5 numeric classes n=500", {
        "seed": 77, "n": 500, "classes": ["1", "2", "3", "4", "5"], "accuracy_a": 600, "accuracy_b": 650,
        "separation_a": 700, "separation_b": 800}))
    for n in (30, 1000):
        out["regression"].append(regression_case(f"n={n}", {
            "truth": {"seed": 500 + n, "n": n, "mean": 10000, "sd": 3000, "decimals": 3},
            "a": {"seed": 600 + n, "n": n, "mean": 10000, "sd": 3100, "decimals": 3},
            "b": {"seed": 700 + n, "n": n, "mean": 10200, "sd": 2900, "decimals": 3}}))
    out["student_t"] = [{"t": t, "df": df, "cdf": float(stats.t.cdf(t, df)), "quantile_of": q,
                         "quantile": float(stats.t.ppf(q, df))}
                        for t, df, q in [(-2.0, 1, 0.975), (0.3, 4, 0.9), (-3.5, 49, 0.975), (1.2, 199, 0.995),
                                         (-8.0, 999, 0.975), (-0.01, 100000, 0.6)]]
    out["normal_tails"] = [{"z": z, "p": float(2 * stats.norm.sf(z))} for z in (0.5, 1.96, 5, 9, 15, 25, 37)]
    return out


def gates_corpus(seed, count):
    """Fresh random specs (`make test` draws a new seed each run): binary with every label style, sizes
    from 12 to 5,000, accuracies and separations from chance to perfect, rare and common positives; 3 to 6
    classes; regressions with their own means, spreads and decimals."""
    import random
    rng = random.Random(seed)
    out = {"seed": seed, "versions": VERSIONS, "binary": [], "multiclass": [], "regression": []}
    sizes = [12, 20, 30, 50, 100, 200, 500, 1000, 5000]
    for index in range(count):
        spec = {"classes": [0, 1], "seed": rng.randrange(1, 2**62), "n": rng.choice(sizes),
                "accuracy_a": rng.randint(400, 1000), "accuracy_b": rng.randint(400, 1000),
                "separation_a": rng.choice([0, rng.randint(0, 3000), 100000]),
                "separation_b": rng.choice([0, rng.randint(0, 3000), 100000]),
                "positive_share": rng.choice([rng.randint(20, 980), rng.randint(0, 60), 1000])}
        if rng.random() < 0.2:  # the same predictions on both sides, or the same accuracy
            spec["accuracy_b"], spec["separation_b"] = spec["accuracy_a"], spec["separation_a"]
        style = rng.choice(["int", "float", "bool", "yes"])
        out["binary"].append(binary_case(f"seed {seed} binary {index}", spec, style))
    for index in range(max(count // 4, 1)):
        k = rng.randint(3, 6)
        classes = rng.choice([[str(i + 1) for i in range(k)], ["bird", "cat", "dog", "eel", "fox", "gnu"][:k]])
        spec = {"seed": rng.randrange(1, 2**62), "n": rng.choice(sizes[2:]), "classes": classes,
                "accuracy_a": rng.randint(300, 1000), "accuracy_b": rng.randint(300, 1000),
                "separation_a": rng.randint(0, 3000), "separation_b": rng.randint(0, 3000)}
        try:
            out["multiclass"].append(multiclass_case(f"seed {seed} multiclass {index}", spec))
        except ValueError:  # a class absent from y_true at small n: scikit-learn refuses the whole case
            continue
    for index in range(max(count // 4, 1)):
        n = rng.choice(sizes)
        decimals = rng.randint(0, 4)
        mean, sd = rng.randint(-10**6, 10**6), rng.randint(1, 10**5)

        def side():
            return {"seed": rng.randrange(1, 2**62), "n": n, "mean": mean + rng.randint(-sd, sd),
                    "sd": max(1, sd + rng.randint(-sd // 2, sd // 2)), "decimals": decimals}
        out["regression"].append(regression_case(f"seed {seed} regression {index}",
                                                 {"truth": side(), "a": side(), "b": side()}))
    return out


# ---------------------------------------------------------------- drift

TESTS = ["ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z"]


def evidently_result(ref, cur, feature_type, test):
    r = ref.replace([-np.inf, np.inf], np.nan).dropna()
    c = cur.replace([-np.inf, np.inf], np.nan).dropna()
    try:
        stattest = registry.get_stattest(r, c, feature_type, test)
    except (registry.StatTestInvalidFeatureTypeError, ValueError):
        return {"refused": True}
    result = stattest(r, c, feature_type, None)
    entry = {"test": stattest.name, "score": float(result.drift_score), "drifted": bool(result.drifted),
             "threshold": float(result.actual_threshold)}
    if stattest.name == "z" and feature_type == ColumnType.Categorical or stattest.name == "z":
        keys = sorted(set(r.unique()) | set(c.unique()))
        if len(keys) > 1:
            p1 = float((r != keys[0]).mean())
            p2 = float((c != keys[0]).mean())
            n1, n2 = len(r), len(c)
            pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
            z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            entry["accurate_score"] = float(2 * stats.norm.sf(abs(z)))
    return entry


def drift_case(name, kind, reference, current):
    gen = {"numeric": refgen.numeric, "categorical": refgen.categorical, "ids": refgen.identifiers}[kind]
    r, c = gen(reference), gen(current)
    if kind == "numeric":
        ref = pd.Series([np.nan if v is None else v for v in r], dtype=float)
        cur = pd.Series([np.nan if v is None else v for v in c], dtype=float)
        if reference["decimals"] == 0 and current["decimals"] == 0 and ref.notna().all() and cur.notna().all():
            ref, cur = ref.astype("int64"), cur.astype("int64")
        feature_type = ColumnType.Numerical
    else:
        ref, cur = pd.Series(r, dtype=object), pd.Series(c, dtype=object)
        feature_type = ColumnType.Categorical
    case = {"name": name, "kind": kind, "reference": reference, "current": current, "results": {}}
    if ref.dropna().empty or cur.dropna().empty:
        case["results"]["auto"] = {"refused": True, "empty": True}
        return case
    case["results"]["auto"] = evidently_result(ref, cur, feature_type, None)
    for test in TESTS:
        case["results"][test] = evidently_result(ref, cur, feature_type, test)
    return case


def num(seed, n, mean=0, sd=1000, decimals=3, **extra):
    return dict({"seed": seed, "n": n, "mean": mean, "sd": sd, "decimals": decimals}, **extra)


def cat(seed, n, weights, categories=("a", "b", "c"), **extra):
    return dict({"seed": seed, "n": n, "categories": list(categories), "weights": list(weights)}, **extra)


def drift():
    cases = []
    for n in (30, 200, 1000, 100000):
        cases.append(drift_case(f"numeric n={n} small shift", "numeric", num(n, n), num(n + 1, n, mean=150)))
        cases.append(drift_case(f"numeric n={n} same", "numeric", num(n + 2, n), num(n + 3, n)))
        cases.append(drift_case(f"categorical n={n}", "categorical", cat(n + 4, n, [50, 30, 20]),
                                cat(n + 5, n, [40, 30, 30])))
    cases += [
        drift_case("ties: one decimal", "numeric", num(11, 800, decimals=1, sd=10), num(12, 900, decimals=1, sd=11)),
        drift_case("integers, 1200 rows", "numeric", num(13, 1200, decimals=0, mean=40, sd=12),
                   num(14, 1500, decimals=0, mean=42, sd=12)),
        drift_case("few integer values", "numeric", num(15, 500, decimals=0, mean=2, sd=1),
                   num(16, 500, decimals=0, mean=2, sd=1)),
        drift_case("3 numeric values, large", "numeric", num(17, 3000, decimals=0, mean=1, sd=0, constant=1),
                   num(18, 3000, decimals=0, mean=1, sd=1)),
        drift_case("constant reference", "numeric", num(19, 400, constant=5000), num(20, 400, mean=5000, sd=10)),
        drift_case("constant reference, large", "numeric", num(21, 2000, constant=5000),
                   num(22, 2000, constant=5000)),
        drift_case("mostly null", "numeric", num(23, 600, null_every=1, sd=1000) if False else
                   num(23, 3000, null_every=2), num(24, 3000, mean=300, null_every=3)),
        drift_case("nulls near 1000", "numeric", num(25, 1100, null_every=5), num(26, 1100, mean=50)),
        drift_case("binary category", "categorical", cat(27, 400, [70, 30], ("no", "yes")),
                   cat(28, 400, [55, 45], ("no", "yes"))),
        drift_case("three categories, massive shift", "categorical", cat(29, 500, [80, 15, 5]),
                   cat(30, 500, [5, 15, 80])),
        drift_case("new category", "categorical", cat(31, 300, [60, 40, 0]), cat(32, 300, [50, 30, 20])),
        drift_case("rare category, large", "categorical", cat(33, 100000, [99990, 9, 1]),
                   cat(34, 100000, [99980, 15, 5])),
        drift_case("categorical with nulls", "categorical", cat(35, 1500, [50, 50, 10], null_every=4),
                   cat(36, 1500, [40, 50, 20], null_every=7)),
        drift_case("all null", "numeric", num(37, 100, null_every=1), num(38, 100)),
        drift_case("identifiers, same", "ids", {"n": 300, "offset": 0}, {"n": 300, "offset": 0}),
        drift_case("identifiers, new ones", "ids", {"n": 300, "offset": 0}, {"n": 300, "offset": 150}),
        drift_case("identifiers, large", "ids", {"n": 5000, "offset": 0}, {"n": 5000, "offset": 4000}),
    ]
    # scipy's kstwo.sf in each of its regimes (Durbin matrix, Pelz-Good, 2 x Smirnov, Ruben-Gambino).
    kstwo = [{"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))} for n, d in [
        (952, 0.02), (952, 0.05), (952, 0.1), (5000, 0.01), (5000, 0.03), (120, 0.1), (120, 0.2), (50000, 0.003),
        (20, 0.6), (300, 0.004), (100000, 0.01), (2000, 0.2)]]
    return {"versions": VERSIONS, "cases": cases, "kstwo": kstwo}


def close(a, b, path):
    if isinstance(a, dict):
        return all(close(a[k], b.get(k), f"{path}.{k}") for k in a) and set(a) == set(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b)))
    if isinstance(a, float) and isinstance(b, (int, float)):
        ok = a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)) or (math.isnan(a) and math.isnan(b))
    else:
        ok = a == b
    if not ok:
        print(f"differs at {path}: committed {b!r}, recomputed {a!r}", file=sys.stderr)
    return ok


def main():
    if "--corpus" in sys.argv:  # --corpus SEED COUNT OUT
        seed, count, path = int(sys.argv[-3]), int(sys.argv[-2]), sys.argv[-1]
        with open(path, "w") as handle:
            json.dump(gates_corpus(seed, count), handle, allow_nan=False)  # JSON has no NaN: a clear error here
        print(f"gates corpus seed {seed}: {count} binary cases", file=sys.stderr)
        return
    outputs = {GATES: gates(), DRIFT: drift()}
    if "--check" in sys.argv:
        good = True
        for path, value in outputs.items():
            with open(path) as handle:
                committed = json.load(handle)
            value = json.loads(json.dumps(value))
            committed.pop("versions", None)
            versions = value.pop("versions")
            good &= close(value, committed, os.path.basename(path))
            print(f"{os.path.basename(path)}: recomputed with {versions}: {'same' if good else 'DIFFERENT'}")
        sys.exit(0 if good else 1)
    for path, value in outputs.items():
        with open(path, "w") as handle:
            json.dump(value, handle, indent=1, sort_keys=True)
            handle.write("\n")


if __name__ == "__main__":
    main()
