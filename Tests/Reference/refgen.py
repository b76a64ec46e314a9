"""Seeded data shared with Tests/TestSupport/ReferenceData.swift: integer arithmetic only (SplitMix64,
floor division), values as integer / 10**decimals, so that Python and Swift build the same bytes."""

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, bound):
        return (self.next() >> 11) % bound


def normal_units(rng, mean, sd):
    """Irwin-Hall: 12 uniforms of [0, 10**6) give N(0, 1) to within a few per mille; in whole units."""
    s = sum(rng.below(1_000_000) for _ in range(12)) - 6_000_000
    return mean + (s * sd) // 1_000_000


def numeric(spec):
    """{seed, n, mean, sd (units), decimals, null_every (0: none), constant (units, optional)}"""
    rng = SplitMix64(spec["seed"])
    scale = 10 ** spec["decimals"]
    out = []
    for i in range(spec["n"]):
        units = spec["constant"] if "constant" in spec else normal_units(rng, spec["mean"], spec["sd"])
        null = spec.get("null_every", 0) and i % spec["null_every"] == 0
        out.append(None if null else units / scale)
    return out


def categorical(spec):
    """{seed, n, categories, weights (integers), null_every}"""
    rng = SplitMix64(spec["seed"])
    total = sum(spec["weights"])
    out = []
    for i in range(spec["n"]):
        u = rng.below(total)
        for category, weight in zip(spec["categories"], spec["weights"]):
            if u < weight:
                break
            u -= weight
        null = spec.get("null_every", 0) and i % spec["null_every"] == 0
        out.append(None if null else category)
    return out


def identifiers(spec):
    """{n, offset}: id{offset}, id{offset+1}, … (every value distinct, as an id column)."""
    return [f"id{spec['offset'] + i}" for i in range(spec["n"])]


def classification(spec):
    """{seed, n, classes, accuracy_a, accuracy_b (per mille), separation (per mille)} ->
    y_true, pred_a, pred_b and, per side, per-class probabilities in thousandths that sum to 1000."""
    rng = SplitMix64(spec["seed"])
    k = len(spec["classes"])
    y, pred, proba = [], {"a": [], "b": []}, {"a": [], "b": []}
    for _ in range(spec["n"]):
        truth = rng.below(k) if "positive_share" not in spec else (1 if rng.below(1000) < spec["positive_share"] else 0)
        y.append(truth)
        for side in ("a", "b"):
            weights = [1 + rng.below(1000) for _ in range(k)]
            weights[truth] += spec["separation_" + side]
            total = sum(weights)
            thousandths = [w * 1000 // total for w in weights]
            thousandths[truth] += 1000 - sum(thousandths)
            proba[side].append(thousandths)
            right = rng.below(1000) < spec["accuracy_" + side]
            guess = truth if right else (truth + 1 + rng.below(k - 1)) % k
            pred[side].append(guess)
    return y, pred, proba
