"""Model files written by ``emtool fit`` for every model, then mutated (extreme, overflowing or
non-finite numbers, values of other types, keys dropped or added, deep nesting, other shapes,
truncated text), fed to every command that reads one: predict, sample, impute --model-file,
fit --init."""

from hypothesis import given
from hypothesis import strategies as st

from .contract import Output, case_directory, count_example, input_tokens, read_input, run_and_check
from .profiles import fuzz_settings
from .seeds import SEEDS, seeds
from .strategies import mutated_model


@st.composite
def mutated_seeds(draw):
    seed = seeds()[draw(st.sampled_from(sorted(SEEDS)))]
    return seed, draw(mutated_model(seed.model.decode()))


def _write(tmp, seed, model: bytes):
    (tmp / "m.json").write_bytes(model)
    (tmp / seed.data_name).write_bytes(seed.data)


@fuzz_settings(200)
@given(case=mutated_seeds(), flags=st.lists(st.sampled_from(["--proba", "--logpdf", "--unseen=missing"]), unique=True),
       output=st.sampled_from(["out.csv", "out.parquet", "-"]))
def test_predict_with_a_mutated_model(case, flags, output):
    count_example("test_predict_with_a_mutated_model")
    seed, model = case
    with case_directory() as tmp:
        _write(tmp, seed, model)
        shape = read_input(tmp / seed.data_name)
        run_and_check(["predict", "m.json", seed.data_name, *flags, "-o", output], tmp,
                      [Output(output, "table", rows=shape[1], filled=len(shape[0]),
                              passthrough=input_tokens(tmp / seed.data_name))])


@fuzz_settings(150)
@given(case=mutated_seeds(), n=st.sampled_from(["1", "5", "50"]), output=st.sampled_from(["out.csv", "out.parquet", "-"]))
def test_sample_from_a_mutated_model(case, n, output):
    count_example("test_sample_from_a_mutated_model")
    seed, model = case
    with case_directory() as tmp:
        _write(tmp, seed, model)
        run_and_check(["sample", "m.json", "-n", n, "--seed", "3", "-o", output], tmp,
                      [Output(output, "table", rows=int(n), filled="all")])


@fuzz_settings(100)
@given(case=mutated_seeds(), data_name=st.sampled_from(["own", "faithful_missing.csv", "survey.csv"]),
       extra=st.lists(st.sampled_from(["--clip", "--no-round", "--report=r.json"]), unique=True))
def test_impute_with_a_mutated_model(case, data_name, extra):
    count_example("test_impute_with_a_mutated_model")
    from .contract import SAMPLE

    seed, model = case
    with case_directory() as tmp:
        _write(tmp, seed, model)
        name = seed.data_name if data_name == "own" else data_name
        if data_name != "own":
            (tmp / name).write_bytes((SAMPLE / name).read_bytes())
        shape = read_input(tmp / name)
        outputs = [Output("out.csv", "table", rows=shape[1], passthrough=input_tokens(tmp / name))]
        if "--report=r.json" in extra:
            outputs.append(Output("r.json", "json"))
        run_and_check(["impute", name, "--model-file", "m.json", *extra, "-o", "out.csv"], tmp, outputs)


@fuzz_settings(100)
@given(case=mutated_seeds(), model_flag=st.sampled_from([None, "same", "gmm", "kmeans"]))
def test_fit_warm_started_from_a_mutated_model(case, model_flag):
    count_example("test_fit_warm_started_from_a_mutated_model")
    import json

    seed, model = case
    with case_directory() as tmp:
        _write(tmp, seed, model)
        args = ["fit", seed.data_name, "--init", "m.json", "--max-iter", "5", "-o", "out.json"]
        original = json.loads(seed.model)
        if model_flag == "same":
            args += ["-m", original["model"]]
        elif model_flag:
            args += ["-m", model_flag]
        spec = SEEDS[seed.name][2]
        for flag in ("-k", "--target", "--columns", "--covariance"):
            if flag in spec:
                args += [flag, spec[spec.index(flag) + 1]]
        run_and_check(args, tmp, [Output("out.json", "model")])
