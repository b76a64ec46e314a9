"""The churn model: logistic regression on standardised numeric and one-hot categorical features.
Shared by train.py and serve.py. Standard library only."""
import csv
import json
import math

NUMERIC = ["tenure_months", "age", "monthly_charges", "support_calls"]
CATEGORICAL = {
    "contract": ["month-to-month", "one-year", "two-year"],
    "region": ["north", "south", "east", "west"],
    "paperless_billing": ["true", "false"],
}


def read_params(path="params.yaml"):
    """Reads the flat `section:` / `  key: value` YAML this example uses (no YAML library needed)."""
    params, section = {}, None
    with open(path) as handle:
        for raw in handle:
            line = raw.split("#", 1)[0].rstrip()
            if not line.strip():
                continue
            key, _, value = line.strip().partition(":")
            value = value.strip()
            if not line.startswith(" "):
                section = key
                params[key] = {} if value == "" else parse_scalar(value)
            else:
                params[section][key] = parse_scalar(value)
    return params


def parse_scalar(text):
    if text.startswith("[") and text.endswith("]"):
        return [parse_scalar(item.strip()) for item in text[1:-1].split(",") if item.strip()]
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("'\"")


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def features(row, model):
    values = []
    for name in model["numeric"]:
        mean, std = model["scaling"][name]
        values.append((float(row[name]) - mean) / std)
    for name in model["categorical"]:
        values.extend(1.0 if str(row[name]) == level else 0.0 for level in CATEGORICAL[name])
    return values


def score(row, model):
    z = model["bias"] + sum(w * x for w, x in zip(model["weights"], features(row, model)))
    return 1 / (1 + math.exp(-max(-35.0, min(35.0, z))))


def load(path):
    with open(path) as handle:
        return json.load(handle)
