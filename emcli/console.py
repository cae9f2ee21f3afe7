"""Messages on stderr.  Warnings always show (unless --quiet); notes and progress bars only on a
terminal or with --verbose, so pipelines and cron jobs stay silent."""

import contextlib
import sys

_state = {"quiet": False, "verbose": False}
#: warnings about old option spellings, shown once the command has succeeded, so that a
#: failing command still prints its one error line only
_deprecations = []


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Set the output level for this invocation (from the options before the subcommand)."""
    _state.update(quiet=quiet, verbose=verbose)
    _deprecations.clear()


def deprecated(message: str) -> None:
    """A warning about an old spelling, held until the command succeeds (``flush``)."""
    _deprecations.append(message)


def flush() -> None:
    """Show the held warnings."""
    for message in _deprecations:
        warn(message)
    _deprecations.clear()


def enable(level: str) -> None:
    """Turn on "quiet" or "verbose" from an option given after the subcommand."""
    _state[level] = True


def verbose() -> bool:
    return _state["verbose"]


def _interactive() -> bool:
    return not _state["quiet"] and (_state["verbose"] or sys.stderr.isatty())


def warn(message: str) -> None:
    """A one-line warning: something the user should act on."""
    if not _state["quiet"]:
        print(f"emtool: warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    """A one-line note, shown only on a terminal or with --verbose."""
    if _interactive():
        print(f"emtool: {message}", file=sys.stderr)


def detail(message: str) -> None:
    """A one-line detail (the resolved options, timings), shown only with --verbose."""
    if _state["verbose"] and not _state["quiet"]:
        print(f"emtool: {message}", file=sys.stderr)


def report(text: str) -> None:
    """A summary of several lines (compress's sizes and distortion), shown like a note: on a
    terminal or with --verbose.  Pipelines that want it ask for --report FILE.json."""
    if _interactive():
        print(text, file=sys.stderr)


def error(message: str) -> None:
    """The one line an error is: line breaks inside the message (a library's, or a column name
    holding one) become visible escapes, so that a script reading stderr sees one line."""
    one_line = message.replace("\r", "\\r").replace("\n", "\\n")
    print(f"emtool: error: {one_line}", file=sys.stderr)


@contextlib.contextmanager
def progress(total: int, description: str):
    """Yield an ``advance()`` callable; draws a bar over ``total`` steps (``activity``) on a
    terminal only, and nothing for a single step."""
    if total <= 1:
        yield lambda *_: None
        return
    with activity(total, description) as shown:
        yield shown.advance


class _Activity:
    """What ``activity`` yields: ``advance()`` a step, ``detail(text)`` the line beside it;
    each redraws at most every REDRAW_SECONDS, so that a fit of many short iterations does not
    spend its time drawing."""

    REDRAW_SECONDS = 0.1

    def __init__(self, bar=None, task=None):
        self._bar, self._task, self._drawn = bar, task, 0.0

    def advance(self, *_) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def detail(self, text: str) -> None:
        import time

        now = time.monotonic()
        if self._bar is not None and now - self._drawn >= self.REDRAW_SECONDS:
            self._drawn = now
            self._bar.update(self._task, detail=text)


@contextlib.contextmanager
def activity(total: int | None, description: str):
    """Long work shown on a terminal only (nothing in a pipe, under --quiet): a bar over
    ``total`` steps, or a spinner when the steps are not known (None) or there is one, with a
    line of detail (an iteration and its score); yields an ``_Activity``."""
    if not sys.stderr.isatty() or _state["quiet"]:
        yield _Activity()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None and total > 1:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[detail]}")]
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield _Activity(bar, bar.add_task(description, total=total, detail=""))
