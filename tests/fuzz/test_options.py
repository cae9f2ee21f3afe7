"""Option values, valid and hostile (nan, inf, -1, 1e308, 1e400, integers beyond 64 bits, text),
on good data, for every command: fit, select-k, impute, compress, decompress, sample, models."""

from hypothesis import given
from hypothesis import strategies as st

from .contract import Output, maybe_output, SAMPLE, case_directory, count_example, input_tokens, read_input, run_and_check
from .profiles import fuzz_settings
from .seeds import SEEDS, _binary_csv, _faithful60, _probit_csv, emq_files, seeds
from .strategies import (HOSTILE_FLOATS, HOSTILE_INTS, fit_option_choices, k_ranges, k_values,
                         maybe_hostile, model_names, option_list)

#: model -> (data file, its bytes, arguments every fit of it needs)
DATA = {
    "numeric": ("faithful60.csv", _faithful60, []),
    "missing": ("faithful_missing.csv", lambda: (SAMPLE / "faithful_missing.csv").read_bytes(), []),
    "binary": ("binary.csv", _binary_csv, []),
    "categorical": ("survey.csv", lambda: (SAMPLE / "survey.csv").read_bytes(), ["--columns", "region,satisfaction"]),
    "regression": ("faithful60.csv", _faithful60, ["--target", "waiting"]),
    "binary-target": ("probit.csv", _probit_csv, ["--target", "y"]),
}
COLUMNS = {"numeric": ["eruptions", "waiting"], "missing": ["eruptions", "waiting"], "binary": ["a", "b", "c", "d"],
           "categorical": ["region", "satisfaction", "age", "income"], "regression": ["eruptions", "waiting"],
           "binary-target": ["x1", "x2", "y"]}


def data_for(model: str) -> str:
    return {"bernoulli": "binary", "categorical": "categorical", "experts": "regression", "blr": "regression",
            "rvm": "regression", "probit": "binary-target"}.get(model, "numeric")


@st.composite
def fit_cases(draw):
    model = draw(model_names())
    kind = draw(st.sampled_from([data_for(model), data_for(model), data_for(model), "missing", "numeric"]))
    name, make, base = DATA[kind]
    options = draw(option_list({**fit_option_choices(COLUMNS[kind]), "-k": k_values(3)}, max_options=5))
    return model, name, make(), base, options


@fuzz_settings(150)
@given(case=fit_cases(), trace=st.booleans(), output=st.sampled_from(["m.json", "m.json", "-", "sub/m.json"]))
def test_fit_options(case, trace, output):
    count_example("test_fit_options")
    model, name, data, base, options = case
    with case_directory() as tmp:
        (tmp / name).write_bytes(data)
        args = ["fit", name, "-m", model, "--max-iter", "30", *base, *options, "-o", output]
        outputs = [Output(output, "model")]
        if trace:
            args += ["--trace", "t.csv"]
            outputs.append(Output("t.csv", "table"))
        run_and_check(args, tmp, outputs)


CRITERIA = ["bic", "aic", "icl", "cv", "gap", "reconstruction", "BIC", "nope", ""]


@fuzz_settings(70)
@given(data=st.data())
def test_select_k_options(data):
    count_example("test_select_k_options")
    model = data.draw(model_names(), label="model")
    name, make, base = DATA[data_for(model)]
    args = ["select-k", name, "-m", model, "--max-iter", "20", "--jobs", "1", *base]
    args += data.draw(option_list({
        "--k-range": k_ranges(),
        "--criterion": st.sampled_from(CRITERIA),
        "--folds": maybe_hostile(st.sampled_from(["2", "3", "5"]), HOSTILE_INTS + ["1000", "61"]),
        "--reference-draws": maybe_hostile(st.sampled_from(["1", "2", "3"]), HOSTILE_INTS),
        "--covariance": maybe_hostile(st.sampled_from(["all", "full", "tied,diag", "spherical,full"]),
                                      ["full,full", "", ",", "bogus", "all,full", "FULL"]),
        "--jobs": maybe_hostile(st.just("1"), ["0", "2", str(2**64), "-1", "x"], 1, 6),
        "--output-format": st.sampled_from(["table", "csv", "json", "xml"]),
        **{flag: value for flag, value in fit_option_choices(COLUMNS[data_for(model)]).items()
           if flag in ("--restarts", "--seed", "--tol", "--reg-covar", "--prior", "--init", "--algorithm",
                       "--covariance", "--dof", "--metric", "--chunk-bytes", "--columns")},
    }, max_options=4), label="options")
    if "--k-range" not in args:
        args += ["--k-range", "1:3"]
    fmt = args[args.index("--output-format") + 1] if "--output-format" in args else "csv"
    outputs = [Output("-", "json" if fmt == "json" else "table")] if fmt in ("csv", "json") else []
    maybe_output(data, args, outputs, "-o", "best.json", "model", label="best")
    maybe_output(data, args, outputs, "--table", "t.csv", "table", label="table")
    with case_directory() as tmp:
        (tmp / name).write_bytes(make())
        run_and_check(args, tmp, outputs)


@fuzz_settings(80)
@given(data=st.data())
def test_impute_options(data):
    count_example("test_impute_options")
    name = data.draw(st.sampled_from(["faithful_missing.csv", "survey.csv"]), label="data")
    args = ["impute", name, "--max-iter", "20"]
    args += data.draw(option_list({
        "-m": maybe_hostile(st.sampled_from(["mvn", "gmm"]), ["kmeans", "", "GMM"]),
        "-k": st.one_of(k_values(3), st.just("auto")),
        "--k-range": k_ranges(),
        "--covariance": fit_option_choices()["--covariance"],
        "--seed": fit_option_choices()["--seed"],
        "--restarts": fit_option_choices()["--restarts"],
        "--tol": fit_option_choices()["--tol"],
        "--reg-covar": fit_option_choices()["--reg-covar"],
        "--prior": fit_option_choices()["--prior"],
        "--prior-param": fit_option_choices()["--prior-param"],
        "--columns": maybe_hostile(st.sampled_from(["eruptions", "waiting", "age,income", "income,hours", "age"]),
                                   ["region", "respondent", "nope", "", "age,age"]),
        "--clip": None, "--no-round": None, "--skip-empty-rows": None,
        "--init": fit_option_choices()["--init"],
        "--algorithm": fit_option_choices()["--algorithm"],
        "--chunk-bytes": fit_option_choices()["--chunk-bytes"],
    }, max_options=4), label="options")
    draws = data.draw(maybe_hostile(st.sampled_from(["", "", "", "1", "2", "3"]), HOSTILE_INTS, 1, 6), label="draws")
    long = data.draw(st.booleans(), label="long")
    ext = data.draw(st.sampled_from(["csv", "tsv", "parquet", "txt"]), label="ext")
    pattern = data.draw(st.sampled_from(["out_{i}", "out", "sub/out_{i}", "{i}{i}"]), label="pattern")
    outputs = []
    if draws:
        args += ["--draws", draws]
        if long:
            args.append("--long")
    args += ["-o", f"{pattern}.{ext}"]
    if draws.isdigit() and 1 <= int(draws) <= 5:
        m = int(draws)
        if long:
            outputs.append(Output(f"{pattern}.{ext}", "table"))
        else:
            outputs += [Output(f"{pattern}.{ext}".replace("{i}", str(i)), "table") for i in range(1, m + 1)]
    elif not draws:
        outputs.append(Output(f"{pattern}.{ext}", "table"))
    maybe_output(data, args, outputs, "--report", "r.json", "json", label="report")
    maybe_output(data, args, outputs, "--model-out", "m.json", "model", label="model_out")
    with case_directory() as tmp:
        (tmp / name).write_bytes((SAMPLE / name).read_bytes())
        shape = read_input(tmp / name)
        for spec in outputs:
            if spec.kind == "table":
                spec.passthrough = input_tokens(tmp / name)
                if "--skip-empty-rows" not in args and shape:
                    spec.rows = shape[1] * (int(draws) if long and draws.isdigit() else 1)
        run_and_check(args, tmp, outputs)


@fuzz_settings(80)
@given(data=st.data())
def test_compress_options(data):
    count_example("test_compress_options")
    source = data.draw(st.sampled_from(["faithful60.csv", "faithful60.csv", "small.png", "grey.png"]), label="input")
    args = ["compress", source, "--max-iter", "30"]
    args += data.draw(option_list({
        "-k": maybe_hostile(st.sampled_from(["2", "3", "4", "16", "256", "100000"]), HOSTILE_INTS + ["1"]),
        "--target-psnr": maybe_hostile(st.sampled_from(["10", "30", "60", "200"]), HOSTILE_FLOATS),
        "--target-mse": maybe_hostile(st.sampled_from(["0", "1", "100", "1e-300"]), HOSTILE_FLOATS),
        "--max-bits": maybe_hostile(st.sampled_from(["1", "100", "1000", "100000"]), HOSTILE_INTS),
        "--k-max": maybe_hostile(st.sampled_from(["2", "8", "64"]), HOSTILE_INTS),
        "--sample": maybe_hostile(st.sampled_from(["1", "5", "50", "100000"]), HOSTILE_INTS),
        "--columns": maybe_hostile(st.sampled_from(["eruptions", "waiting", "eruptions,waiting"]),
                                   ["", "nope", "eruptions,eruptions"]),
        "--codebook-dtype": maybe_hostile(st.sampled_from(["float32", "float64"]), ["float16", "uint8"]),
        "--input-format": st.sampled_from(["csv", "tsv", "parquet"]),
        "--restarts": fit_option_choices()["--restarts"],
        "--seed": fit_option_choices()["--seed"],
        "--tol": fit_option_choices()["--tol"],
        "--chunk-bytes": fit_option_choices()["--chunk-bytes"],
    }, max_options=4), label="options")
    if not any(flag in args for flag in ("-k", "--target-psnr", "--target-mse", "--max-bits")) and data.draw(
            st.booleans(), label="add k"):
        args += ["-k", "4"]
    output = data.draw(st.sampled_from(["c.emq", "c.emq", "-", "c.csv"]), label="output")
    args += ["-o", output]
    outputs = [Output(output, "emq")]
    maybe_output(data, args, outputs, "--report", "r.json", "json", label="report")
    with case_directory() as tmp:
        from PIL import Image
        import numpy as np

        (tmp / "faithful60.csv").write_bytes(_faithful60())
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 256, (10, 8, 3), dtype=np.uint8), "RGB").save(tmp / "small.png")
        Image.fromarray(np.full((6, 6), 7, dtype=np.uint8), "L").save(tmp / "grey.png")
        run_and_check(args, tmp, outputs)


@fuzz_settings(60)
@given(seed_name=st.sampled_from(sorted(SEEDS)), data=st.data())
def test_sample_options(seed_name, data):
    count_example("test_sample_options")
    seed = seeds()[seed_name]
    n = data.draw(maybe_hostile(st.integers(1, 60), ["0", "-1", str(2**31), str(2**63), str(2**64), "1" + "0" * 30,
                                                      "1e3", "x", "", "1000000000000"]), label="n")
    args = ["sample", "m.json", "-n", n]
    args += data.draw(option_list({"--seed": fit_option_choices()["--seed"],
                                   "--output-format": st.sampled_from(["csv", "tsv", "parquet", "json"])}),
                      label="options")
    output = data.draw(st.sampled_from(["out.csv", "out.tsv", "out.parquet", "-", "out.txt", "out"]), label="output")
    args += ["-o", output]
    fmt = args[args.index("--output-format") + 1] if "--output-format" in args else None
    rows = int(n) if n.isdigit() else None
    with case_directory() as tmp:
        (tmp / "m.json").write_bytes(seed.model)
        run_and_check(args, tmp, [Output(output, "table", rows=rows, filled="all", fmt=fmt)])


@fuzz_settings(40)
@given(name=st.sampled_from(["table64", "table32", "table-k1", "image", "image-la"]), data=st.data())
def test_decompress_options(name, data):
    count_example("test_decompress_options")
    output = data.draw(st.sampled_from(["d.csv", "d.tsv", "d.parquet", "d.png", "d.jpg", "d.gif", "d.bmp",
                                        "d.tif", "d.webp", "-", "d.txt", "d", "sub/d.csv"]), label="output")
    args = ["decompress", "c.emq", "-o", output]
    if data.draw(st.booleans(), label="max_output?"):
        args += ["--max-output", data.draw(st.sampled_from(["1", "100", "1K", "1G", "0", "-1", "nan", "inf", "1e400",
                                                            "4M", "1T", "9" * 30, ""]), label="max_output")]
    image = output.rsplit(".", 1)[-1] in ("png", "jpg", "gif", "bmp", "tif", "webp")
    with case_directory() as tmp:
        (tmp / "c.emq").write_bytes(emq_files()[name])
        run_and_check(args, tmp, [Output(output, "image" if image else "table", filled="all")])


@fuzz_settings(15)
@given(args=st.sampled_from([["models"], ["models", "--json"], ["--version"], ["--help"], ["-q", "models"],
                             ["models", "--bogus"], ["nope"], [], ["fit"], ["fit", "--help"], ["predict"],
                             ["sample", "m.json"], ["select-k", "--help"], ["impute", "-h"], ["compress"],
                             ["decompress", "x.emq"], ["fit", "--", "-"], ["-x"], ["fit", "a.csv", "-k"]]))
def test_command_lines(args):
    count_example("test_command_lines")
    with case_directory() as tmp:
        outputs = [Output("-", "json")] if args == ["models", "--json"] else []
        run_and_check(args, tmp, outputs)
