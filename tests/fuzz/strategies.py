"""Hypothesis strategies for the fuzz suite: tables (CSV, TSV, Parquet), option values, model
files and .emq files.

Most draws are near the valid inputs, so that runs reach the fitting and writing code, with
hostile values mixed in: names that are empty, repeated or not UTF-8, quotes and delimiters in
names and cells, numbers beyond float range or below its smallest, negative zero, text in
numeric columns, rows of other lengths, no rows at all."""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass

from hypothesis import strategies as st

from emcli.models.registry import COVARIANCE_TYPES, FORMS, MODELS

MODEL_NAMES = sorted(MODELS)
ALGORITHMS = sorted({name for spec in MODELS.values() for name in spec.algorithms} | {"ecm", "ecme"})
REGRESSION = sorted(name for name, spec in MODELS.items() if spec.target_kind)


# -- cells and names ---------------------------------------------------------------------------

HOSTILE_NUMBERS = ["1e308", "-1e308", "1.7976931348623157e308", "1e400", "-1e400", "5e-324",
                   "-5e-324", "1e-400", "2.2250738585072014e-308", "-0", "-0.0", "0", "+3", ".5",
                   "5.", "1E5", "9" * 40, "-" + "9" * 40, "1" + "0" * 400, "0x1A", "1_000", "1,5",
                   " 3 ", "\u0661\u0662", "\uff13", "NaN", "nan", "-nan", "NA", "N/A", "null", "None",
                   "inf", "-inf", "Infinity", "-Infinity", "", "", "abc", "true", "false", "TRUE",
                   '"1"', '""', "1e", "--1", "1e-5", "3.14159265358979323846264338327950288",
                   "4294967296", "9223372036854775807", "-9223372036854775808", "18446744073709551616"]
NAMES = ["a", "b", "x", "y", "z", "value", "A", "", "", " ", "a", "b", "\u00e9t\u00e9", "a b",
         'q"uote', "com,ma", "tab\tname", "new\nline", "cr\rname", "cluster", "p_0", "p_1", "logpdf",
         "weight", "prediction", "prediction_std", "component", "imputation", "1", "nan", "#",
         "\ufeffbom", "-", "x" * 300, "emoji \U0001f600", "nul\x00name"]


@dataclass
class Table:
    """A generated input table: its file name, bytes, and what the generator knows of it
    (``rows`` and ``columns`` when the file is regular enough to tell)."""

    name: str
    data: bytes
    columns: list | None
    rows: int | None
    numeric: list | None = None  # columns the generator filled with numbers
    missing: bool = False        # whether a numeric column has an empty cell

    def write(self, directory) -> str:
        (directory / self.name).write_bytes(self.data)
        return self.name


def finite_cells(draw, n: int, style: str) -> list:
    """``n`` cells of a column in ``style``."""
    if style == "binary":
        return [draw(st.sampled_from(["0", "1", "0", "1", "true", "false"])) for _ in range(n)]
    if style == "level":
        return [draw(st.sampled_from(["red", "green", "blue", "x", "1", "2"])) for _ in range(n)]
    if style == "integer":
        return [str(draw(st.integers(-50, 50))) for _ in range(n)]
    if style == "constant":
        value = draw(st.sampled_from(["0", "1", "-0.0", "1e308", "5e-324"]))
        return [value] * n
    if style == "empty":
        return [""] * n
    if style == "extreme":
        return [repr(draw(st.floats(allow_nan=False, allow_infinity=False, width=64))) for _ in range(n)]
    centre = draw(st.sampled_from([0.0, 1.0, 100.0, -5.0, 1e6]))
    scale = draw(st.sampled_from([1.0, 0.01, 10.0, 1e-8]))
    return [repr(round(centre + scale * draw(st.floats(-3, 3)), 6)) for _ in range(n)]


NUMERIC_STYLES = ["float", "float", "float", "float", "integer", "extreme", "constant"]
OTHER_STYLES = ["binary", "level", "empty"]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: the hostile features a table may have; a table has none (half of them), one or a few
TABLE_FEATURES = ["names", "cells", "cells", "ragged", "bytes", "ext", "newline", "no-final-newline", "styles",
                  "styles", "few-rows", "quoting"]


@st.composite
def tables(draw, styles: list | None = None, min_rows: int = 0, max_rows: int = 30,
           max_columns: int = 5, hostile: bool = True, formats=("csv", "csv", "csv", "tsv"),
           column_names: list | None = None):
    """A delimited table (CSV or TSV bytes): clean numeric data half the time (when
    ``hostile``), otherwise with one or a few TABLE_FEATURES: hostile names, cells (beyond float
    range, tiny, negative zero, text, empty), rows of other lengths, bytes that are not UTF-8,
    a misleading extension, CR LF, columns of other kinds, no or one row, quoting."""
    if hostile:
        level = draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
        features = set(draw(st.lists(st.sampled_from(TABLE_FEATURES), min_size=level, max_size=2 * level)))
    else:
        features = set()
    fmt = draw(st.sampled_from(formats))
    delimiter = "\t" if fmt == "tsv" else ","
    n_columns = len(column_names) if column_names else draw(st.integers(1, max_columns))
    if "few-rows" in features:
        n_rows = draw(st.sampled_from([0, 1, 1, 2]))
    else:
        n_rows = draw(st.integers(max(min_rows, min(5, max_rows)), max_rows))
    if styles is not None:
        column_styles = [draw(st.sampled_from(styles)) for _ in range(n_columns)]
    elif "styles" in features:
        column_styles = [draw(st.sampled_from(NUMERIC_STYLES + OTHER_STYLES)) for _ in range(n_columns)]
    else:
        column_styles = [draw(st.sampled_from(["float", "float", "integer"])) for _ in range(n_columns)]
    if "names" in features:
        names = [draw(st.sampled_from(NAMES)) for _ in range(n_columns)]
    elif column_names:
        names = list(column_names)
    else:
        names = ["abcdefgh"[j] for j in range(n_columns)]
    columns = [finite_cells(draw, n_rows, style) for style in column_styles]
    rows = [[columns[j][i] for j in range(n_columns)] for i in range(n_rows)]
    regular = True
    missing = False
    if "cells" in features and n_rows:
        for _ in range(draw(st.integers(1, 3))):
            i, j = draw(st.integers(0, n_rows - 1)), draw(st.integers(0, n_columns - 1))
            rows[i][j] = draw(st.sampled_from(HOSTILE_NUMBERS))
            missing = missing or rows[i][j] == ""
    numeric = [names[j] for j, style in enumerate(column_styles) if style in ("float", "integer", "extreme", "constant")]
    special = (delimiter, '"', "\n", "\r")
    quoting = "quoting" in features
    header = [quote(n) if (quoting and draw(st.booleans())) or any(c in n for c in special) and draw(st.booleans())
              else n for n in names]
    lines = [delimiter.join(header)]
    for row in rows:
        lines.append(delimiter.join(quote(c) if (quoting and draw(st.booleans()))
                                    or any(s in c for s in special) and draw(st.booleans()) else c for c in row))
    cells = header + [c for line in lines[1:] for c in line.split(delimiter)]
    if any(any(s in c for s in special) and not c.startswith('"') for c in cells):
        regular = False
    if "ragged" in features and n_rows:
        i = draw(st.integers(1, len(lines) - 1))
        lines[i] = draw(st.sampled_from([lines[i] + delimiter + "9", lines[i].rsplit(delimiter, 1)[0], "",
                                         delimiter * (n_columns + 1), lines[i] + delimiter]))
        regular = False
    newline = "\r\n" if "newline" in features else "\n"
    text = newline.join(lines) + ("" if "no-final-newline" in features else newline)
    data = text.encode("utf-8")
    if "bytes" in features:
        data = draw(st.sampled_from([b"\xef\xbb\xbf" + data, data.replace(b"a", b"\xff", 1),
                                     data.replace(b"\n", b"\x00\n", 1), data[: len(data) // 2], b"",
                                     b"\n\n", data.replace(b",", b";"), data.replace(b"\n", b"\r")]))
        regular = False
    if any(c in n for n in names for c in ("\n", "\r", "\x00")) or len(set(names)) < len(names):
        regular = False
    if any("\n" in c or "\r" in c for row in rows for c in row):
        regular = False
    ext = draw(st.sampled_from(["csv" if fmt == "tsv" else "tsv", "txt", "CSV", "csv.gz"])) if "ext" in features else fmt
    return Table(f"in.{ext}", data, names if regular else None, n_rows if regular else None,
                 numeric if regular else None, missing)


@st.composite
def parquet_tables(draw, max_rows: int = 25):
    """A Parquet file written by pyarrow, with column types beyond CSV's: float32, unsigned and
    narrow integers, decimals, dates, booleans, nulls, dictionaries; NaN, infinities, -0.0."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    n_rows = draw(st.integers(0, max_rows))
    n_columns = draw(st.integers(1, 4))
    arrays, names, numeric = [], [], []
    for j in range(n_columns):
        kind = draw(st.sampled_from(["float64", "float64", "float64", "float32", "int64", "int8", "uint64",
                                     "decimal", "bool", "string", "null", "date", "dictionary", "float16",
                                     "timestamp", "binary", "large_string"]))
        name = draw(st.sampled_from(NAMES)) if draw(st.integers(0, 3)) == 0 else "abcdefgh"[j]
        if kind in ("float64", "float32", "float16"):
            values = [draw(st.one_of(st.floats(-10, 10), st.floats(width=32), st.just(float("nan")), st.none(),
                                     st.sampled_from([float("inf"), -0.0, 1e308, 5e-324])))
                      if draw(st.integers(0, 4)) == 0 else draw(st.floats(-10, 10)) for _ in range(n_rows)]
            if kind == "float16":
                import numpy as np

                with np.errstate(over="ignore"):  # beyond float16's range: inf, on purpose
                    array = pa.array(np.array([v if v is not None else np.nan for v in values], dtype=np.float16))
            else:
                array = pa.array(values, type=getattr(pa, kind)())
            numeric.append(name)
        elif kind in ("int64", "int8", "uint64"):
            bits = {"int64": (-(2**63), 2**63 - 1), "int8": (-128, 127), "uint64": (0, 2**64 - 1)}[kind]
            array = pa.array([draw(st.one_of(st.integers(-5, 5).filter(lambda v: bits[0] <= v <= bits[1]),
                                             st.integers(*bits), st.none())) for _ in range(n_rows)],
                             type=getattr(pa, kind)())
            numeric.append(name)
        elif kind == "decimal":
            array = pa.array([decimal.Decimal(draw(st.sampled_from(["1.5", "-2.25", "99999999.99", "0.01"])))
                              for _ in range(n_rows)], type=pa.decimal128(10, 2))
            numeric.append(name)
        elif kind == "bool":
            array = pa.array([draw(st.booleans()) for _ in range(n_rows)])
        elif kind == "string":
            array = pa.array([draw(st.sampled_from(["x", "y", "1.5", "", "nan", "\u00e9"])) for _ in range(n_rows)])
        elif kind == "dictionary":
            array = pa.array([draw(st.sampled_from(["p", "q"])) for _ in range(n_rows)]).dictionary_encode()
        elif kind == "date":
            import datetime

            array = pa.array([datetime.date(2020, 1, 1 + draw(st.integers(0, 27))) for _ in range(n_rows)])
        elif kind == "timestamp":
            import datetime

            array = pa.array([datetime.datetime(2020, 1, 1, draw(st.integers(0, 3))) for _ in range(n_rows)])
        elif kind == "binary":
            array = pa.array([draw(st.sampled_from([b"x", b"y", b"\xff"])) for _ in range(n_rows)])
        elif kind == "large_string":
            array = pa.array([draw(st.sampled_from(["x", "y", "1"])) for _ in range(n_rows)], type=pa.large_string())
        else:
            array = pa.nulls(n_rows)
        arrays.append(array)
        names.append(name)
    table = pa.Table.from_arrays(arrays, names=names)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    data = sink.getvalue()
    regular = len(set(names)) == len(names)
    if draw(st.integers(0, 9)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = draw(st.sampled_from([data[:cut], data[:cut] + data[cut + 1:], b"PAR1" + data[cut:]]))
        regular = False
    return Table("in.parquet", data, names if regular else None, n_rows if regular else None,
                 numeric if regular else None, False)


def any_table(**kwargs):
    return st.one_of(tables(**kwargs), tables(**kwargs), tables(**kwargs), parquet_tables())


# -- option values -----------------------------------------------------------------------------

HOSTILE_INTS = ["0", "-1", "10001", "1000001", str(2**31), str(2**63), str(2**64), "1" + "0" * 30,
                "9" * 400, "1.5", "1e3", "x", "", " 2", "0x10", "nan", "inf"]
HOSTILE_FLOATS = ["nan", "-nan", "inf", "-inf", "Infinity", "1e308", "1e400", "-1e400", "5e-324", "-0.0", "0",
                  "-1", "1e-300", "1" + "0" * 400, "x", "", "0x1p3", "1_0"]


def maybe_hostile(valid, hostile: list, hostile_weight: int = 1, valid_weight: int = 4):
    """Mostly a value of ``valid`` (a strategy), sometimes one of the ``hostile`` strings."""
    return st.one_of(*([valid] * valid_weight), *([st.sampled_from(hostile)] * hostile_weight)).map(str)


def k_values(high: int = 4):
    return maybe_hostile(st.integers(1, high), HOSTILE_INTS)


def model_names():
    return st.one_of(st.sampled_from(MODEL_NAMES), st.sampled_from(MODEL_NAMES),
                     st.sampled_from(["GMM", "nope", "", "gmm ", "mvn", "k-means"]))


def k_ranges():
    valid = st.one_of(st.tuples(st.integers(1, 3), st.integers(0, 2)).map(lambda t: f"{t[0]}:{t[0] + t[1]}"),
                      st.lists(st.integers(1, 4), min_size=1, max_size=3).map(lambda ks: ",".join(map(str, ks))))
    hostile = ["0:3", "3:1", "1:1000000000", "1:10001", "1:" + "9" * 30, ":", "1:", ":3", "a:b", "1:2:3", "",
               ",", "1,,2", "1,1,1", "-1:2", "1.5:2", "2", " 1:2", "1:2 ", "1;2", "nan:2", "\u0661:\u0662"]
    return maybe_hostile(valid, hostile, 1, 3)


@st.composite
def option_list(draw, choices: dict, max_options: int = 4):
    """Some of the options in ``choices`` (flag -> strategy of its value, or None for a flag)."""
    names = draw(st.lists(st.sampled_from(sorted(choices)), max_size=max_options, unique=True))
    args = []
    for name in names:
        if choices[name] is None:
            args.append(name)
        else:
            value = draw(choices[name])
            args.extend([name, value] if not isinstance(value, list) else value)
    return args


def fit_option_choices(columns: list | None = None) -> dict:
    """Option strategies for every option of a fit (fit, select-k, impute)."""
    columns = columns or ["a", "b"]
    column = st.one_of(st.sampled_from(columns), st.sampled_from(["nope", "", "A", "a,b"]))
    return {
        "--covariance": maybe_hostile(st.sampled_from(COVARIANCE_TYPES + FORMS), ["all", "FULL", "vev", "", "bogus", "VVX"]),
        "--reg-covar": maybe_hostile(st.sampled_from(["0", "1e-6", "0.1", "10"]), HOSTILE_FLOATS),
        "--prior": maybe_hostile(st.sampled_from(["none", "default"]), ["yes", ""]),
        "--prior-param": maybe_hostile(
            st.tuples(st.sampled_from(["kappa", "nu", "scale", "a", "alpha", "beta"]),
                      st.sampled_from(["0.01", "1", "3", "10"])).map("=".join),
            ["kappa=nan", "nu=inf", "scale=1e400", "kappa=-1", "alpha=0", "a=5e-324", "kappa", "=1", "x=1",
             "kappa=1=2", "nu=1e308", "scale=0"]),
        "--dof": maybe_hostile(st.sampled_from(["1", "3", "30"]), HOSTILE_FLOATS),
        "--shared-dof": None,
        "--strict": None,
        "--metric": maybe_hostile(st.sampled_from(["euclidean", "cityblock", "cosine", "chebyshev"]),
                                  ["mahalanobis", "seuclidean", "jaccard", "hamming", "minkowski", "nope", "",
                                   "correlation", "canberra", "braycurtis", "yule", "wminkowski"]),
        "--target": column,
        "--no-intercept": None,
        "--basis": maybe_hostile(st.sampled_from(["linear", "rbf"]), ["poly"]),
        "--gamma": maybe_hostile(st.sampled_from(["0.5", "1", "0.01"]), HOSTILE_FLOATS),
        "--threshold": maybe_hostile(st.sampled_from(["1e6", "10", "1e12"]), HOSTILE_FLOATS),
        "--prior-scale": maybe_hostile(st.sampled_from(["10", "1", "0.1"]), HOSTILE_FLOATS),
        "--columns": maybe_hostile(st.lists(st.sampled_from(columns), min_size=1, max_size=3).map(",".join),
                                   ["", ",", "nope", "a,a", " a", "a,", "cluster"]),
        "--skip-empty-rows": None,
        "--init": maybe_hostile(st.sampled_from(["k-means++", "robust", "random", "hc"]),
                                ["nope.json", "kmeans++", "", "in.csv", "HC"]),
        "--hc-sample": maybe_hostile(st.sampled_from(["2", "3", "50"]), HOSTILE_INTS),
        "--algorithm": maybe_hostile(st.sampled_from(ALGORITHMS), ["nope", "", "BATCH", "em"]),
        "--block-size": maybe_hostile(st.sampled_from(["1", "7", "1000"]), HOSTILE_INTS),
        "--anneal-start": maybe_hostile(st.sampled_from(["1", "3", "10"]), HOSTILE_FLOATS),
        "--anneal-rate": maybe_hostile(st.sampled_from(["0.5", "0.9"]), HOSTILE_FLOATS + ["0.999999999", "1e-300"]),
        "--mc-samples": maybe_hostile(st.sampled_from(["1", "3", "10"]), HOSTILE_INTS),
        "--batch-size": maybe_hostile(st.sampled_from(["1", "5", "1000"]), HOSTILE_INTS),
        "--kappa": maybe_hostile(st.sampled_from(["0.6", "0.7", "1"]), HOSTILE_FLOATS + ["0.5", "0.5000001"]),
        "--epochs": maybe_hostile(st.sampled_from(["1", "2", "3"]), HOSTILE_INTS),
        "--learning-rate": maybe_hostile(st.sampled_from(["0.01", "0.1", "1"]), HOSTILE_FLOATS),
        "--restarts": maybe_hostile(st.sampled_from(["1", "2", "3"]), HOSTILE_INTS),
        "--seed": maybe_hostile(st.sampled_from(["0", "1", "7", str(2**32 - 1), str(2**32), str(2**63),
                                                 str(2**64 + 1), "1" + "0" * 40]), HOSTILE_INTS),
        "--max-iter": maybe_hostile(st.sampled_from(["0", "1", "2", "10", "100"]), HOSTILE_INTS),
        "--tol": maybe_hostile(st.sampled_from(["0", "1e-3", "1e-12", "1"]), HOSTILE_FLOATS),
        "--chunk-bytes": maybe_hostile(st.sampled_from(["1", "64", "1K", "4M", "100", "1G"]),
                                       ["0", "-1", "1e400", "nan", "inf", "1T", "4MM", "M", "", "1.5K", "1e30",
                                        "9" * 400, "5e-324"]),
    }


# -- model files -------------------------------------------------------------------------------

EXTREME_JSON_NUMBERS = ["1e308", "-1e308", "1.7976931348623157e308", "1e400", "-1e400", "5e-324", "-5e-324",
                        "1e-400", "0", "-0.0", "-1", "1" + "0" * 400, "123456789012345678901234567890",
                        "NaN", "Infinity", "-Infinity", "2", "0.5", "1e-300", "4294967296"]
FINITE_EXTREMES = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -5e-324, 0.0, -0.0, 1e-300, -1.0, 2.0, 0.5,
                   1e10, -1e10, 1e154, 1e-154, 0.999999999999, 1.0, 10**20, -(10**20), 1e150, -1e150, 9.99e149,
                   1e149, 1e-150, 1e300, 1e100, 1e75, 1e-75]
REPLACEMENT_VALUES = [None, True, False, "", "x", "gmm", [], {}, [[]], [1], [[1, 2], [3, 4]], 0, 1, -1, 2.5,
                      {"a": 1}, "1e3", [None], [1e308, 1e308], "NaN"]


def _paths(doc, max_depth: int = 12):
    """Every path (a tuple of keys and indices) into ``doc``, to ``max_depth`` levels."""
    stack = [((), doc)]
    while stack:
        prefix, value = stack.pop()
        yield prefix
        if len(prefix) >= max_depth or isinstance(value, Raw):
            continue
        if isinstance(value, dict):
            stack.extend((prefix + (key,), item) for key, item in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((prefix + (i,), item) for i, item in reversed(list(enumerate(value))))


def _get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


class Raw:
    """A JSON fragment written as is (a number JSON cannot hold as a float: 1e400, NaN...)."""

    def __init__(self, text):
        self.text = text


def dump_with_raw(doc) -> str:
    """JSON text of ``doc`` with every Raw written verbatim."""
    fragments = []

    def convert(value):
        if isinstance(value, Raw):
            fragments.append(value.text)
            return f"@@RAW{len(fragments) - 1}@@"
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    text = json.dumps(convert(doc))
    for i, fragment in enumerate(fragments):
        text = text.replace(f'"@@RAW{i}@@"', fragment)
    return text


@st.composite
def mutated_model(draw, text: str) -> bytes:
    """A model file ``text`` changed by one to four mutations: extreme or overflowing numbers,
    values of another type, keys dropped or added, deep nesting, other shapes, truncation."""
    import copy

    doc = json.loads(text)
    if draw(st.booleans()):  # only the parameters' values: a file that passes the checks of its shape
        mutations = draw(st.lists(st.sampled_from(["finite", "finite", "scale"]), min_size=1, max_size=3))
    else:
        mutations = draw(st.lists(st.sampled_from(
            ["number", "number", "number", "type", "drop", "add", "nest", "shape", "shape", "model", "version",
             "columns", "scale", "finite"]), min_size=1, max_size=4))
    for mutation in mutations:
        paths = list(_paths(doc))
        number_paths = [p for p in paths if isinstance(_get(doc, p), (int, float)) and not isinstance(_get(doc, p), bool)]
        paths = [p for p in paths if not isinstance(_get(doc, p), Raw)]
        container_paths = [p for p in paths if isinstance(_get(doc, p), (dict, list)) and p]
        params_paths = [p for p in paths if p[:1] == ("params",) and len(p) > 1] or paths[1:]
        if mutation == "finite" and number_paths:
            pool = [p for p in number_paths if p[:1] == ("params",)] or number_paths
            path = pool[draw(st.integers(0, len(pool) - 1))]
            doc = _set(doc, path, draw(st.sampled_from(FINITE_EXTREMES)))
        elif mutation == "number" and number_paths:
            # prefer the parameters, which predict and sample compute with
            pool = [p for p in number_paths if p[:1] == ("params",)] or number_paths
            path = pool[draw(st.integers(0, len(pool) - 1))]
            doc = _set(doc, path, Raw(draw(st.sampled_from(EXTREME_JSON_NUMBERS))))
        elif mutation == "scale" and number_paths:
            pool = [p for p in number_paths if p[:1] == ("params",)] or number_paths
            for path in draw(st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool))):
                value = _get(doc, path)
                if isinstance(value, Raw):
                    continue
                doc = _set(doc, path, value * draw(st.sampled_from([1e300, -1, 0, 1e-300, 1e10])))
        elif mutation == "type":
            path = params_paths[draw(st.integers(0, len(params_paths) - 1))]
            doc = _set(doc, path, copy.deepcopy(draw(st.sampled_from(REPLACEMENT_VALUES))))
        elif mutation == "drop" and container_paths + [()]:
            holders = [p for p in [()] + container_paths if isinstance(_get(doc, p), dict) and _get(doc, p)]
            if holders:
                holder = _get(doc, holders[draw(st.integers(0, len(holders) - 1))])
                del holder[draw(st.sampled_from(sorted(holder)))]
        elif mutation == "add":
            holders = [p for p in [()] + container_paths if isinstance(_get(doc, p), dict)]
            holder = _get(doc, holders[draw(st.integers(0, len(holders) - 1))])
            holder[draw(st.sampled_from(["extra", "k", "weights", "format", "__proto__", ""]))] = draw(
                st.sampled_from(REPLACEMENT_VALUES))
        elif mutation == "nest" and params_paths:
            path = params_paths[draw(st.integers(0, len(params_paths) - 1))]
            depth = draw(st.sampled_from([1, 2, 5, 50, 900, 3000, 100000]))
            inner = _get(doc, path)
            inner_text = inner.text if isinstance(inner, Raw) else dump_with_raw(inner)
            doc = _set(doc, path, Raw("[" * depth + inner_text + "]" * depth))
        elif mutation == "shape" and container_paths:
            lists = [p for p in container_paths if isinstance(_get(doc, p), list)]
            if lists:
                target = _get(doc, lists[draw(st.integers(0, len(lists) - 1))])
                how = draw(st.sampled_from(["pop", "append", "duplicate", "transpose", "clear", "wrap"]))
                if how == "pop" and target:
                    target.pop(draw(st.integers(0, len(target) - 1)))
                elif how == "append":
                    target.append(copy.deepcopy(target[-1]) if target else 1.0)
                elif how == "duplicate":
                    target.extend(copy.deepcopy(target))
                elif how == "transpose" and target and all(isinstance(r, list) for r in target):
                    try:
                        target[:] = [list(r) for r in zip(*target)]
                    except TypeError:
                        pass
                elif how == "clear":
                    target.clear()
                elif how == "wrap":
                    target[:] = [copy.deepcopy(target)]
        elif mutation == "model":
            if isinstance(doc, dict):
                doc["model"] = draw(st.sampled_from(MODEL_NAMES + ["nope", None, 3]))
        elif mutation == "version":
            if isinstance(doc, dict):
                key = draw(st.sampled_from(["format_version", "format", "emtool_version"]))
                doc[key] = draw(st.sampled_from([2, 0, "1", None, 1.0, Raw("1e400"), "emtool-model", "other", -1]))
        elif mutation == "columns":
            if isinstance(doc, dict):
                doc["columns"] = draw(st.sampled_from([[], ["a"], ["eruptions"], ["waiting", "eruptions"],
                                                       ["eruptions", "eruptions"], None, "eruptions",
                                                       [1, 2], ["eruptions", "waiting", "extra"]]))
    out = dump_with_raw(doc).encode()
    if draw(st.integers(0, 7)) == 0:
        out = draw(st.sampled_from([out[: draw(st.integers(0, len(out)))], out + b"garbage", b"\xff" + out,
                                    out.replace(b"{", b"[", 1), b"", b"null", b"[]"]))
    return out


# -- .emq files --------------------------------------------------------------------------------

PREFIX = struct.Struct("<8sHI")


def split_emq(payload: bytes):
    """(version, header dict, body bytes between the header and the checksum)."""
    _magic, version, length = PREFIX.unpack_from(payload)
    header = json.loads(payload[PREFIX.size: PREFIX.size + length])
    return version, header, payload[PREFIX.size + length: -4]


def build_emq(header, body: bytes, version: int = 1, header_text: bytes | None = None) -> bytes:
    """A .emq file with this header and body and a correct checksum (so that the decoder gets
    past it to the header's fields)."""
    from emcli.vq import container

    raw = header_text if header_text is not None else dump_with_raw(header).encode()
    payload = PREFIX.pack(container.MAGIC, version, len(raw)) + raw + body
    return payload + struct.pack("<I", zlib.crc32(payload))


HEADER_VALUES = {
    "kind": ["table", "image", "TABLE", "", None, 1, "video"],
    "shape": [[0], [1], [3], [2, 2], [10**9], [10**18], [2**64], [-1], [1.5], [[3]], "3", None, [True],
              [272, 1], [1, 1], [180, 240], [1, 10**12], [10**6]],
    "mode": ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "", None, "RGBRGB"],
    "columns": [["a"], ["a", "a"], [], ["x"] * 40, [1], None, "a", ["", "b"], ["eruptions", "waiting"],
                ["a\nb", "c"], ["\ud800"] if False else ["\u00e9", "\u00e8"]],
    "k": [0, 1, 2, 3, 4, 5, 255, 256, 65536, 2**31, 2**63, -1, True, 1.0, None, "4"],
    "bits": [0, 1, 2, 3, 8, 16, 17, 32, 33, 64, -1, True, None],
    "codebook_dtype": ["float64", "float32", "uint8", "float16", "int64", "object", "<f8", ">f8", "U3", "V8",
                       "complex128", "", None, "bool"],
}


@st.composite
def mutated_emq(draw, payload: bytes) -> bytes:
    """A .emq file ``payload`` damaged: bytes flipped, cut or added (the checksum then fails);
    or its header rewritten, its codebook values replaced by NaN and infinities, or its codes
    pointing past the codebook, with the checksum recomputed so that decoding goes further."""
    how = draw(st.sampled_from(["header", "header", "header", "header", "codebook", "codes", "flip", "truncate",
                                "append", "version", "header_text", "length"]))
    if how == "flip":
        data = bytearray(payload)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    if how == "truncate":
        return payload[: draw(st.integers(0, len(payload) - 1))]
    if how == "append":
        return payload + draw(st.binary(min_size=1, max_size=16))
    version, header, body = split_emq(payload)
    if how == "version":
        return build_emq(header, body, version=draw(st.sampled_from([0, 2, 65535])))
    if how == "header_text":
        text = draw(st.sampled_from([b"", b"{}", b"[]", b"null", b"\xff\xfe", b"{" * 5000, b"[" * 100000 + b"]" * 100000,
                                     b'{"kind": "table"}', json.dumps(header).encode()[:-1],
                                     json.dumps(header).encode().replace(b"}", b', "kind": "image"}'),
                                     json.dumps(header).encode() + b" ",
                                     json.dumps(header).replace('"k"', '"k":1e400, "x"').encode(),
                                     json.dumps(header).replace('"k": ', '"k": 1' + '0' * 5000 + ', "y": ').encode()]))
        return build_emq(header, body, header_text=text)
    if how == "length":
        _magic, _version, length = PREFIX.unpack_from(payload)
        new_length = draw(st.sampled_from([0, length - 1, length + 1, len(payload), 2**32 - 1]))
        data = PREFIX.pack(payload[:8], version, new_length) + payload[PREFIX.size: -4]
        return data + struct.pack("<I", zlib.crc32(data))
    header = dict(header)
    if how == "header":
        for _ in range(draw(st.integers(1, 3))):
            key = draw(st.sampled_from(sorted(HEADER_VALUES) + ["extra"]))
            if key == "extra":
                header[draw(st.sampled_from(["extra", "kind", "k"]))] = draw(st.sampled_from([1, "x", None]))
            elif draw(st.integers(0, 5)) == 0:
                header.pop(key, None)
            else:
                header[key] = draw(st.sampled_from(HEADER_VALUES[key]))
        if draw(st.booleans()) and isinstance(header.get("k"), int) and not isinstance(header.get("k"), bool) \
                and 1 <= header["k"] < 2**40:
            header["bits"] = (header["k"] - 1).bit_length()  # consistent, to get past the header check
        if draw(st.booleans()):  # resize the body to what the header describes, when it is small
            try:
                from emcli.vq import container

                size = sum(container._section_sizes(header))
                if size <= 1 << 20:
                    fill = draw(st.sampled_from([b"\x00", b"\xff", b"\x7f", b"\x01"]))
                    body = (body + fill * size)[:size]
            except Exception:  # noqa: BLE001 - a header the decoder refuses anyway
                pass
        return build_emq(header, body)
    if how == "codebook":
        import numpy as np

        dtype = np.dtype(header["codebook_dtype"]).newbyteorder("<")
        width = len(header["columns"]) if header["kind"] == "table" else len(header["mode"])
        count = header["k"] * width
        codebook = np.frombuffer(body[: count * dtype.itemsize], dtype=dtype).copy()
        if dtype.kind == "f":
            for _ in range(draw(st.integers(1, 3))):
                codebook[draw(st.integers(0, count - 1))] = draw(st.sampled_from(
                    [np.nan, np.inf, -np.inf, -0.0, 1e308 if dtype.itemsize == 8 else 3e38, 5e-324]))
        else:
            codebook[draw(st.integers(0, count - 1))] = draw(st.integers(0, 255))
        return build_emq(header, codebook.tobytes() + body[count * dtype.itemsize:])
    # codes: set every bit of a few code bytes, so that a code may exceed K
    data = bytearray(body)
    if data:
        for _ in range(draw(st.integers(1, 3))):
            data[draw(st.integers(0, len(data) - 1))] = 0xFF
    return build_emq(header, bytes(data))
