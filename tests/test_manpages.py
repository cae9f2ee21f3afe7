"""The man pages in man/ match what emcli.cli.manpage renders from the click definitions now."""

import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from emcli.cli import COMMANDS, cli
from emcli.cli import manpage

MAN_DIR = Path(__file__).resolve().parents[1] / "man"
REGENERATE = "run `python -m emcli.cli.manpage man/` and commit the result"
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"]


@pytest.fixture(scope="module")
def pages():
    return manpage.pages()


def test_committed_pages_are_up_to_date():
    problems = manpage.check(MAN_DIR)
    assert not problems, "man pages are out of date; " + REGENERATE + ":\n" + "\n".join(problems)


def test_one_page_per_command_and_per_model(pages):
    from emcli.models.registry import MODELS

    expected = ({"emtool.1"} | {f"emtool-{name}.1" for name in COMMANDS}
                | {f"emtool-{name}.7" for name in MODELS})
    assert set(pages) == expected
    assert {path.name for path in [*MAN_DIR.glob("*.1"), *MAN_DIR.glob("*.7")]} == expected, REGENERATE


def test_model_pages_say_when_to_choose_the_model_and_list_its_options(pages):
    from emcli.models.registry import MODELS

    for name, spec in MODELS.items():
        text = pages[f"emtool-{name}.7"]
        for heading in ("DESCRIPTION", "WHEN TO CHOOSE IT", "DATA", "OPTIONS", "OUTPUT"):
            assert f".SH {heading}" in text, (name, heading)
        for flag in spec.flags():
            assert "\\fB" + flag.replace("-", "\\-") + "\\fR" in text, (name, flag)


def test_a_new_command_gets_a_page(monkeypatch):
    monkeypatch.setitem(COMMANDS, "zzz", "emcli.cli.models:models")
    pages = manpage.pages()
    assert "emtool-zzz.1" in pages
    assert ".BR emtool\\-zzz (1)" in pages["emtool-fit.1"]
    assert "\\fBemtool zzz\\fR [\\fIOPTIONS\\fR]" in pages["emtool-zzz.1"]


def test_output_ignores_the_terminal(monkeypatch, pages):
    monkeypatch.setenv("COLUMNS", "40")
    assert manpage.pages() == pages


def test_page_structure(pages):
    for filename, text in pages.items():
        if filename.endswith(".7"):
            continue
        lines = [line for line in text.splitlines() if not line.startswith('.\\"')]
        assert lines[0].startswith(f'.TH "{manpage.escape(filename[:-2].upper())}" "1" '), filename
        headings = [line[4:].strip('"') for line in lines if line.startswith(".SH ")]
        assert [h for h in headings if h in SECTIONS] == SECTIONS, filename
        name_line = lines[lines.index(".SH NAME") + 1]
        assert name_line.startswith(manpage.escape(filename[:-2]) + " \\- "), filename
        assert text.endswith("\n") and "\b" not in text and "\f" not in text


def test_every_option_is_documented_with_escaped_hyphens(pages):
    root = click.Context(cli, info_name="emtool")
    for name in COMMANDS:
        command = cli.get_command(root, name)
        text = pages[f"emtool-{name}.1"]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in param.opts:
                    assert "\\fB" + opt.replace("-", "\\-") + "\\fR" in text, (name, opt)


def test_examples_are_kept_verbatim(pages):
    text = pages["emtool-fit.1"]
    block = text[text.index(".nf\n") + 4:text.index(".fi\n")]
    assert block.startswith("Examples:\n  emtool fit sample_data/faithful.csv \\-m gmm \\-k 3")


def test_escaping():
    assert manpage.escape("a\\b --x 'y'") == "a\\eb \\-\\-x \\(aqy\\(aq"
    assert manpage.text_line(".hidden") == "\\&.hidden"
    assert manpage._description(".starts with a dot\n\n\b\n.  kept\n  as is") == [
        "\\&.starts with a dot", ".PP", ".nf", "\\&.  kept", "  as is", ".fi"]


def test_check_reports_and_write_repairs(tmp_path):
    assert len(manpage.check(tmp_path)) == len(manpage.pages())  # all missing
    (tmp_path / "emtool-gone.1").write_text("stale\n")
    (tmp_path / "other.1").write_text("not ours\n")
    manpage.write(tmp_path)
    assert manpage.check(tmp_path) == []
    assert (tmp_path / "other.1").exists() and not (tmp_path / "emtool-gone.1").exists()
    (tmp_path / "emtool-fit.1").write_text("edited by hand\n")
    result = subprocess.run([sys.executable, "-m", "emcli.cli.manpage", "--check", str(tmp_path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "emtool-fit.1" in result.stderr and "python -m emcli.cli.manpage" in result.stderr


def test_importing_the_cli_does_not_import_the_generator():
    code = "import sys, emcli.cli; print('emcli.cli.manpage' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("filename", ["emtool.1", "emtool-fit.1"])
def test_groff_renders_without_warnings(pages, filename, tmp_path):
    # Only the rendering needs groff; the comparisons above never skip.
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    path = tmp_path / filename
    path.write_text(pages[filename], encoding="utf-8")
    # -ww: every warning; -P-cbu: plain text, without SGR escapes or overstruck bold.
    result = subprocess.run(["groff", "-man", "-Tascii", "-ww", "-P-cbu", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    rendered = result.stdout
    assert "SYNOPSIS" in rendered and "EXIT STATUS" in rendered
    if filename == "emtool-fit.1":
        # \- and \(aq come out as the ASCII characters a reader types.
        assert "--prior [none|default]" in rendered
        assert "('-' is stdout)" in rendered
