#!/usr/bin/env python3
"""Reference values for reading and judging data as pandas, scikit-learn, Great Expectations and
Evidently do (statistics round 3), computed with those libraries, never with gitops-ml:

- a corpus of random CSV files with what `pandas.read_csv` (defaults) makes of each column: its kind
  (number, bool, text, or nothing but nulls) and every value; tokens are drawn from pandas' own
  `na_values`, infinity spellings, integers, decimals, booleans, text, spaces, overflow and hex;
- Evidently's verdict on a numeric column with one `inf` (read by pandas, judged by its stattest);
- `isin` counts on integer, float and boolean columns; `duplicated(keep=False)` for compound uniqueness;
  Python's `len` and `==` on canonically equivalent strings;
- scikit-learn's `neg_*` scorer names, a weighted one-vs-rest AUC with a class absent from y_true, the
  binary metrics from a `score_<positive>` column alone; Tango's interval with no discordant pairs from
  its closed form, ±z²/(n + z²).

    .venv/bin/python Tests/Reference/make_pandas_reference.py            # rewrite the fixtures
    .venv/bin/python Tests/Reference/make_pandas_reference.py --check    # recompute, compare (make test)
    .venv/bin/python Tests/Reference/make_pandas_reference.py --corpus --seed N --count N --out FILE
    .venv/bin/python Tests/Reference/make_pandas_reference.py --evidently-corpus --seed N --count N --out FILE
    .venv/bin/python Tests/Reference/make_pandas_reference.py --expectations-corpus --seed N --count N --out FILE
"""
import argparse
import io
import json
import math
import os
import random
import sys
import unicodedata
import warnings

import numpy as np
import pandas as pd
import sklearn
from scipy import stats
from sklearn import metrics

import evidently
from evidently.legacy.calculations.stattests import registry
from evidently.legacy.core import ColumnType

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "DatasetsTests", "Fixtures", "pandas_reference.json")
GATES = os.path.join(HERE, "..", "GatesTests", "Fixtures", "round3_reference.json")
CHECK = os.path.join(HERE, "..", "CheckTests", "Fixtures", "predictions_reference.json")
VERSIONS = {"numpy": np.__version__, "pandas": pd.__version__, "sklearn": sklearn.__version__,
            "evidently": evidently.__version__}

# ---------------------------------------------------------------- the CSV corpus

NULLS = sorted(pd._libs.parsers.STR_NA_VALUES)
INFINITIES = ["inf", "-inf", "+inf", "Inf", "INF", "Infinity", "-Infinity", "infinity", "iNfInItY", "+INFINITY"]
NOT_NUMBERS = ["infinit", " inf", "1e400", "-1e400", "0x10", "1_000", "+nan", "nan(ind)", "1;5", "e3", "--1"]
BOOLS = ["True", "False", "TRUE", "FALSE", "true", "false"]
TEXT = ["a", "yes", "no", "t", "f", "x y", "café", "cafe\u0301", "NA ", " NA", "None!", "nul", "-"]


def token(rng, kind):
    if kind == "int":
        return rng.choice([str(rng.randint(-1000, 1000)), "+" + str(rng.randint(0, 99)), "007", " 5", "5 "])
    if kind == "float":
        return rng.choice([repr(rng.uniform(-1e3, 1e3)), "%.3f" % rng.uniform(-10, 10), "1e5", "1E-3", ".5", "5.",
                           "-0.0", "2.5e-400"])
    if kind == "inf":
        return rng.choice(INFINITIES)
    if kind == "null":
        return rng.choice(NULLS)
    if kind == "bool":
        return rng.choice(BOOLS)
    if kind == "bad":
        return rng.choice(NOT_NUMBERS)
    if kind == "date":
        day = rng.randint(1, 28)
        return rng.choice([f"2026-01-{day:02d}", f"2026-02-{day:02d}T10:00:00Z", f"2026-02-{day:02d} 10:30:00"])
    return rng.choice(TEXT)


def column_tokens(rng, rows):
    """A column mostly of one kind, with some nulls, infinities or strays."""
    main = rng.choice(["int", "float", "bool", "text", "int", "float", "date"])
    extras = {"int": ["null", "inf", "float", "bad"], "float": ["null", "inf", "int", "bad"],
              "bool": ["null", "text"], "text": ["null", "int"], "date": ["null", "text"]}[main]
    mix = [main] * 8 + rng.sample(extras, rng.randint(0, len(extras)))
    if rng.random() < 0.05:
        mix = ["null"]
    return [token(rng, rng.choice(mix)) for _ in range(rows)]


def tag(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return {"bool": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"number": repr(float(value))}
    if isinstance(value, (float, np.floating)):
        return {"number": repr(float(value))}
    return {"text": str(value)}


def read_like_pandas(text):
    """Kinds and nulls as pandas reads them by default. Numbers as it reads them with
    float_precision="round_trip" (Python's float(), correctly rounded): its default converter is off by
    an ulp on some 17-digit decimals (-910.0386790135049 reads as -910.0386790135047), which gitops-ml
    does not copy; the two readings are checked to agree within 4 ulps."""
    frame = pd.read_csv(io.StringIO(text))
    exact = pd.read_csv(io.StringIO(text), float_precision="round_trip")
    columns = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_float_dtype(series):
            for a, b in zip(series.tolist(), exact[name].tolist()):
                assert (math.isnan(a) and math.isnan(b)) or a == b or abs(a - b) <= 4 * math.ulp(b), (a, b)
            series = exact[name]
        values = [tag(v) for v in series.tolist()]
        present = [v for v in values if v is not None]
        if not present:
            kind = "nulls"
        elif pd.api.types.is_bool_dtype(series) or all("bool" in v for v in present):
            kind = "bool"
        elif pd.api.types.is_numeric_dtype(series):
            kind = "number"
        else:
            kind = "text"
        columns.append({"name": str(name), "kind": kind, "values": values})
    return columns


def corpus(seed, count):
    rng = random.Random(seed)
    entries = []
    while len(entries) < count:
        width = rng.randint(1, 4)
        rows = rng.randint(1, 12)
        names = [f"c{index}" for index in range(width)]
        cells = [column_tokens(rng, rows) for _ in names]
        # No field may hold the delimiter or a quote: the corpus is about values, not quoting.
        # One file in five quotes every field (pandas reads quoted numbers and null tokens alike).
        quote = (lambda field: '"' + field + '"') if rng.random() < 0.2 else (lambda field: field)
        text = ",".join(names) + "\n" + "".join(",".join(quote(cells[c][r]) for c in range(width)) + "\n"
                                                for r in range(rows))
        try:
            columns = read_like_pandas(text)
        except Exception as error:  # a row pandas cannot split is not what this corpus is about
            continue
        if [c["name"] for c in columns] != names:
            continue
        entries.append({"csv": text, "columns": columns})
    return {"seed": seed, "count": count, "pandas": pd.__version__, "entries": entries}


# ---------------------------------------------------------------- data expectations and drift

def typed(value):
    """A value as a policy's YAML would hold it, tagged for the Swift side; a float as Python's repr (the
    test reads it with Swift's correctly rounded Double(String): Foundation's JSON reader on Linux can be
    an ulp off)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return {"bool": bool(value)}
    if isinstance(value, (int, np.integer)):
        return {"int": int(value)}
    if isinstance(value, (float, np.floating)):
        return {"float": repr(float(value))}
    return {"str": str(value)}


def expectations_corpus(seed, count):
    """Random expectations on the corpus's CSV files, judged with pandas as Great Expectations judges them
    on a pandas data frame: nulls counted by `isna`, map expectations on the non-null values (`isin`,
    `duplicated(keep=False)`, comparisons, `str.len`), compound uniqueness on rows not null in every column,
    and the column statistics pandas gives (`mean`, `std` with ddof 1, `min`, `max`, `median`)."""
    rng = random.Random(seed)
    cases = []
    for entry in corpus(seed, count)["entries"]:
        # Typed as pandas types by default; floats as read_like_pandas reads them (correctly rounded).
        frame = pd.read_csv(io.StringIO(entry["csv"]))
        exact = pd.read_csv(io.StringIO(entry["csv"]), float_precision="round_trip")
        for name in frame.columns:
            if pd.api.types.is_float_dtype(frame[name]) and pd.api.types.is_float_dtype(exact[name]):
                frame[name] = exact[name]
        kinds = {c["name"]: c["kind"] for c in entry["columns"]}
        for name in frame.columns:
            series = frame[name]
            present = series.dropna()
            kind = kinds[name]

            def add(expectation, arguments, **expected):
                cases.append({"csv": entry["csv"], "column": name, "expectation": expectation,
                              "arguments": arguments, **expected})

            add("column_values_to_not_be_null", {}, null_count=int(series.isna().sum()))
            add("column_values_to_be_unique", {}, unexpected=int(present.duplicated(keep=False).sum()),
                element_count=int(len(present)))
            finite = [v for v in present.unique().tolist() if not (isinstance(v, float) and math.isinf(v))]
            if finite:
                chosen = rng.sample(finite, rng.randint(1, len(finite)))
                if rng.random() < 0.3:
                    chosen.append(rng.choice([0, 1, 2.5, "a", True, "1"]))
                add("column_values_to_be_in_set", {"value_set": [typed(v) for v in chosen]},
                    unexpected=int((~present.isin(chosen)).sum()), element_count=int(len(present)))
            if kind == "number" and len(present):
                finite_values = sorted(v for v in present.tolist() if math.isfinite(v))
                low = rng.choice(finite_values) if finite_values and rng.random() < 0.8 else None
                high = rng.choice(finite_values) if finite_values and rng.random() < 0.8 else None
                outside = present.apply(lambda v: (low is not None and v < low) or (high is not None and v > high))
                add("column_values_to_be_between", {"min_value": typed(low), "max_value": typed(high)},
                    unexpected=int(outside.sum()), element_count=int(len(present)))
                for statistic, value in [("mean", present.mean()), ("stdev", present.std()), ("min", present.min()),
                                         ("max", present.max()), ("median", present.median())]:
                    add(f"column_{statistic}_to_be_between", {"min_value": None, "max_value": None},
                        observed=repr(float(value)))
            regex = rng.choice(["^2026-0\\d-\\d\\d$", "T", "^\\d+$", "^-", "\\.", "e", "^[a-z]+$", "^T", "5$", "^\\s", "é", "^.{2,3}$",
                                "(?i)true", "0$", "^[+-]?\\d+\\.\\d*$", "\\s$", "inf"])
            matched = present.astype(str).str.contains(regex)
            add("column_values_to_match_regex", {"regex": regex}, unexpected=int((~matched).sum()),
                element_count=int(len(present)))
            if kind == "number" and len(present):
                levels = sorted(rng.sample([0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 1], rng.randint(1, 4)))
                method = rng.choice([None, "nearest", "linear", "lower", "higher", "midpoint"])
                values = present.quantile(levels, interpolation=method or "nearest").tolist()
                arguments = {"quantile_ranges": {"quantiles": levels, "value_ranges": [[None, None]] * len(levels)}}
                if method:
                    arguments["allow_relative_error"] = method
                add("column_quantile_values_to_be_between", arguments, quantiles=[repr(float(v)) for v in values])
            if kind == "text" and len(present):
                lengths = present.astype(str).str.len()
                low, high = rng.randint(0, 4), rng.randint(2, 8)
                add("column_value_lengths_to_be_between", {"min_value": typed(low), "max_value": typed(high)},
                    unexpected=int(((lengths < low) | (lengths > high)).sum()), element_count=int(len(present)))
        if len(frame.columns) >= 2:
            columns = rng.sample(list(frame.columns), 2)
            kept = frame[columns][~frame[columns].isna().all(axis=1)]
            cases.append({"csv": entry["csv"], "expectation": "compound_columns_to_be_unique",
                          "arguments": {"column_list": [{"str": c} for c in columns]},
                          "unexpected": int(kept.duplicated(keep=False).sum()), "element_count": int(len(kept))})
    return {"seed": seed, "pandas": pd.__version__, "cases": cases}


def drift_with_infinity():
    rng = np.random.default_rng(27)
    reference = np.round(rng.normal(0, 1, 300), 6)
    current = np.round(rng.normal(0, 1, 300), 6).astype(object)
    current[17] = "inf"
    ref_csv = "x\n" + "\n".join(repr(float(v)) for v in reference) + "\n"
    cur_csv = "x\n" + "\n".join(v if isinstance(v, str) else repr(float(v)) for v in current) + "\n"
    r = pd.read_csv(io.StringIO(ref_csv))["x"]
    c = pd.read_csv(io.StringIO(cur_csv))["x"]
    assert pd.api.types.is_float_dtype(c), "pandas reads inf as a number"
    r = r.replace([-np.inf, np.inf], np.nan).dropna()
    c = c.replace([-np.inf, np.inf], np.nan).dropna()
    stattest = registry.get_stattest(r, c, ColumnType.Numerical, None)
    result = stattest(r, c, ColumnType.Numerical, None)
    return {"reference_csv": ref_csv, "current_csv": cur_csv, "test": stattest.name,
            "p_value": float(result.drift_score), "drifted": bool(result.drifted)}


def isin_cases():
    cases = []
    for csv, column, value_set in [
        ("v\n1\n2\n3\n4\n", "v", [1, 2, 3]),
        ("v\n1\n2\n3\n4\n", "v", [1.0, 2.5]),
        ("v\n1\n2\n3\n4\n", "v", ["1", "2"]),
        ("v\n1.5\n2\nNA\n4\n", "v", [1.5, 4]),
        ("v\nTrue\nFalse\nTrue\nFalse\n", "v", [True, False]),
        ("v\nTrue\nFalse\nTrue\nFalse\n", "v", [True]),
        ("v\na\nb\n1\nc\n", "v", ["a", 1]),
        ("v\ncafé\ncafe\u0301\ncafé\n", "v", ["café"]),
    ]:
        series = pd.read_csv(io.StringIO(csv))[column]
        present = series.dropna()
        unexpected = int((~present.isin(value_set)).sum())
        typed = [{"bool" if isinstance(v, bool) else "int" if isinstance(v, int) else
                  "float" if isinstance(v, float) else "str": v} for v in value_set]
        cases.append({"csv": csv, "column": column, "value_set": typed, "unexpected": unexpected,
                      "element_count": int(len(present))})
    return cases


def compound_cases():
    cases = []
    for csv, columns in [
        ("a,b\n1,x\n1,x\n2,y\n1,x\n3,z\n", ["a", "b"]),
        ("a,b\n1,x\n1,y\n2,x\n2,x\n", ["a", "b"]),
        ("a,b\n1,\n1,\n,\n,\n2,y\n", ["a", "b"]),
        ("a\n1\n2\n3\n", ["a"]),
    ]:
        frame = pd.read_csv(io.StringIO(csv))[columns]
        # Great Expectations' default ignore_row_if for compound columns: "all_values_are_missing".
        kept = frame[~frame.isna().all(axis=1)]
        duplicated = kept.duplicated(keep=False)
        cases.append({"csv": csv, "columns": columns, "unexpected": int(duplicated.sum()),
                      "element_count": int(len(kept)),
                      "lines": [int(i) + 2 for i in kept.index[duplicated]]})
    return cases


def text_cases():
    values = ["café", "cafe\u0301", "e\u0301\u0301", "👍🏽", "abc"]
    return {"values": values, "lengths": [len(v) for v in values],
            "distinct": int(pd.Series(values[:2]).nunique()),
            "nfc_equal": unicodedata.normalize("NFC", values[0]) == unicodedata.normalize("NFC", values[1])}


METHODS = {"K-S p_value": "ks", "chi-square p_value": "chisquare", "Z-test p_value": "z",
           "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon",
           "PSI": "psi", "Percentile text content drift": "text", "Absolute text content drift": "text"}


def csv_text(frame):
    return frame.to_csv(index=False, lineterminator="\n")


def evidently_case(name, ref_csv, cur_csv):
    """What Evidently's current API makes of two CSV files read as a user's files would be."""
    from evidently import Report
    from evidently.presets import DataDriftPreset
    ref = pd.read_csv(io.StringIO(ref_csv))
    cur = pd.read_csv(io.StringIO(cur_csv))
    report = Report([DataDriftPreset()]).run(cur, ref).dict()
    columns = {}
    count = None
    for metric in report["metrics"]:
        config = metric.get("config", {})
        if config.get("column") is None:
            count = metric["value"]["count"]
            continue
        columns[config["column"]] = {"test": METHODS[config["method"]], "score": float(metric["value"]),
                                     "threshold": float(config["threshold"])}
    return {"name": name, "reference_csv": ref_csv, "current_csv": cur_csv, "columns": columns,
            "drifted_count": count}


def evidently_corpus(seed, count):
    """Random pairs of CSV files (sizes from 5 to 3,000 rows; numbers, integers with few or many values,
    nulls, infinities, booleans, categories that appear or vanish, identifiers, constants) with Evidently's
    current verdict on each column: the fresh cases `make test` checks."""
    rng = np.random.default_rng(seed)
    sizes = [5, 12, 30, 80, 200, 600, 1000, 1001, 1500, 3000]

    def column(kind, n, shift):
        if kind == "float":
            return np.round(rng.normal(shift, 1 + abs(shift), n), int(rng.integers(0, 6)))
        if kind == "ints":
            return rng.integers(0, int(rng.integers(2, 80)) + int(10 * shift), n)
        if kind == "gappy":
            values = rng.normal(shift, 1, n)
            return np.where(rng.random(n) < rng.uniform(0, 0.5), np.nan, np.round(values, 3))
        if kind == "infinite":
            values = np.round(rng.normal(shift, 1, n), 4)
            values[rng.random(n) < 0.02] = rng.choice([np.inf, -np.inf])
            return values
        if kind == "bool":
            return rng.random(n) < 0.5 + shift / 4
        if kind == "category":
            letters = list("abcdefghij")[: int(rng.integers(2, 10))]
            weights = rng.dirichlet(np.ones(len(letters)) * (1 + 10 * abs(shift)))
            return rng.choice(letters, n, p=weights)
        if kind == "ident":
            start = int(rng.integers(0, 100000))
            return [f"id{start + i}" for i in range(n)]
        if kind == "constant":
            return np.full(n, 7)
        if kind == "coded":  # integers with nulls: pandas reads floats
            return np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 5, n))
        if kind == "flags_gappy":  # booleans with nulls: pandas reads objects
            return np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.5 + shift / 4)
        if kind == "text":
            words = ["model", "data", "drift", "git", "churn", "user", "the", "a", "of", "fast", "slow", "café"]
            return [" ".join(rng.choice(words, int(rng.integers(3, 12)))) for _ in range(n)]
        if kind == "mixed":  # numbers and a word: text to pandas
            return [str(v) if rng.random() > 0.05 else "x" for v in rng.integers(0, 12 + int(20 * shift), n)]
        if kind == "wide":  # large integers, many distinct
            return rng.integers(-10**12, 10**12, n) + int(shift * 10**11)
        if kind == "dates":
            start = np.datetime64("2026-01-01") + int(30 * shift)
            return (start + rng.integers(0, 365, n).astype("timedelta64[D]")).astype(str)
        raise ValueError(kind)

    kinds = ["float", "ints", "gappy", "infinite", "bool", "category", "ident", "constant", "coded", "flags_gappy",
             "text", "dates", "mixed", "wide"]
    cases, failures = [], 0
    while len(cases) < count:
        if failures > count:  # a case Evidently fails on is rare: this many means something else is wrong
            raise SystemExit(f"seed {seed}: Evidently failed on {failures} cases; giving up")
        n_ref, n_cur = int(rng.choice(sizes)), int(rng.choice(sizes))
        chosen = rng.choice(kinds, size=int(rng.integers(1, 6)), replace=False)
        reference, current = {}, {}
        for kind in chosen:
            shift = float(rng.choice([0, 0, 0.05, 0.2, 0.8]))
            reference[kind] = column(kind, n_ref, 0)
            current[kind] = column(kind, n_cur, shift)
        try:
            cases.append(evidently_case(f"seed {seed} case {len(cases)}", csv_text(pd.DataFrame(reference)),
                                        csv_text(pd.DataFrame(current))))
        except Exception as error:  # Evidently's own failure (no column judged: text and dates only): no reference
            failures += 1
            print(f"seed {seed}: Evidently failed on a case ({type(error).__name__}: {error}), drawn again",
                  file=sys.stderr)
    return {"versions": VERSIONS, "seed": seed, "evidently_current": cases}


def evidently_current():
    """Evidently's current API (`Report([DataDriftPreset()]).run(current, reference)`) on data frames read
    back from their CSV text as a user's files would be: its column types (inferred on the current data),
    its tests and its scores, per column."""
    rng = np.random.default_rng(53)
    cases = []

    def case(name, reference, current):
        cases.append(evidently_case(name, csv_text(reference), csv_text(current)))

    n = 300
    case("small", pd.DataFrame({
        "few_ints": rng.integers(0, 4, n), "many_ints": rng.integers(0, 40, n), "shrinking": rng.integers(0, 30, n),
        "floats": np.round(rng.normal(size=n), 4), "flags": rng.choice([True, False], n),
        "city": rng.choice(["paris", "lyon", "nice"], n), "ident": [f"c{i}" for i in range(n)],
        "gappy": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 50, n)),
    }), pd.DataFrame({
        "few_ints": rng.integers(0, 8, n), "many_ints": rng.integers(0, 40, n), "shrinking": rng.integers(0, 6, n),
        "floats": np.round(rng.normal(0.2, 1, n), 4), "flags": rng.choice([True, False], n, p=[0.6, 0.4]),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2]),
        "ident": [f"c{i + 1000}" for i in range(n)], "gappy": rng.integers(0, 50, n),
    }))
    n = 1500
    case("large", pd.DataFrame({
        "w": np.round(rng.normal(size=n), 5), "letters": rng.choice(list("abcdef"), n), "k": rng.integers(0, 3, n),
        "wide": rng.integers(0, 500, n)}),
        pd.DataFrame({"w": np.round(rng.normal(0.1, 1, n), 5), "letters": rng.choice(list("abcdef"), n),
                      "k": rng.integers(0, 3, n), "wide": rng.integers(0, 9, n)}))
    return cases


def data_reference():
    return {"versions": VERSIONS, "corpus": corpus(1, 250), "drift_infinity": drift_with_infinity(),
            "isin": isin_cases(), "compound": compound_cases(), "text": text_cases(),
            "expectations": expectations_corpus(1, 60),
            "evidently_current": evidently_current()}


# ---------------------------------------------------------------- gates

def weighted_auc_absent_class():
    rng = np.random.default_rng(31)
    classes = ["a", "b", "c"]
    truth = rng.choice(["a", "b"], size=40).tolist()
    probabilities = np.round(rng.dirichlet([1, 1, 1], size=40), 6)
    probabilities[:, 2] = np.round(1 - probabilities[:, 0] - probabilities[:, 1], 6)
    value = metrics.roc_auc_score(truth, probabilities, multi_class="ovr", average="weighted", labels=classes)
    return {"classes": classes, "truth": truth, "probabilities": probabilities.tolist(), "roc_auc_weighted": value}


def score_of_positive_only():
    rng = np.random.default_rng(41)
    truth = rng.integers(0, 2, size=60)
    score = np.round(np.clip(0.3 + 0.4 * truth + rng.normal(0, 0.25, size=60), 0.001, 0.999), 4)
    predicted = (score >= 0.5).astype(int)
    return {"truth": truth.tolist(), "predicted": predicted.tolist(), "score_1": score.tolist(),
            "roc_auc": metrics.roc_auc_score(truth, score), "pr_auc": metrics.average_precision_score(truth, score),
            "log_loss": metrics.log_loss(truth, score), "brier": metrics.brier_score_loss(truth, score)}


def gates_reference():
    neg = sorted(name for name in metrics.get_scorer_names() if name.startswith("neg_"))
    # Every scorer is greater-is-better by construction; the neg_ ones negate a loss or an error.
    assert all(metrics.get_scorer(name)._sign == -1 for name in neg)
    tango = []
    for n in (20, 50, 200, 1000):
        for confidence in (0.90, 0.95):
            z = stats.norm.ppf(0.5 + confidence / 2)
            half = z * z / (n + z * z)
            tango.append({"n": n, "confidence": confidence, "interval": [-half, half]})
    return {"versions": VERSIONS, "neg_scorers": neg, "tango_no_discordant": tango,
            "roc_auc_weighted_absent_class": weighted_auc_absent_class()}


def write(path, value):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=1, ensure_ascii=False, sort_keys=True)
        file.write("\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--corpus", action="store_true")
    parser.add_argument("--evidently-corpus", action="store_true")
    parser.add_argument("--expectations-corpus", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=250)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.corpus:
        made = corpus(args.seed, args.count)
        write(args.out, made)
        columns = sum(len(entry["columns"]) for entry in made["entries"])
        print(f"pandas corpus seed {args.seed}: {len(made['entries'])} files, {columns} columns", file=sys.stderr)
        return 0
    if args.expectations_corpus:
        made = expectations_corpus(args.seed, args.count)
        write(args.out, made)
        print(f"expectations corpus seed {args.seed}: {len(made['cases'])} expectations", file=sys.stderr)
        return 0
    if args.evidently_corpus:
        write(args.out, evidently_corpus(args.seed, args.count))
        print(f"Evidently corpus seed {args.seed}: {args.count} cases", file=sys.stderr)
        return 0
    made = {DATA: data_reference(), GATES: gates_reference(),
            CHECK: {"versions": VERSIONS, "score_of_positive_only": score_of_positive_only()}}
    if args.check:
        # Numbers within 1e-12 (relative): Evidently's distances vary in the last bit from run to run
        # (summation over hash-ordered categories); anything more is a real change.
        def same(a, b):
            if isinstance(a, float) or isinstance(b, float):
                return isinstance(a, (int, float)) and isinstance(b, (int, float)) and (
                    a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b)))
            if isinstance(a, dict) and isinstance(b, dict):
                return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            if isinstance(a, list) and isinstance(b, list):
                return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
            return a == b
        stale = [path for path, value in made.items()
                 if not same(json.load(open(path, encoding="utf-8")), json.loads(json.dumps(value)))]
        for path in stale:
            print(f"{os.path.relpath(path)} differs from what the libraries compute now", file=sys.stderr)
        return 1 if stale else 0
    for path, value in made.items():
        write(path, value)
    return 0


if __name__ == "__main__":
    sys.exit(main())
