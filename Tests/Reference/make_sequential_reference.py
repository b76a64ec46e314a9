#!/usr/bin/env python3
"""Expected values for the rollout analysis's always-valid confidence sequences, computed independently
of gitops-ml's closed form: the mixture likelihood ratio Λ(θ₀) = ∫ exp((θ−θ₀)(θ̂−θ₀)/V − (θ−θ₀)²/(2V))
N(θ; θ₀, τ²) dθ integrated numerically (scipy.integrate.quad), the interval's ends as the θ₀ where
Λ(θ₀) = 1/α (scipy.optimize.brentq), and the first observation at which a seeded stream is judged worse
(Λ(margin) ≥ 1/α above the margin), read in order with the variances the docs name (Laplace's p̃ for
rates, the sample variance for numbers).

The streams are not stored: Tests/Reference/refgen.py's SplitMix64 and the test's ReferenceData build
the same bytes from the seeds.

    .venv/bin/python Tests/Reference/make_sequential_reference.py          # rewrite the fixture
    .venv/bin/python Tests/Reference/make_sequential_reference.py --check  # recompute, compare (make test)
"""
import json
import math
import os
import sys

import scipy
from scipy import integrate, optimize

sys.path.insert(0, os.path.dirname(__file__))
import refgen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "GatesTests", "Fixtures", "sequential_reference.json")


def log_lambda(estimate, variance, theta0, tau):
    """log Λ(θ₀) by quadrature, the integrand scaled by its maximum so that it never overflows."""
    d = estimate - theta0

    def exponent(u):  # u = θ − θ₀
        return u * d / variance - u * u / (2 * variance) - u * u / (2 * tau * tau)

    # The exponent is a parabola in u with its top at u* = d·τ²/(V+τ²).
    top = d * tau * tau / (variance + tau * tau)
    peak = exponent(top)
    width = math.sqrt(1 / (1 / variance + 1 / (tau * tau)))
    value, _ = integrate.quad(lambda u: math.exp(exponent(u) - peak), top - 40 * width, top + 40 * width,
                              epsabs=0, epsrel=1e-13, limit=200)
    return peak + math.log(value / (tau * math.sqrt(2 * math.pi)))


def interval(estimate, variance, alpha, tau):
    target = math.log(1 / alpha)
    f = lambda t: log_lambda(estimate, variance, t, tau) - target  # noqa: E731
    span = 1.0
    while f(estimate + span) < 0:
        span *= 2
    lower = optimize.brentq(f, estimate - span, estimate, xtol=1e-15, rtol=1e-14, maxiter=500)
    upper = optimize.brentq(f, estimate, estimate + span, xtol=1e-15, rtol=1e-14, maxiter=500)
    return lower, upper


def variance_of_mean(n, s, ss, kind):
    if kind == "rate":
        p = (s + 1) / (n + 2)
        return p * (1 - p) / n
    return max(0.0, (ss - s * s / n) / (n - 1)) / n


INTERVALS = [
    # treatment (n, sum, sum of squares), control, kind, alpha, tau, theta0 of the p-value
    {"treatment": [1200, 37, 37], "control": [22000, 221, 221], "kind": "rate", "alpha": 0.05, "tau": 0.01,
     "theta0": 0.0},
    {"treatment": [40, 0, 0], "control": [800, 9, 9], "kind": "rate", "alpha": 0.05, "tau": 0.01, "theta0": 0.0},
    {"treatment": [5000, 60, 60], "control": [5000, 48, 48], "kind": "rate", "alpha": 0.01, "tau": 0.02,
     "theta0": 0.01},
    {"treatment": [300, 41.5, 22.75], "control": [310, 30.1, 14.2], "kind": "mean", "alpha": 0.1, "tau": 0.05,
     "theta0": 0.02},
]


def stream_case(seed, n, share_per_mille, champion_rate, challenger_rate):
    """Observations in order: (is_challenger, error) from SplitMix64, rates in parts per 10,000."""
    rng = refgen.SplitMix64(seed)
    out = []
    for _ in range(n):
        challenger = rng.below(1000) < share_per_mille
        rate = challenger_rate if challenger else champion_rate
        out.append((challenger, 1 if rng.below(10000) < rate else 0))
    return out


STREAMS = [
    {"seed": 11, "n": 20000, "share_per_mille": 200, "champion_rate": 100, "challenger_rate": 600,
     "margin": 0.0, "alpha": 0.05, "tau": 0.01},
    {"seed": 12, "n": 20000, "share_per_mille": 50, "champion_rate": 100, "challenger_rate": 1100,
     "margin": 0.02, "alpha": 0.05, "tau": 0.02},
]


def first_worse(spec):
    arms = {True: [0, 0.0, 0.0], False: [0, 0.0, 0.0]}
    threshold = math.log(1 / spec["alpha"])
    for index, (challenger, error) in enumerate(stream_case(
            spec["seed"], spec["n"], spec["share_per_mille"], spec["champion_rate"], spec["challenger_rate"])):
        arm = arms[challenger]
        arm[0] += 1
        arm[1] += error
        arm[2] += error * error
        if arms[True][0] == 0 or arms[False][0] == 0:
            continue
        estimate = arms[True][1] / arms[True][0] - arms[False][1] / arms[False][0]
        if estimate <= spec["margin"]:
            continue
        variance = variance_of_mean(*arms[True], "rate") + variance_of_mean(*arms[False], "rate")
        if log_lambda(estimate, variance, spec["margin"], spec["tau"]) >= threshold:
            return index + 1
    return None


def compute():
    intervals = []
    for case in INTERVALS:
        t, c = case["treatment"], case["control"]
        estimate = t[1] / t[0] - c[1] / c[0]
        variance = variance_of_mean(*t, case["kind"]) + variance_of_mean(*c, case["kind"])
        lower, upper = interval(estimate, variance, case["alpha"], case["tau"])
        p = min(1.0, math.exp(-log_lambda(estimate, variance, case["theta0"], case["tau"])))
        intervals.append({**case, "estimate": estimate, "lower": lower, "upper": upper, "p_value": p})
    streams = [{**spec, "first_worse": first_worse(spec)} for spec in STREAMS]
    return {"generator": "Tests/Reference/make_sequential_reference.py", "scipy": scipy.__version__,
            "intervals": intervals, "streams": streams}


def main():
    result = compute()
    if "--check" in sys.argv:
        with open(OUT) as f:
            stored = json.load(f)
        for mine, theirs in zip(result["intervals"], stored["intervals"]):
            for key in ("lower", "upper", "p_value"):
                if abs(mine[key] - theirs[key]) > 1e-9 * max(1.0, abs(theirs[key])):
                    sys.exit(f"sequential reference: {key} {mine[key]} != stored {theirs[key]}")
        if [s["first_worse"] for s in result["streams"]] != [s["first_worse"] for s in stored["streams"]]:
            sys.exit("sequential reference: first observations judged worse differ from the fixture")
        print("sequential reference: fixture agrees")
        return
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
