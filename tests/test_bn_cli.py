"""``-m bn`` through the commands: fit, predict, sample, impute, select-k, export and a BIF
start, and the bad input each refuses with one line."""

import json
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT, assert_bad_input

STRUCTURE = "H -> a, H -> b, H -> c, a -> c, G -> c, G -> d, G -> e, H -> G"
NETWORK = ["-m", "bn", "--structure", STRUCTURE, "--hidden", "H=2", "--hidden", "G=2"]


def write_table(path="data.csv", n=800, seed=0, missing=0.1):
    """Text levels drawn from a network of STRUCTURE's shape, an untouched id column, and a
    tenth of the cells empty."""
    rng = np.random.default_rng(seed)
    h = rng.random(n) < 0.4
    g = rng.random(n) < np.where(h, 0.7, 0.2)
    a = np.where(rng.random(n) < np.where(h, 0.8, 0.2), "x", "y")
    b = rng.choice(["lo", "mid", "hi"], size=n, p=[0.6, 0.3, 0.1])
    b[h] = rng.choice(["lo", "mid", "hi"], size=h.sum(), p=[0.1, 0.3, 0.6])
    c = np.where(rng.random(n) < 0.2 + 0.3 * h + 0.4 * g - 0.1 * (a == "x"), "yes", "no")
    d = np.where(rng.random(n) < np.where(g, 0.85, 0.15), "on", "off")
    e = np.where(rng.random(n) < np.where(g, 0.2, 0.75), "u", "v")
    table = pd.DataFrame({"id": np.arange(n), "a": a, "b": b, "c": c, "d": d, "e": e}).astype(object)
    cells = table[["a", "b", "c", "d", "e"]]
    table[["a", "b", "c", "d", "e"]] = cells.mask(rng.random(cells.shape) < missing)
    table.to_csv(path, index=False)
    return table


def test_fit_predict_sample_round(run):
    write_table()
    assert run("fit", "data.csv", *NETWORK, "--restarts", "3", "-o", "net.json").exit_code == 0
    doc = json.loads(open("net.json").read())
    assert doc["model"] == "bn" and doc["columns"] == ["a", "b", "c", "d", "e"]
    assert doc["options"]["hidden"] == {"H": 2, "G": 2}
    result = run("predict", "net.json", "data.csv", "--proba", "--logpdf", "-o", "out.csv")
    assert result.exit_code == 0, result.output
    out = pd.read_csv("out.csv")
    assert list(out.columns)[6:] == ["H", "p_H_0", "p_H_1", "G", "p_G_0", "p_G_1", "logpdf"]
    for node in ("H", "G"):
        proba = out[[f"p_{node}_0", f"p_{node}_1"]].to_numpy()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(proba.argmax(axis=1), out[node])
    assert np.isfinite(out["logpdf"]).all() and (out["logpdf"] < 0).all()
    # the input's cells pass through as they were written
    with open("data.csv") as source, open("out.csv") as output:
        for before, after in zip(source, output):
            assert after.startswith(before.rstrip("\n") + ",")
    assert run("sample", "net.json", "-n", "50", "--seed", "3", "-o", "s.csv").exit_code == 0
    drawn = pd.read_csv("s.csv", keep_default_na=False)
    assert list(drawn.columns) == ["a", "b", "c", "d", "e", "H", "G"]
    assert set(drawn["b"]) <= {"lo", "mid", "hi"} and set(drawn["H"]) <= {0, 1}


def test_the_log_density_of_predict_sums_to_the_fit_log_likelihood(run):
    write_table()
    run("fit", "data.csv", *NETWORK, "-o", "net.json")
    run("predict", "net.json", "data.csv", "--logpdf", "-o", "out.csv")
    doc = json.loads(open("net.json").read())
    assert pd.read_csv("out.csv")["logpdf"].sum() == pytest.approx(doc["fit"]["log_likelihood"], rel=1e-9)


def test_impute_fills_only_missing_cells_with_levels_and_draws_are_seeded(run):
    table = write_table()
    run("fit", "data.csv", *NETWORK, "-o", "net.json")
    assert run("impute", "data.csv", "--model-file", "net.json", "-o", "filled.csv").exit_code == 0
    filled = pd.read_csv("filled.csv", keep_default_na=False).astype(str)
    original = table.astype(str)
    for column in ["a", "b", "c", "d", "e"]:
        seen = table[column].notna()
        assert (filled[column][seen] == original[column][seen]).all()
        assert set(filled[column]) == set(table[column].dropna())  # every cell a known level
    first = run("impute", "data.csv", "--model-file", "net.json", "--draws", "2", "--seed", "4", "-o", "d{i}.csv")
    assert first.exit_code == 0, first.output
    again = run("impute", "data.csv", "--model-file", "net.json", "--draws", "1", "--seed", "4", "-o", "e{i}.csv")
    assert again.exit_code == 0
    assert open("d1.csv").read() == open("e1.csv").read() != open("d2.csv").read()


def test_imputed_mode_is_the_most_probable_level():
    """The filled level is the argmax of the cell's posterior, which brute force over the
    network's joint gives (two hidden nodes, two missing cells in one row)."""
    from emcli.impute.network import most_probable
    from emcli.models.bn import BayesianNetwork

    rng = np.random.default_rng(5)
    model = BayesianNetwork("H -> a, H -> b, a -> b, b -> c", {"H": 2}, ["a", "b", "c"], levels=[[0, 1, 2]] * 3)
    X = rng.integers(3, size=(300, 3)).astype(float)
    params = model.init_params(X, "random", rng)
    X[rng.random(X.shape) < 0.3] = np.nan
    filled = most_probable(model, params, X)
    h, a, b, c = params.cpts if model.network.names == ("H", "a", "b", "c") else pytest.fail(model.network.names)
    joint = np.einsum("h,ha,hab,bc->abc", h, a, b, c)
    for row, out in zip(X, filled):
        index = tuple(slice(None) if np.isnan(v) else int(v) for v in row)
        cells = joint[index]
        missing = np.flatnonzero(np.isnan(row))
        for position, j in enumerate(missing):
            marginal = cells.sum(axis=tuple(i for i in range(len(missing)) if i != position))
            assert out[j] == marginal.argmax()


def test_select_k_searches_one_hidden_nodes_states(run):
    write_table()
    result = run("select-k", "data.csv", "-m", "bn", "--structure", STRUCTURE, "--hidden", "H",
                 "--hidden", "G=2", "--k-range", "2:3", "--output-format", "json", "-o", "best.json")
    assert result.exit_code == 0, result.output
    table = json.loads(result.stdout)
    assert [row["k"] for row in table] == [2, 3]
    assert table[1]["n_parameters"] > table[0]["n_parameters"]
    best = json.loads(open("best.json").read())
    assert best["options"]["hidden"]["H"] == next(row["k"] for row in table if row["best"])


def test_export_bif_and_start_from_it(run):
    write_table()
    run("fit", "data.csv", *NETWORK, "-o", "net.json")
    assert run("export", "net.json", "--format", "bif", "-o", "net.bif").exit_code == 0
    assert open("net.bif").read().startswith("// emtool")
    result = run("fit", "data.csv", "--init", "net.bif", "--hidden", "H", "--hidden", "G", "--max-iter", "0",
                 "-o", "again.json")
    assert result.exit_code == 0, result.output
    first, again = (json.loads(open(name).read()) for name in ("net.json", "again.json"))
    # the file's CPTs are the fit's, to the last bit: the same log-likelihood, the same network
    assert again["fit"]["log_likelihood"] == pytest.approx(first["fit"]["log_likelihood"], rel=1e-12)
    assert again["params"] == first["params"]
    assert run("export", "net.json", "--format", "dot").stdout.startswith("digraph {")


def test_prior_default_adds_bdeu_pseudo_counts():
    """Fully observed, EM's M-step is the answer: (counts + ess / (q r)) normalised per parent
    configuration, a configuration no row reaches uniform."""
    from emcli.em.fit import fit
    from emcli.models.bn import BayesianNetwork

    X = np.array([[0, 0], [0, 1], [0, 1], [1, 1]] * 5, dtype=float)
    model = BayesianNetwork("a -> b", {}, ["a", "b"], prior="default", prior_params={"ess": 4.0},
                            levels=[[0, 1, 2], [0, 1]])
    params = fit(model, X).best.params
    a, b = params.cpts
    np.testing.assert_allclose(a, (np.array([15, 5, 0]) + 4 / 3) / (20 + 4))
    np.testing.assert_allclose(b[0], (np.array([5, 10]) + 4 / 6) / (15 + 4 / 3))
    np.testing.assert_allclose(b[2], [0.5, 0.5])


@pytest.mark.parametrize("args, message", [
    (["--structure", "H -> a, a -> b, b -> a"], "cycle"),
    (["--structure", "H -> a, H -> nosuch"], "no column 'nosuch'"),
    (["--structure", "H -> a, H -> b", "--hidden", "G=2"], "G"),
    (["--structure", "a -> b", "--hidden", "a=2"], "has a column 'a'"),
    (["--structure", "H -> a, H -> b", "--hidden", "id=2"], "'id'"),
    (["--structure", ""], "--structure"),
    (["--hidden", "H=2"], "needs --structure"),
    (["--structure", "H -> a, H -> b", "--hidden", "H=1"], "from 2"),
    (["--structure", "H -> a, H -> b", "--hidden", "H=2", "-k", "3"], "-k sets the states"),
    (["--structure", "H -> a, H -> b", "--hidden", "H=2", "--exclude", "id"], "--exclude"),
])
def test_bad_structures_are_one_line(run, args, message):
    write_table("net.csv")
    assert_bad_input(run, "x.txt", "", ["fit", "net.csv", "-m", "bn", "--hidden", "H=2", *args]
                     if "--hidden" not in args else ["fit", "net.csv", "-m", "bn", *args], message)


def test_a_bif_that_does_not_parse_is_one_line(run):
    write_table()
    assert_bad_input(run, "bad.bif", "variable a { type discrete [ 2 ] { x, y }\n",
                     ["fit", "data.csv", "--init", "bad.bif", "--hidden", "H"], "bad.bif: line")


def test_unseen_levels_at_predict(run):
    write_table()
    run("fit", "data.csv", *NETWORK, "-o", "net.json")
    table = pd.read_csv("data.csv")
    table.loc[3, "b"] = "extreme"
    table.to_csv("new.csv", index=False)
    refused = run("predict", "net.json", "new.csv", "-o", "out.csv")
    assert refused.exit_code == 2 and "row 4 has level 'extreme'" in refused.stderr
    assert not os.path.exists("out.csv")
    result = run("predict", "net.json", "new.csv", "--unseen", "missing", "-o", "out.csv")
    assert result.exit_code == 0
    assert len(pd.read_csv("out.csv")) == len(table)


def test_export_refuses_a_model_without_a_network(run):
    pd.DataFrame({"x": [0.1, 0.5, 0.9, 1.3], "y": [1.0, 0.2, 0.4, 0.8]}).to_csv("n.csv", index=False)
    run("fit", "n.csv", "-o", "g.json")
    assert_bad_input(run, "unused.txt", "", ["export", "g.json", "--format", "bif"], "export writes Bayesian networks")


@pytest.mark.skipif(shutil.which("emtool") is None, reason="the emtool script is not installed")
def test_the_sample_network_in_a_real_process(tmp_path):
    """The README's network example, as a user runs it."""
    data, dot = ROOT / "sample_data" / "network.csv", ROOT / "sample_data" / "network.dot"
    fit = subprocess.run(["emtool", "fit", str(data), "-m", "bn", "--structure", str(dot), "--hidden", "Lifestyle=2",
                          "--hidden", "Illness=3", "--max-iter", "30", "-o", "net.json"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert fit.returncode == 0 and fit.stdout == "", fit.stderr
    predicted = subprocess.run(["emtool", "predict", "net.json", str(data)], cwd=tmp_path, capture_output=True,
                               text=True, env=dict(os.environ))
    assert predicted.returncode == 0
    header = predicted.stdout.splitlines()[0]
    assert header.endswith(",Lifestyle,Illness")


def test_a_warm_start_from_a_network_model_file(run):
    """--init net.json continues the fit; --structure given again (reordered) agrees with the
    file, a different one is refused."""
    write_table()
    run("fit", "data.csv", *NETWORK, "--max-iter", "5", "-o", "net.json")
    result = run("fit", "data.csv", "--init", "net.json", "-o", "more.json")
    assert result.exit_code == 0, result.output
    first, more = (json.loads(open(name).read()) for name in ("net.json", "more.json"))
    assert more["fit"]["log_likelihood"] > first["fit"]["log_likelihood"]
    shuffled = ", ".join(reversed(STRUCTURE.split(", ")))
    assert run("fit", "data.csv", "-m", "bn", "--init", "net.json", "--structure", shuffled, "-o", "again.json").exit_code == 0
    assert_bad_input(run, "unused.txt", "", ["fit", "data.csv", "-m", "bn", "--init", "net.json", "--structure",
                                             "H -> a, H -> b"], "differs from")


def test_a_model_files_structure_is_never_read_as_a_file(run, tmp_path):
    """A network's structure in a model file is an edge list: a path there is refused, not read."""
    write_table()
    run("fit", "data.csv", *NETWORK, "--max-iter", "3", "-o", "net.json")
    doc = json.loads(open("net.json").read())
    open("edges.txt", "w").write(STRUCTURE.replace(", ", "\n"))
    doc["options"]["structure"] = "edges.txt"
    open("bad.json", "w").write(json.dumps(doc))
    result = run("predict", "bad.json", "data.csv", "-o", "out.csv")
    assert result.exit_code == 2 and "no such file" in result.stderr and result.stderr.count("\n") == 1
    assert not os.path.exists("out.csv")


def test_a_number_beyond_int64_in_a_level_column_is_one_line(run):
    """Found by the fuzz suite: a float column where the model has text levels, holding 1e308,
    once reached a cast that raised; it is no level, said in one line."""
    write_table()
    run("fit", "data.csv", *NETWORK, "--max-iter", "3", "-o", "net.json")
    table = pd.read_csv("data.csv")
    table["a"] = 0.0
    table.loc[0, "a"] = 1e308
    table.to_csv("big.csv", index=False)
    result = run("predict", "net.json", "big.csv", "-o", "out.csv")
    assert result.exit_code == 2 and result.stderr == (
        "emtool: error: big.csv: column 'a' row 1 is 1e+308; categorical needs levels (text, integers or booleans)\n")


def test_joint_draws_follow_the_posterior_of_the_missing_cells():
    """A row missing two dependent cells, drawn 40,000 times: the pairs' frequencies are the
    brute-force joint posterior (not the product of its marginals), within sampling error."""
    from emcli.impute.network import joint_draws
    from emcli.models.bn import BayesianNetwork

    rng = np.random.default_rng(8)
    model = BayesianNetwork("H -> a, H -> b, a -> b, b -> c", {"H": 2}, ["a", "b", "c"], levels=[[0, 1, 2]] * 3)
    params = model.init_params(np.zeros((1, 3)), "random", rng)
    h, a, b, c = params.cpts
    X = np.tile([np.nan, np.nan, 1.0], (40_000, 1))
    drawn = joint_draws(model, params, X, np.random.default_rng(1))
    joint = np.einsum("h,ha,hab,b->ab", h, a, b, c[:, 1])
    joint /= joint.sum()
    found = np.zeros((3, 3))
    np.add.at(found, (drawn[:, 0].astype(int), drawn[:, 1].astype(int)), 1.0 / len(X))
    np.testing.assert_allclose(found, joint, atol=4 * np.sqrt(joint * (1 - joint) / len(X)).max())
    assert np.abs(joint - np.outer(joint.sum(1), joint.sum(0))).max() > 0.01  # the cells do depend


def test_a_network_without_hidden_nodes_fits_its_missing_cells_and_predicts_only_densities(run):
    write_table()
    assert run("fit", "data.csv", "-m", "bn", "--structure", "a -> c, b -> c, d -> e", "-o", "plain.json").exit_code == 0
    refused = run("predict", "plain.json", "data.csv", "-o", "out.csv")
    assert refused.exit_code == 2 and "no hidden node" in refused.stderr
    assert run("predict", "plain.json", "data.csv", "--logpdf", "-o", "out.csv").exit_code == 0
    assert list(pd.read_csv("out.csv").columns)[-1] == "logpdf"
    assert run("impute", "data.csv", "--model-file", "plain.json", "-o", "filled.csv").exit_code == 0
