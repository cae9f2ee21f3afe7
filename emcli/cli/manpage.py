"""Man pages for emtool, rendered from its click definitions.

    python -m emcli.cli.manpage man/          # (re)write man/emtool.1, man/emtool-COMMAND.1
                                              # and man/emtool-MODEL.7
    python -m emcli.cli.manpage --check man/  # exit 1, listing the pages that are out of date

Every word of a command's page comes from the click objects (short help, usage, help text,
options), and every word of a model's page from the model registry, the model's module docstring
and the ``emtool fit`` options it takes, so the pages cannot drift from the code for long: tests/test_manpages.py fails until they are
regenerated.  The output is deterministic (no date, no version, no terminal width) so that the
test can compare it byte for byte.

``emcli.cli`` must not import this module: it imports every subcommand, which would undo the
lazy loading that keeps ``emtool --help`` fast.
"""

import argparse
import inspect
import re
import sys
from pathlib import Path

import click

from emcli.cli import COMMANDS, cli

PROG = "emtool"

# The statuses EmtoolGroup.main maps every outcome to.
EXIT_STATUS = (
    ("0", "Success."),
    ("1", "The computation failed, or an output could not be written (a full disk, a file-size limit)."),
    ("2", "Bad usage or bad input."),
    ("3", "With --strict: the fit did not converge or has a degenerate component; nothing was written."),
    ("141", "Standard output was closed before everything was written (as a process ended by SIGPIPE)."),
)

# Characters roff would not print as typed.  Every hyphen becomes \- because the help text is
# full of flags, file names and commands that readers copy, and a plain "-" may render as a
# typographic hyphen; quotes and the rest likewise get their ASCII glyphs.
_ESCAPES = str.maketrans({"\\": r"\e", "-": r"\-", "'": r"\(aq", "`": r"\(ga",
                          "~": r"\(ti", "^": r"\(ha"})


def escape(text: str) -> str:
    """``text`` as roff prints it literally (within a line; see ``text_line``)."""
    return text.translate(_ESCAPES)


def text_line(roff: str) -> str:
    """An input line of already escaped text, guarded so a leading "." is not read as a request
    ("'" is escaped anyway)."""
    return "\\&" + roff if roff.startswith(".") else roff


# A metavar in a usage line such as "[OPTIONS] MODEL.json DATA", set in italics.
_METAVAR = r"[A-Za-z][\w.]*"


def _fonts(text: str, pattern: str, font: str) -> str:
    """Escape ``text``, setting the parts matching ``pattern`` in ``font`` (B or I)."""
    out, end = [], 0
    for match in re.finditer(pattern, text):
        out.append(escape(text[end:match.start()]))
        out.append(f"\\f{font}{escape(match.group())}\\fR")
        end = match.end()
    return "".join(out) + escape(text[end:])


def _term(opts: str) -> str:
    """An option's flags in bold and its metavar in italics: ``-m, --model TEXT``."""
    # click joins the flags with ", " (" / " or "; " before the secondary, --no- form) and
    # puts the metavar after the last flag of each group.
    out = []
    for part in re.split(r"(, | / |; )", opts):
        if part in (", ", " / ", "; "):
            out.append(part)
            continue
        flag, _, metavar = part.partition(" ")
        out.append(f"\\fB{escape(flag)}\\fR" + (f" \\fI{escape(metavar)}\\fR" if metavar else ""))
    return "".join(out)


def _help_text(command: click.Command) -> str:
    """The help text as click shows it: dedented, cut at click's ``\\f`` marker."""
    return inspect.cleandoc(command.help or "").partition("\f")[0].strip()


def _description(text: str) -> list[str]:
    """Paragraphs that roff fills, like click rewraps them; a paragraph opening with click's
    ``\\b`` line is kept verbatim between .nf and .fi, as click keeps it."""
    out = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = paragraph.splitlines()
        if out:
            out.append(".PP")
        if lines[0].strip() == "\b":
            out += [".nf", *(text_line(escape(line.rstrip())) for line in lines[1:]), ".fi"]
        else:
            # Stripped, since a leading space would break the line in fill mode.
            out += [text_line(escape(line.strip())) for line in lines if line.strip()]
    return out


def _page_name(name: str | None) -> str:
    return f"{PROG}-{name}" if name else PROG


def render(command: click.Command, ctx: click.Context, name: str | None = None) -> str:
    """The man page of ``command`` (the group itself when ``name`` is None) in context ``ctx``."""
    page = _page_name(name)
    # click's short help ends with the sentence's period; a NAME line conventionally does not.
    summary = command.get_short_help_str(limit=10**6).removesuffix(".")
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [
        '.\\" Generated from the click definitions by: python -m emcli.cli.manpage man/',
        '.\\" Do not edit; change the help text in emcli/cli/ and regenerate.',
        f'.TH "{escape(page.upper())}" "1" "" "{PROG}" "User Commands"',
        ".SH NAME",
        text_line(f"{escape(page)} \\- {escape(summary)}"),
        ".SH SYNOPSIS",
        f"\\fB{escape(ctx.command_path)}\\fR {_fonts(usage, _METAVAR, 'I')}",
        ".SH DESCRIPTION",
        *_description(_help_text(command)),
    ]
    if isinstance(command, click.Group):
        lines.append(".SH COMMANDS")
        for sub_name in sorted(COMMANDS):
            sub = command.get_command(ctx, sub_name)
            lines += [".TP", f"\\fB{escape(_page_name(sub_name))}\\fR(1)",
                      text_line(escape(sub.get_short_help_str(limit=10**6)))]
    lines.append(".SH OPTIONS")
    for param in command.get_params(ctx):
        # Arguments have no help in click; they are in SYNOPSIS and DESCRIPTION.
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record:  # None for hidden options
            opts, help_ = record
            lines += [".TP", _term(opts), text_line(escape(" ".join(help_.split())))]
    lines.append(".SH EXIT STATUS")
    for status, meaning in EXIT_STATUS:
        lines += [".TP", f"\\fB{status}\\fR", text_line(escape(meaning))]
    others = [other for other in [None, *sorted(COMMANDS)] if other != name]
    lines.append(".SH SEE ALSO")
    lines += [f".BR {escape(_page_name(other))} (1){',' if i < len(others) - 1 else ''}"
              for i, other in enumerate(others)]
    return "\n".join(lines) + "\n"


def render_model(spec, fit: click.Command, fit_ctx: click.Context) -> str:
    """The section 7 page of the registered model ``spec``: what it is, when to choose it,
    what data it needs, the ``emtool fit`` options it takes and what ``predict`` gives."""
    import importlib

    from emcli.models.registry import DERIVED_OPTIONS

    page = _page_name(spec.name)
    module = importlib.import_module(spec.target.split(":")[0])
    options = {param.name: param for param in fit.get_params(fit_ctx) if isinstance(param, click.Option)}
    lines = [
        '.\\" Generated from the model registry by: python -m emcli.cli.manpage man/',
        '.\\" Do not edit; change emcli/models/ and regenerate.',
        f'.TH "{escape(page.upper())}" "7" "" "{PROG}" "emtool models"',
        ".SH NAME",
        text_line(f"{escape(page)} \\- {escape(spec.summary)}"),
        ".SH SYNOPSIS",
        f"\\fB{PROG} fit\\fR \\fIDATA\\fR \\fB\\-m {escape(spec.name)}\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        *_description(inspect.cleandoc(module.__doc__ or spec.summary)),
        ".SH WHEN TO CHOOSE IT",
        text_line(escape(spec.when[0].upper() + spec.when[1:] + ".")),
        ".SH DATA",
        text_line(escape(spec.needs[0].upper() + spec.needs[1:] + ".")),
        ".SH OPTIONS",
    ]
    for name in spec.options:
        if name in DERIVED_OPTIONS:
            continue
        opts, help_ = options[name].get_help_record(fit_ctx)
        lines += [".TP", _term(opts), text_line(escape(" ".join(help_.split())))]
    lines += [".SH OUTPUT", text_line(escape(
        f"emtool predict appends: {', '.join(spec.outputs)}. "
        + ("emtool sample draws rows from a fitted model." if spec.generative
           else "It is not generative: emtool sample refuses it.")))]
    lines.append(".SH SEE ALSO")
    refs = [(f"{PROG}-{c}", 1) for c in ("fit", "predict", "sample", "models")]
    lines += [f".BR {escape(ref)} ({section}){',' if i < len(refs) - 1 else ''}"
              for i, (ref, section) in enumerate(refs)]
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """Every page by file name: emtool.1, then emtool-COMMAND.1 for each entry of COMMANDS,
    then emtool-MODEL.7 for each registered model."""
    from emcli.models.registry import MODELS

    # Contexts built as click builds them, so that the subcommands inherit the group's
    # settings (its -h alias for --help) and their usage reads "emtool fit ...".
    root = click.Context(cli, info_name=PROG, **cli.context_settings)
    out = {f"{PROG}.1": render(cli, root)}
    for name in sorted(COMMANDS):
        command = cli.get_command(root, name)
        ctx = click.Context(command, info_name=name, parent=root, **command.context_settings)
        out[f"{_page_name(name)}.1"] = render(command, ctx, name)
    fit = cli.get_command(root, "fit")
    fit_ctx = click.Context(fit, info_name="fit", parent=root, **fit.context_settings)
    for spec in MODELS.values():
        out[f"{_page_name(spec.name)}.7"] = render_model(spec, fit, fit_ctx)
    return out


def _ours(directory: Path) -> list[Path]:
    """The files in ``directory`` named like our pages (others there are left alone)."""
    return sorted(path for path in [*directory.glob("*.1"), *directory.glob("*.7")]
                  if path.name == f"{PROG}.1" or path.name.startswith(f"{PROG}-"))


def check(directory: Path) -> list[str]:
    """What is out of date in ``directory``: one line per missing, differing or stale page."""
    expected = pages()
    problems = []
    for filename, text in expected.items():
        path = directory / filename
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the click definitions")
    problems += [f"{path}: no such command any more" for path in _ours(directory)
                 if path.name not in expected]
    return problems


def write(directory: Path) -> list[str]:
    """Bring ``directory`` up to date; return what was changed.  Pages that already match are
    not rewritten, and pages of commands that are gone are removed."""
    directory.mkdir(parents=True, exist_ok=True)
    expected = pages()
    changed = []
    for filename, text in expected.items():
        path = directory / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(f"wrote {path}")
    for path in _ours(directory):
        if path.name not in expected:
            path.unlink()
            changed.append(f"removed {path}")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emcli.cli.manpage",
                                     description="Write emtool's man pages into DIRECTORY.")
    parser.add_argument("directory", type=Path, metavar="DIRECTORY")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 listing the pages that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(f"run: python -m emcli.cli.manpage {args.directory}", file=sys.stderr)
        return 1 if problems else 0
    for change in write(args.directory):
        print(change)
    return 0


if __name__ == "__main__":
    sys.exit(main())
