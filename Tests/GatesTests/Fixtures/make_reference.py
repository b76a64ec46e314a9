#!/usr/bin/env python3
"""Computes the reference values the Gates tests compare against, with independent implementations:
scikit-learn (classification and regression metrics), statsmodels (McNemar, exact and chi-square with
continuity correction) and scipy (normal quantiles). DeLong's variance comes from the widely used
implementation of Sun & Xu's fast algorithm (yandexdataschool/roc_comparison), re-typed below, and is
cross-checked against scikit-learn's AUCs.

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install scikit-learn statsmodels scipy numpy
    /tmp/ref/bin/python Tests/GatesTests/Fixtures/make_reference.py > Tests/GatesTests/Fixtures/reference.json
"""
import json
import sys

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import stats
from sklearn import metrics
from statsmodels.stats.contingency_tables import mcnemar


def compute_midrank(x):
    order = np.argsort(x)
    z = x[order]
    n = len(x)
    t = np.zeros(n, dtype=float)
    i = 0
    while i < n:
        j = i
        while j < n and z[j] == z[i]:
            j += 1
        t[i:j] = 0.5 * (i + j - 1)
        i = j
    out = np.empty(n, dtype=float)
    out[order] = t + 1
    return out


def fast_delong(predictions_sorted_transposed, label_1_count):
    m = label_1_count
    n = predictions_sorted_transposed.shape[1] - m
    positive_examples = predictions_sorted_transposed[:, :m]
    negative_examples = predictions_sorted_transposed[:, m:]
    k = predictions_sorted_transposed.shape[0]
    tx = np.empty([k, m])
    ty = np.empty([k, n])
    tz = np.empty([k, m + n])
    for r in range(k):
        tx[r, :] = compute_midrank(positive_examples[r, :])
        ty[r, :] = compute_midrank(negative_examples[r, :])
        tz[r, :] = compute_midrank(predictions_sorted_transposed[r, :])
    aucs = tz[:, :m].sum(axis=1) / m / n - float(m + 1.0) / 2.0 / n
    v01 = (tz[:, :m] - tx[:, :]) / n
    v10 = 1.0 - (tz[:, m:] - ty[:, :]) / m
    sx = np.cov(v01)
    sy = np.cov(v10)
    return aucs, sx / m + sy / n


def delong(y_true, scores_a, scores_b):
    order = (-y_true).argsort(kind="stable")
    m = int(y_true.sum())
    preds = np.vstack((scores_a, scores_b))[:, order]
    aucs, cov = fast_delong(preds, m)
    variance = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    z = (aucs[1] - aucs[0]) / np.sqrt(variance)
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "variance": variance, "z": float(z),
            "p_value": float(2 * stats.norm.sf(abs(z)))}


rng = np.random.default_rng(20261123)
cases = {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
                      "statsmodels": statsmodels.__version__}}

# Binary classification with scores (rounded to 2 decimals so that ties occur).
n = 300
y = rng.integers(0, 2, n)
score_a = np.round(np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1), 2)
score_b = np.round(np.clip(0.55 * y + rng.normal(0.22, 0.24, n), 0, 1), 2)
pred_a = (score_a >= 0.5).astype(int)
pred_b = (score_b >= 0.5).astype(int)


def binary_metrics(y, pred, score):
    return {
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred, zero_division=0),
        "recall": metrics.recall_score(y, pred, zero_division=0),
        "f1": metrics.f1_score(y, pred, zero_division=0),
        "f1_macro": metrics.f1_score(y, pred, average="macro", zero_division=0),
        "f1_weighted": metrics.f1_score(y, pred, average="weighted", zero_division=0),
        "precision_macro": metrics.precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(y, pred, average="macro", zero_division=0),
        "roc_auc": metrics.roc_auc_score(y, score),
        "pr_auc": metrics.average_precision_score(y, score),
        "log_loss": metrics.log_loss(y, score),
        "brier": metrics.brier_score_loss(y, score),
        "confusion_matrix": metrics.confusion_matrix(y, pred).tolist(),
    }


cases["binary"] = {
    "y_true": y.tolist(), "pred_a": pred_a.tolist(), "score_a": score_a.tolist(),
    "pred_b": pred_b.tolist(), "score_b": score_b.tolist(),
    "metrics_a": binary_metrics(y, pred_a, score_a), "metrics_b": binary_metrics(y, pred_b, score_b),
    "delong": delong(y, score_a, score_b),
}
b = int(((pred_a == y) & (pred_b != y)).sum())
c = int(((pred_a != y) & (pred_b == y)).sum())
cases["binary"]["mcnemar"] = {"b": b, "c": c, "exact_p": float(mcnemar([[0, b], [c, 0]], exact=True).pvalue),
                              "chi2_statistic": float(mcnemar([[0, b], [c, 0]], exact=False, correction=True).statistic),
                              "chi2_p": float(mcnemar([[0, b], [c, 0]], exact=False, correction=True).pvalue)}

# A second DeLong case: larger, continuous scores, a small true difference.
n2 = 2000
y2 = rng.integers(0, 2, n2)
latent = rng.normal(0, 1, n2) + 1.1 * y2
s2a = latent + rng.normal(0, 0.9, n2)
s2b = latent + rng.normal(0, 0.8, n2)
cases["delong_large"] = {"y_true": y2.tolist(), "score_a": s2a.round(6).tolist(), "score_b": s2b.round(6).tolist()}
cases["delong_large"]["expected"] = delong(y2, s2a.round(6), s2b.round(6))
assert abs(cases["delong_large"]["expected"]["auc_a"] - metrics.roc_auc_score(y2, s2a.round(6))) < 1e-12

# Multiclass labels.
labels = np.array(["cat", "dog", "bird"])
yt = labels[rng.integers(0, 3, 250)]
yp = np.where(rng.random(250) < 0.7, yt, labels[rng.integers(0, 3, 250)])
cases["multiclass"] = {
    "y_true": yt.tolist(), "y_pred": yp.tolist(),
    "accuracy": metrics.accuracy_score(yt, yp),
    "f1_macro": metrics.f1_score(yt, yp, average="macro", zero_division=0),
    "f1_weighted": metrics.f1_score(yt, yp, average="weighted", zero_division=0),
    "precision_macro": metrics.precision_score(yt, yp, average="macro", zero_division=0),
    "recall_macro": metrics.recall_score(yt, yp, average="macro", zero_division=0),
    "confusion_matrix": metrics.confusion_matrix(yt, yp, labels=sorted(set(yt) | set(yp))).tolist(),
}

# Regression.
truth = rng.normal(10, 3, 400).round(4)
truth[::50] = 0.0  # zeros exercise MAPE's epsilon
predicted = (truth + rng.normal(0, 1.2, 400)).round(4)
cases["regression"] = {
    "y_true": truth.tolist(), "y_pred": predicted.tolist(),
    "mae": metrics.mean_absolute_error(truth, predicted),
    "mse": metrics.mean_squared_error(truth, predicted),
    "rmse": float(np.sqrt(metrics.mean_squared_error(truth, predicted))),
    "r2": metrics.r2_score(truth, predicted),
    "mape": metrics.mean_absolute_percentage_error(truth, predicted),
}

# McNemar tables: exact for few discordant pairs, chi-square with continuity correction otherwise.
cases["mcnemar"] = []
for b_, c_ in [(0, 0), (1, 0), (3, 9), (10, 14), (12, 13), (40, 61), (150, 120), (5, 30)]:
    exact = mcnemar([[0, b_], [c_, 0]], exact=True)
    chi = mcnemar([[0, b_], [c_, 0]], exact=False, correction=True)
    finite = lambda x: float(x) if np.isfinite(x) else None  # b = c = 0 divides by zero in statsmodels
    cases["mcnemar"].append({"b": b_, "c": c_, "exact_p": float(exact.pvalue),
                             "chi2_statistic": finite(chi.statistic), "chi2_p": finite(chi.pvalue)})

cases["normal_quantiles"] = [{"p": p, "z": float(stats.norm.ppf(p))} for p in [0.5, 0.9, 0.95, 0.975, 0.995, 0.025, 1e-6]]
json.dump(cases, sys.stdout, indent=1, allow_nan=False)
sys.stdout.write("\n")
