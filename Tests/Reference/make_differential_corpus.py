#!/usr/bin/env python3
"""Random TOML and JSON documents and number strings, valid and mutated, with what Python's tomllib,
json and float() make of them: the differential corpus of Tests/FuzzTests (DifferentialTests).

    python3 Tests/Reference/make_differential_corpus.py --seed 1 --count 600 --out Tests/FuzzTests/Corpus/differential.json
    python3 Tests/Reference/make_differential_corpus.py --check Tests/FuzzTests/Corpus/differential.json   # make test
    python3 Tests/Reference/make_differential_corpus.py --seed $RANDOM --out .build/differential.json   # make test

`--check FILE` makes the corpus again from FILE's seed and size and exits 1 unless it is byte for byte the same.

Each entry: {"format": "toml"|"json"|"number", "text": ..., "expected": tagged value | {"t": "error"} |
{"t": "skip", "why": ...}}. Tagged values keep types and order: int (as text), float (repr), str, bool,
null, array, object (a list of pairs). Python accepts some things the readers refuse on purpose; those
are "skip" with the reason (integers beyond 64 bits, which TOML 1.0 says must be an error; TOML dates,
which the readers keep as text; JSON keys given twice, an error in gitops-ml as in YAML).
"""
import argparse
import json
import math
import os
import random
import sys
import tomllib

INT64 = (-(1 << 63), (1 << 63) - 1)


class Skip(Exception):
    pass


def tag(value):
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise Skip("an integer beyond 64 bits")
        return {"t": "int", "v": str(value)}
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
            raise Skip("a lone surrogate")
        return {"t": "str", "v": value}
    if value is None:
        return {"t": "null"}
    if isinstance(value, list):
        return {"t": "array", "v": [tag(item) for item in value]}
    if isinstance(value, dict):
        return {"t": "object", "v": [[key, tag(item)] for key, item in value.items()]}
    raise Skip(f"a {type(value).__name__} value")


TRICKY = ['"', "'", "[", "]", "{", "}", "=", ",", ".", "#", "\\", "\n", "\r\n", " ", "\t", "e", "E", "_", "-",
          "+", "0", "1", "9", "x", "\u0301", "\u00e9", "\x00", "\x1f", "\x7f", "true", "nan", "inf", ":", "\ufeff",
          "\"\"\"", "'''", "\\u00e9", "\\U0001F600", "\\x"]


def mutate(rng, text):
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(chars))
        operation = rng.random()
        if operation < 0.4:
            chars[position:position] = list(rng.choice(TRICKY))
        elif operation < 0.7 and chars:
            del chars[min(position, len(chars) - 1)]
        elif chars:
            chars[min(position, len(chars) - 1)] = rng.choice(TRICKY)
    return "".join(chars)


def key(rng):
    if rng.random() < 0.7:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz_-0123456789") for _ in range(rng.randint(1, 6)))
    return "".join(rng.choice("ab é\u0301\"'.=#") for _ in range(rng.randint(0, 5)))


def text_value(rng):
    return "".join(rng.choice("ab \u00e9\u0301\t\"'\\#=[]{},.\n\u2028\U0001F600") for _ in range(rng.randint(0, 8)))


def toml_key(rng, name):
    if name and all(c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-" for c in name):
        return name
    return toml_string(rng, name, allow_literal=True)


def toml_string(rng, value, allow_literal=True):
    if allow_literal and "'" not in value and "\n" not in value and rng.random() < 0.3 and all(
            ord(c) >= 0x20 or c == "\t" for c in value):
        return "'" + value + "'"
    out = []
    for c in value:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t" and rng.random() < 0.5:
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\u%04X" % ord(c))
        elif ord(c) > 0x7F and rng.random() < 0.2:
            out.append("\\U%08X" % ord(c))
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_scalar(rng):
    kind = rng.random()
    if kind < 0.25:
        value = rng.randint(-10**12, 10**12)
        form = rng.random()
        if form < 0.15 and value >= 0:
            return hex(value), value
        if form < 0.25 and value >= 0:
            return oct(value).replace("0o", "0o"), value
        if form < 0.3 and value >= 0:
            return bin(value), value
        if form < 0.45 and abs(value) >= 1000:
            digits = str(abs(value))
            grouped = "_".join(digits[max(0, i - 3):i] for i in range(len(digits), 0, -3)[::-1])
            return ("-" if value < 0 else "") + grouped, value
        return str(value), value
    if kind < 0.45:
        value = rng.choice([0.0, -0.0, 1.5, 3.14e-10, 6.02e23, rng.uniform(-1e6, 1e6), float("inf"), float("-inf")])
        text = repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
        if text.endswith(".0") and rng.random() < 0.3:
            text = text[:-2] + "e0"
        return text, value
    if kind < 0.55:
        value = rng.random() < 0.5
        return ("true" if value else "false"), value
    if kind < 0.6:
        # Dates and times, some impossible (2023-02-29, 24:00:00): tomllib's datetimes are skipped, its
        # refusals compared.
        year, month, day = rng.randint(1, 2400), rng.randint(0, 13), rng.randint(0, 32)
        date = f"{year:04d}-{month:02d}-{day:02d}"
        clock = f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}"
        return rng.choice([date, clock, f"{date}T{clock}Z", f"{date} {clock}.5+05:30", f"{date}t{clock}-25:00"]), None
    value = text_value(rng)
    return toml_string(rng, value), value


def toml_inline(rng, depth):
    if depth > 2 or rng.random() < 0.6:
        return toml_scalar(rng)
    if rng.random() < 0.6:
        items = [toml_inline(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + ", ".join(text for text, _ in items) + "]", [value for _, value in items]
    pairs = {}
    for _ in range(rng.randint(0, 3)):
        name = key(rng)
        if name not in pairs:
            pairs[name] = toml_inline(rng, depth + 1)
    return "{" + ", ".join(f"{toml_key(rng, k)} = {t}" for k, (t, _) in pairs.items()) + "}", {
        k: v for k, (_, v) in pairs.items()}


def toml_document(rng):
    lines = []
    for _ in range(rng.randint(1, 5)):
        name = key(rng)
        text, _ = toml_inline(rng, 0)
        lines.append(f"{toml_key(rng, name)} = {text}" + (" # note" if rng.random() < 0.2 else ""))
    for _ in range(rng.randint(0, 2)):
        header = toml_key(rng, key(rng))
        lines.append(f"[[{header}]]" if rng.random() < 0.3 else f"[{header}]")
        for _ in range(rng.randint(0, 3)):
            text, _ = toml_inline(rng, 1)
            lines.append(f"{toml_key(rng, key(rng))} = {text}")
    return ("\r\n" if rng.random() < 0.1 else "\n").join(lines) + "\n"


def json_value(rng, depth):
    kind = rng.random()
    if depth > 3 or kind < 0.5:
        return rng.choice([
            rng.randint(-10**15, 10**15), rng.uniform(-1e9, 1e9), rng.choice([0.1, 1e-300, 2.5e300, -0.0]),
            text_value(rng), True, False, None, float("nan")])
    if kind < 0.75:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {key(rng): json_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Skip("a key given twice")
    return dict(pairs)


def entry(fmt, text):
    if fmt in ("json", "toml") and text.startswith("\ufeff"):
        # Python's json and tomllib refuse a leading byte-order mark; gitops-ml ignores it (RFC 8259 allows it
        # for JSON; Windows editors write it).
        return {"format": fmt, "text": text, "expected": {"t": "skip", "why": "a byte-order mark"}}
    try:
        if fmt == "toml":
            expected = tag(tomllib.loads(text))
        elif fmt == "json":
            expected = tag(json.loads(text, object_pairs_hook=reject_duplicates))
        else:
            value = float(text)
            if math.isinf(value):
                # A decimal past the largest double: float() says inf, pandas.read_csv keeps the field as
                # text, and so does the CSV reader (Tests/DatasetsTests/PandasReferenceTests).
                raise Skip("a decimal that overflows: text to pandas")
            expected = tag(value)
    except Skip as reason:
        expected = {"t": "skip", "why": str(reason)}
    except (ValueError, TypeError, RecursionError):
        expected = {"t": "error"}
    return {"format": fmt, "text": text, "expected": expected}


def number_text(rng):
    if rng.random() < 0.5:
        return repr(rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-10**9, 10**9), 1e-320, 1.7976931348623157e308]))
    return "".join(rng.choice("0123456789+-.eE") for _ in range(rng.randint(1, 10)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--out")
    parser.add_argument("--check", metavar="FILE")
    arguments = parser.parse_args()
    if arguments.check:
        with open(arguments.check) as handle:
            committed = json.load(handle)
        arguments.seed, arguments.count = committed["seed"], len(committed["entries"]) // 5
        arguments.out = arguments.check + ".recomputed"
    elif not arguments.out:
        parser.error("--out or --check is required")
    rng = random.Random(arguments.seed)
    entries = []
    for _ in range(arguments.count):
        document = toml_document(rng)
        entries.append(entry("toml", document))
        entries.append(entry("toml", mutate(rng, document)))
        value = json_value(rng, 0)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        entries.append(entry("json", text))
        entries.append(entry("json", mutate(rng, text)))
        entries.append(entry("number", number_text(rng)))
    with open(arguments.out, "w") as handle:
        json.dump({"seed": arguments.seed, "entries": entries}, handle, ensure_ascii=True)
    counts = {}
    for item in entries:
        counts[(item["format"], item["expected"]["t"] if item["expected"]["t"] in ("error", "skip") else "value")] = \
            counts.get((item["format"], item["expected"]["t"] if item["expected"]["t"] in ("error", "skip") else "value"), 0) + 1
    print(f"seed {arguments.seed}: " + ", ".join(f"{f} {k} {n}" for (f, k), n in sorted(counts.items())), file=sys.stderr)
    if arguments.check:
        with open(arguments.check, "rb") as a, open(arguments.out, "rb") as b:
            same = a.read() == b.read()
        os.remove(arguments.out)
        print(f"{arguments.check}: seed {arguments.seed}, count {arguments.count}: {'same' if same else 'DIFFERENT'}")
        sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
