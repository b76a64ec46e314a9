#!/usr/bin/env python3
"""Exact coverage of 95 % intervals for a paired difference of accuracies on the sparse designs of
`make coverage` (benchmarks/CoverageSimulation): every outcome enumerated with its multinomial probability,
no simulation error. Cells: both right 80 %, champion only p_b, challenger only p_c, neither the rest;
δ = p_c − p_b. Tango's score interval is the one the gates use with few discordant pairs; the others are
the alternatives Fagerland, Lydersen and Laake (2014) review: Wald, Agresti–Min (½ added to each cell),
Bonett–Price (1 added), and Newcombe's square-and-add Wilson interval (method 10; enumerated over the four
cells, so only at n ≤ 200). Run: .venv/bin/python benchmarks/coverage_exact.py
"""
import math

from scipy import stats

Z = stats.norm.ppf(0.975)


def tango_z(b, c, n, d):
    """Tango's (1998) score statistic at δ = d (gitops-ml's McNemarScore.tangoZ)."""
    a2 = 2 * n
    b2 = -c - b + (2 * n - c + b) * d
    c2 = -b * d * (1 - d)
    q = (math.sqrt(max(b2 * b2 - 4 * a2 * c2, 0)) - b2) / (2 * a2)
    v = n * (2 * q + d * (1 - d))
    return (c - b - n * d) / math.sqrt(v) if v > 0 else 0.0


def wald_like(b, c, n, d, add):
    nn = n + 2 * add
    pb, pc = (b + add) / nn, (c + add) / nn
    se = math.sqrt(max(pb + pc - (pc - pb) ** 2, 0) / nn)
    return abs(pc - pb - d) <= Z * se


def wilson(x, n):
    p = x / n
    den = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / den
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / den
    return centre - half, centre + half


def newcombe(a, b, c, d, n):
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n)
    l2, u2 = wilson(a + c, n)
    den = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(den) if den > 0 else 0.0
    e = p2 - p1
    lower = e - math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0))
    upper = e + math.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2, 0))
    return lower, upper


def log_factorials(n):
    return [math.lgamma(i + 1) for i in range(n + 1)]


def coverage(n, pb, pc, method):
    """Probability that the interval contains δ, summed over every outcome."""
    lf = log_factorials(n)
    delta, pa = pc - pb, 0.8
    pd = 1 - pa - pb - pc
    total = 0.0
    if method == "Newcombe":
        for b in range(n + 1):
            for c in range(n + 1 - b):
                for a in range(n + 1 - b - c):
                    d = n - a - b - c
                    lp = (lf[n] - lf[a] - lf[b] - lf[c] - lf[d] + a * math.log(pa) + b * math.log(pb)
                          + c * math.log(pc) + d * math.log(pd))
                    if lp > -40:
                        lower, upper = newcombe(a, b, c, d, n)
                        total += math.exp(lp) if lower <= delta <= upper else 0
        return 100 * total
    for b in range(n + 1):
        for c in range(n + 1 - b):
            lp = (lf[n] - lf[b] - lf[c] - lf[n - b - c] + b * math.log(pb) + c * math.log(pc)
                  + (n - b - c) * math.log(1 - pb - pc))
            covered = {
                "Tango": lambda: abs(tango_z(b, c, n, delta)) <= Z,
                "Wald": lambda: wald_like(b, c, n, delta, 0),
                "Agresti-Min": lambda: wald_like(b, c, n, delta, 0.5),
                "Bonett-Price": lambda: wald_like(b, c, n, delta, 1),
            }[method]()
            total += math.exp(lp) if covered else 0
    return 100 * total


if __name__ == "__main__":
    methods = ["Tango", "Wald", "Agresti-Min", "Bonett-Price", "Newcombe"]
    print("| design (champion only / challenger only) | n | expected discordant pairs | " + " | ".join(methods) + " |")
    print("|---|---|---|" + "---|" * len(methods))
    for pb, pc in [(0.03, 0.06), (0.01, 0.02)]:
        for n in [50, 200, 1000]:
            cells = [f"{coverage(n, pb, pc, m):.1f} %" if (m != "Newcombe" or n <= 200) else "—" for m in methods]
            print(f"| {round(pb * 100)} / {round(pc * 100)} % | {n} | {n * (pb + pc):.1f} | " + " | ".join(cells) + " |",
                  flush=True)
