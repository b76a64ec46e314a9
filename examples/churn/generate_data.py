#!/usr/bin/env python3
"""Generates the churn example's data: customers of a subscription service and whether they left.

Standard library only. Deterministic for a given --seed. `--shift` simulates a data change (older,
pricier customers with more support calls), the kind of drift a data suite should flag.

    python3 generate_data.py --out data [--rows 2000] [--eval-rows 1000] [--seed 7] [--shift 0.0]
"""
import argparse
import csv
import math
import os
import random

CONTRACTS = ["month-to-month", "one-year", "two-year"]
REGIONS = ["north", "south", "east", "west"]


def customer(rng, shift):
    contract = rng.choices(CONTRACTS, weights=[0.55 + shift * 0.2, 0.25, 0.20 - shift * 0.1])[0]
    tenure = max(0, int(rng.expovariate(1 / (24 if contract == "month-to-month" else 40))))
    age = min(90, max(18, int(rng.gauss(42 + 8 * shift, 12))))
    monthly = round(max(10.0, rng.gauss(65 + 15 * shift, 20)), 2)
    calls = min(12, int(rng.expovariate(1 / (1.5 + 2 * shift))))
    region = rng.choice(REGIONS)
    paperless = rng.random() < 0.6
    logit = (
        -1.2
        + {"month-to-month": 1.3, "one-year": -0.4, "two-year": -1.6}[contract]
        - 0.045 * tenure
        + 0.018 * (monthly - 65)
        + 0.35 * calls
        - 0.01 * (age - 42)
        + (0.3 if paperless else 0.0)
    )
    churned = rng.random() < 1 / (1 + math.exp(-logit))
    return {
        "tenure_months": tenure,
        "age": age,
        "monthly_charges": monthly,
        "support_calls": calls,
        "contract": contract,
        "region": region,
        "paperless_billing": "true" if paperless else "false",
        "churned": int(churned),
    }


def write(path, rows, first_id):
    fields = ["customer_id"] + list(rows[0].keys())
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for offset, row in enumerate(rows):
            writer.writerow({"customer_id": f"C{first_id + offset:06d}", **row})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="data")
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--eval-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--shift", type=float, default=0.0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)
    train = [customer(rng, args.shift) for _ in range(args.rows)]
    # The evaluation set is fixed (its own seed, no shift): champion and challenger score the same ids.
    eval_rng = random.Random(1000 + 0)
    evaluation = [customer(eval_rng, 0.0) for _ in range(args.eval_rows)]
    write(os.path.join(args.out, "train.csv"), train, 1)
    write(os.path.join(args.out, "eval.csv"), evaluation, 900001)


if __name__ == "__main__":
    main()
