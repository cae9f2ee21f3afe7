"""Generated tables (CSV, TSV, Parquet; hostile names, cells and shapes) through every command
that reads a table: fit, predict, impute, select-k, compress (and decompress of what it wrote)."""

from hypothesis import given
from hypothesis import strategies as st

from .contract import Output, maybe_output, case_directory, count_example, input_tokens, read_input, run_and_check
from .profiles import fuzz_settings
from .seeds import seeds
from .strategies import (MODEL_NAMES, REGRESSION, HOSTILE_NUMBERS, any_table, k_ranges, k_values,
                         parquet_tables, tables)

SMALL_ITER = st.sampled_from(["1", "3", "20"])


def _target(data, table):
    names = table.columns or ["a", "b"]
    return data.draw(st.sampled_from(names + ["nope"]), label="target")


@fuzz_settings(120)
@given(table=any_table(), model=st.sampled_from(MODEL_NAMES), data=st.data())
def test_fit_any_table(table, model, data):
    count_example("test_fit_any_table")
    with case_directory() as tmp:
        table.write(tmp)
        args = ["fit", table.name, "-m", model, "--max-iter", data.draw(SMALL_ITER, label="max_iter")]
        if model in REGRESSION:
            args += ["--target", _target(data, table)]
        if model not in ("student", "blr", "rvm", "probit"):
            args += ["-k", data.draw(k_values(3), label="k")]
        if data.draw(st.booleans(), label="skip_empty"):
            args.append("--skip-empty-rows")
        if data.draw(st.integers(0, 3), label="strict") == 0:
            args.append("--strict")
        outputs = [Output("model.json", "model")]
        maybe_output(data, args, outputs, "--trace", "trace.csv", "table", label="trace")
        args += ["-o", "model.json"]
        run_and_check(args, tmp, outputs)


@fuzz_settings(40)
@given(table=tables(hostile=True), model=st.sampled_from(["gmm", "kmeans", "categorical", "bernoulli"]))
def test_fit_reads_standard_input(table, model):
    count_example("test_fit_reads_standard_input")
    with case_directory() as tmp:
        run_and_check(["fit", "-", "-m", model, "--max-iter", "5"], tmp, [Output("-", "model")], stdin=table.data)


def _seed_names():
    from .seeds import SEEDS

    return sorted(SEEDS)


@st.composite
def predict_inputs(draw):
    """A seed model and a table for it: the seed's own data with hostile cells, or a generated
    table under the model's column names."""
    import json

    seed = seeds()[draw(st.sampled_from(_seed_names()))]
    doc = json.loads(seed.model)
    if draw(st.booleans()):
        lines = seed.data.decode().splitlines()[:draw(st.integers(1, 25))]
        for _ in range(draw(st.integers(0, 3))):
            if len(lines) > 1:
                i = draw(st.integers(1, len(lines) - 1))
                cells = lines[i].split(",")
                j = draw(st.integers(0, len(cells) - 1))
                cells[j] = draw(st.sampled_from(HOSTILE_NUMBERS + ["purple", "east", "0", "1", "2"]))
                lines[i] = ",".join(cells)
        data = ("\n".join(lines) + "\n").encode()
        from .strategies import Table

        return seed, Table(seed.data_name, data, None, None)
    names = list(doc["columns"]) + draw(st.lists(st.sampled_from(["extra", "cluster", "p_0", "logpdf", "weight"]),
                                                 max_size=1))
    # a generated table with the model's columns (and maybe one more)
    styles = ["binary"] if doc["model"] == "bernoulli" else ["level", "integer"] if doc["model"] == "categorical" \
        else None
    table = draw(tables(styles=styles, hostile=True, max_rows=15, column_names=names))
    return seed, table


@fuzz_settings(120)
@given(case=predict_inputs(), data=st.data())
def test_predict_any_table(case, data):
    count_example("test_predict_any_table")
    seed, table = case
    with case_directory() as tmp:
        (tmp / "m.json").write_bytes(seed.model)
        table.write(tmp)
        out = data.draw(st.sampled_from(["out.csv", "out.tsv", "out.parquet", "-"]), label="output")
        flags = data.draw(st.lists(st.sampled_from(["--proba", "--logpdf", "--unseen=missing", "--chunk-bytes=1",
                                                    "--chunk-bytes=100"]), unique=True), label="flags")
        shape = read_input(tmp / table.name)
        rows = shape[1] if shape else None
        first_new = len(shape[0]) if shape else None
        run_and_check(["predict", "m.json", table.name, *flags, "-o", out], tmp,
                      [Output(out, "table", rows=rows, filled=first_new, passthrough=input_tokens(tmp / table.name))])


@fuzz_settings(90)
@given(table=st.one_of(tables(hostile=True), tables(hostile=True), parquet_tables()), data=st.data())
def test_impute_any_table(table, data):
    count_example("test_impute_any_table")
    with case_directory() as tmp:
        table.write(tmp)
        args = ["impute", table.name, "--max-iter", data.draw(SMALL_ITER, label="max_iter")]
        method = data.draw(st.sampled_from(["mvn", "mvn", "gmm", "gmm-auto"]), label="method")
        if method == "gmm":
            args += ["-m", "gmm", "-k", data.draw(k_values(3), label="k")]
        elif method == "gmm-auto":
            args += ["-m", "gmm", "-k", "auto", "--k-range", data.draw(k_ranges(), label="k_range")]
        chosen = None
        if data.draw(st.integers(0, 3), label="columns?") == 0 and table.columns:
            chosen = data.draw(st.lists(st.sampled_from(table.columns), min_size=1, max_size=3, unique=True),
                               label="columns")
            args += ["--columns", ",".join(chosen)]
        args += data.draw(st.lists(st.sampled_from(["--clip", "--no-round", "--prior=default", "--strict"]),
                                   unique=True), label="flags")
        out_ext = data.draw(st.sampled_from(["csv", "tsv", "parquet"]), label="ext")
        draws = data.draw(st.sampled_from([None, None, None, 2]), label="draws")
        long = bool(draws) and data.draw(st.booleans(), label="long")
        shape = read_input(tmp / table.name)
        rows = shape[1] if shape else None
        filled = chosen if chosen else (shape[2] if shape else None)
        passthrough = input_tokens(tmp / table.name)
        outputs = []
        if draws and not long:
            args += ["--draws", str(draws), "--seed", "1", "-o", f"out_{{i}}.{out_ext}"]
            outputs += [Output(f"out_{i}.{out_ext}", "table", rows=rows, filled=filled, passthrough=passthrough)
                        for i in (1, 2)]
        elif draws:
            args += ["--draws", str(draws), "--long", "-o", f"out.{out_ext}"]
            outputs.append(Output(f"out.{out_ext}", "table", rows=rows * draws if rows is not None else None,
                                  filled=filled, passthrough=passthrough))
        else:
            args += ["-o", f"out.{out_ext}"]
            outputs.append(Output(f"out.{out_ext}", "table", rows=rows, filled=filled, passthrough=passthrough))
        maybe_output(data, args, outputs, "--report", "report.json", "json", label="report")
        maybe_output(data, args, outputs, "--model-out", "model.json", "model", label="model_out")
        run_and_check(args, tmp, outputs)


@fuzz_settings(50)
@given(table=any_table(), model=st.sampled_from(MODEL_NAMES), data=st.data())
def test_select_k_any_table(table, model, data):
    count_example("test_select_k_any_table")
    with case_directory() as tmp:
        table.write(tmp)
        criterion = data.draw(st.sampled_from(["bic", "bic", "aic", "icl", "cv", "gap", "reconstruction"]),
                              label="criterion")
        args = ["select-k", table.name, "-m", model, "--k-range", data.draw(k_ranges(), label="k_range"),
                "--criterion", criterion, "--jobs", "1", "--max-iter", data.draw(SMALL_ITER, label="max_iter"),
                "--folds", "2", "--reference-draws", "2"]
        if model in REGRESSION:
            args += ["--target", _target(data, table)]
        outputs = [Output("-", "table")]
        maybe_output(data, args, outputs, "-o", "best.json", "model", label="best")
        table_out = data.draw(st.sampled_from([None, "table.csv", "table.json"]), label="table")
        if table_out:
            args += ["--table", table_out]
            outputs.append(Output(table_out, "json" if table_out.endswith(".json") else "table"))
        if data.draw(st.integers(0, 5), label="plot") == 0:
            args += ["--plot", "plot.png"]
            outputs.append(Output("plot.png", "image"))
        run_and_check(args, tmp, outputs)


@fuzz_settings(80)
@given(table=any_table(), data=st.data())
def test_compress_any_table_and_decompress_it(table, data):
    count_example("test_compress_any_table_and_decompress_it")
    with case_directory() as tmp:
        table.write(tmp)
        goal = data.draw(st.sampled_from(["k", "k", "mse", "bits"]), label="goal")
        args = ["compress", table.name, "-o", "c.emq", "--max-iter", data.draw(SMALL_ITER, label="max_iter")]
        if goal == "k":
            args += ["-k", data.draw(st.sampled_from(["2", "3", "4", "16", "1000", str(2**40)]), label="k")]
        elif goal == "mse":
            args += ["--target-mse", data.draw(st.sampled_from(["0", "0.5", "1e-300", "1e308"]), label="mse"),
                     "--k-max", "8"]
        else:
            args += ["--max-bits", data.draw(st.sampled_from(["1", "64", "1000", "100000"]), label="bits"),
                     "--k-max", "8"]
        args += data.draw(st.lists(st.sampled_from(["--codebook-dtype=float32", "--sample=5", "--sample=1",
                                                    "--restarts=2"]), unique=True), label="flags")
        outputs = [Output("c.emq", "emq")]
        maybe_output(data, args, outputs, "--report", "report.json", "json", label="report")
        result = run_and_check(args, tmp, outputs)
        if result.exit_code != 0:
            return
        shape = read_input(tmp / table.name)
        out = data.draw(st.sampled_from(["d.csv", "d.tsv", "d.parquet", "-"]), label="decompressed")
        run_and_check(["decompress", "c.emq", "-o", out], tmp,
                      [Output(out, "table", rows=shape[1] if shape else None, filled="all")])
