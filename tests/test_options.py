"""One vocabulary: an option name means one thing, with one type, default and help, in every
command that has it; old spellings keep working, with a warning."""

import ast
import importlib
from pathlib import Path

import click
import pytest

from emcli.cli import COMMANDS, cli

from conftest import FAITHFUL, ROOT

#: Options whose meaning is the same everywhere but whose form follows what the command does.
EXCEPTIONS = {
    # what is written differs by command (a model file, a table, a .emq file), and so its help;
    # compress must be told where to write
    "--output",
    # select-k writes a report table (table, csv or json), the others data tables (csv, tsv, parquet)
    "--output-format",
    # select-k searches a list of covariance types ("all" by default); fit and impute take one
    "--covariance",
    # impute also takes "auto" (K by BIC); compress needs at least 2 entries and has no default
    "-k",
    # each command's --report is its own JSON document
    "--report",
    # impute fills from a Gaussian: mvn (one multivariate normal, its default) or gmm
    "-m",
}


def _commands() -> dict:
    ctx = click.Context(cli)
    return {name: cli.get_command(ctx, name) for name in COMMANDS}


def _signature(option: click.Option) -> tuple:
    kind = option.type
    described = (type(kind).__name__, getattr(kind, "choices", None), getattr(kind, "min", None),
                 getattr(kind, "max", None))
    return (described, option.default, option.is_flag, option.multiple, option.help, option.name)


def test_every_option_name_means_one_thing_in_every_command():
    seen = {}
    for command_name, command in _commands().items():
        for param in command.params:
            if not isinstance(param, click.Option) or set(param.opts) & EXCEPTIONS:
                continue
            for flag in param.opts:
                seen.setdefault(flag, {})[command_name] = _signature(param)
    differing = {flag: uses for flag, uses in seen.items() if len(set(uses.values())) > 1}
    assert not differing, "\n".join(f"{flag}: {uses}" for flag, uses in differing.items())


def test_every_command_that_fits_takes_every_fit_option():
    commands = _commands()
    fit_flags = {flag for param in commands["fit"].params for flag in param.opts
                 if isinstance(param, click.Option)} - {"-o", "--output", "--trace", "-k", "--covariance"}
    # impute completes the table on this machine, so it runs no fit on a cluster
    engine_flags = {"--engine", "--scheduler", "--persist"}
    for name, exempt in (("select-k", set()), ("impute", engine_flags)):
        flags = {flag for param in commands[name].params for flag in param.opts}
        assert fit_flags - exempt <= flags, (name, sorted(fit_flags - exempt - flags))


def _command_functions():
    for name, target in COMMANDS.items():
        module, attr = target.split(":")
        path = Path(importlib.import_module(module).__file__)
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == attr:
                yield name, node


def test_no_command_function_is_above_forty_lines():
    """Commands parse options, call a service and write; the docstring (the --help text) is
    not counted."""
    for name, node in _command_functions():
        docstring = node.body[0] if isinstance(node.body[0], ast.Expr) else None
        doc_lines = docstring.end_lineno - docstring.lineno + 1 if docstring else 0
        length = node.end_lineno - node.lineno + 1 - doc_lines
        assert length <= 40, (name, length)


@pytest.mark.parametrize("args, old, new", [
    (["fit", str(FAITHFUL), "--format", "csv", "-o", "m.json"], "--format", "--input-format"),
    (["select-k", str(FAITHFUL), "--k-range", "1:2", "--covariance", "tied", "--format", "json",
      "--jobs", "1"], "--format", "--output-format"),
    (["impute", str(FAITHFUL), "--method", "mvn", "-o", "out.csv"], "--method", "--model"),
])
def test_old_spellings_work_and_warn(run, args, old, new, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert f"emtool: warning: {old} is now {new}" in result.stderr


def test_impute_model_file_keeps_its_old_spelling(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("fit", str(ROOT / "sample_data" / "faithful_missing.csv"), "-o", "m.json").exit_code == 0
    old = run("impute", str(ROOT / "sample_data" / "faithful_missing.csv"), "--model", "m.json", "-o", "a.csv")
    new = run("impute", str(ROOT / "sample_data" / "faithful_missing.csv"), "--model-file", "m.json", "-o", "b.csv")
    assert old.exit_code == new.exit_code == 0, old.output
    assert "--model is now --model-file" in old.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_out_of_memory_suggests_chunk_bytes_only_where_the_command_takes_it(run, monkeypatch):
    assert run("fit", FAITHFUL, "-o", "m.json").exit_code == 0

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("emcli.pipeline.fit", exhausted)
    monkeypatch.setattr("emcli.sampling.sample_table", exhausted)
    fitting, sampling = run("fit", FAITHFUL, "-o", "n.json"), run("sample", "m.json", "-n", 5)
    assert fitting.exit_code == sampling.exit_code == 1
    assert fitting.stderr == "emtool: error: out of memory; try a smaller --chunk-bytes or fewer rows\n"
    assert sampling.stderr == "emtool: error: out of memory\n"


@pytest.mark.parametrize("command", ["fit", "select-k", "impute"])
@pytest.mark.parametrize("args, message", [
    (["--metric", "cityblock"], "model gmm does not take --metric"),
    (["--target", "waiting"], "model gmm does not take --target (it is not a regression model)"),
    (["--algorithm", "ecm"], "model gmm does not take --algorithm ecm"),
    (["--kappa", "0.8"], "--kappa applies to another --algorithm than batch"),
])
def test_every_command_that_fits_refuses_a_fit_option_the_same_way(run, command, args, message):
    result = run(command, FAITHFUL, *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("emtool: error: ") and message in result.stderr


def test_a_format_error_names_the_option_that_sets_it(run):
    assert run("fit", FAITHFUL, "-o", "m.json").exit_code == 0
    output = run("predict", "m.json", FAITHFUL, "-o", "out.xyz")
    assert output.exit_code == 2 and "use --output-format csv, tsv or parquet" in output.stderr
    data = run("fit", "data.xyz")
    assert data.exit_code == 2 and "use --input-format csv, tsv or parquet" in data.stderr


def test_models_json_lists_each_models_capabilities(run):
    import json

    from emcli.models.registry import MODELS

    listed = {row["name"]: row["capabilities"] for row in json.loads(run("models", "--json").stdout)}
    assert listed == {name: list(spec.capabilities) for name, spec in MODELS.items()}
