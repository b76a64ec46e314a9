#!/usr/bin/env python3
"""Trains the churn model and evaluates it on the fixed evaluation set.

Reads params.yaml and data/; writes model/model.json, metrics.json and eval/predictions.csv
(one row per evaluation customer: id, y_true, y_pred, score, and the contract as a slice).
Standard library only; deterministic."""
import csv
import json
import math
import os
import random

from model_lib import CATEGORICAL, features, read_params, read_rows, score


def train(rows, params):
    numeric = params["model"]["numeric_features"]
    categorical = [name for name in params["model"]["categorical_features"] if name in CATEGORICAL]
    scaling = {}
    for name in numeric:
        values = [float(row[name]) for row in rows]
        mean = sum(values) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) or 1.0
        scaling[name] = [mean, std]
    model = {"numeric": numeric, "categorical": categorical, "scaling": scaling, "bias": 0.0}
    xs = [features(row, {**model, "weights": []}) for row in rows]
    ys = [int(row["churned"]) for row in rows]
    weights = [0.0] * len(xs[0])
    bias = 0.0
    rate, l2 = params["train"]["learning_rate"], params["train"]["l2"]
    order = list(range(len(xs)))
    rng = random.Random(params["train"]["seed"])
    for _ in range(params["train"]["epochs"]):
        rng.shuffle(order)
        for start in range(0, len(order), params["train"]["batch_size"]):
            batch = order[start:start + params["train"]["batch_size"]]
            grad = [0.0] * len(weights)
            grad_bias = 0.0
            for i in batch:
                z = bias + sum(w * x for w, x in zip(weights, xs[i]))
                error = 1 / (1 + math.exp(-max(-35.0, min(35.0, z)))) - ys[i]
                grad_bias += error
                for j, x in enumerate(xs[i]):
                    grad[j] += error * x
            n = len(batch)
            weights = [w - rate * (g / n + l2 * w) for w, g in zip(weights, grad)]
            bias -= rate * grad_bias / n
    model.update(weights=weights, bias=bias)
    return model


def evaluate(model, rows, threshold):
    ys, scores = [int(r["churned"]) for r in rows], [score(r, model) for r in rows]
    preds = [int(s >= threshold) for s in scores]
    tp = sum(1 for y, p in zip(ys, preds) if y == p == 1)
    fp = sum(1 for y, p in zip(ys, preds) if y == 0 and p == 1)
    fn = sum(1 for y, p in zip(ys, preds) if y == 1 and p == 0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    eps = 1e-15
    metrics = {
        "accuracy": sum(1 for y, p in zip(ys, preds) if y == p) / len(ys),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "roc_auc": roc_auc(ys, scores),
        "log_loss": -sum(y * math.log(max(s, eps)) + (1 - y) * math.log(max(1 - s, eps)) for y, s in zip(ys, scores)) / len(ys),
    }
    return {k: round(v, 6) for k, v in metrics.items()}, ys, preds, scores


def roc_auc(ys, scores):
    """Mann-Whitney U with average ranks for ties."""
    ranked = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and scores[ranked[j + 1]] == scores[ranked[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(ys)
    negatives = len(ys) - positives
    rank_sum = sum(r for r, y in zip(ranks, ys) if y == 1)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def main():
    params = read_params()
    model = train(read_rows("data/train.csv"), params)
    evaluation = read_rows("data/eval.csv")
    metrics, ys, preds, scores = evaluate(model, evaluation, params["model"]["threshold"])
    os.makedirs("model", exist_ok=True)
    os.makedirs("eval", exist_ok=True)
    with open("model/model.json", "w") as handle:
        json.dump(model, handle, indent=1, sort_keys=True)
        handle.write("\n")
    with open("metrics.json", "w") as handle:
        json.dump({"eval": metrics, "eval_rows": len(ys)}, handle, indent=2)
        handle.write("\n")
    with open("eval/predictions.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "y_true", "y_pred", "score", "contract"])
        for row, y, p, s in zip(evaluation, ys, preds, scores):
            writer.writerow([row["customer_id"], y, p, f"{s:.6f}", row["contract"]])
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
