"""Interrupts and terminations (SIGINT, SIGTERM, SIGHUP).  Before any output is in place one
stops the command: the temporary files are removed on the way out and nothing is written, exit
128 + the signal's number.  Once the first output is being put in place (a rename, a write to
standard output) the command finishes instead, so that its outputs are all there or none.

The signal is also remembered (emcli.stopping): a library that swallows the exception (pyarrow
importing pandas does) only delays the stop to the next E-step chunk, and no output is put in
place once a signal has arrived."""

import signal
import sys

from emcli.errors import Stopped

NAMES = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


def message(stopped: Stopped) -> str:
    """The one line for a command stopped by a signal."""
    return NAMES.get(signal.Signals(stopped.signum).name, "stopped")


def _handler(signum, frame):
    from emcli import stopping
    from emcli.io import atomic

    if not atomic.state["committed"]:
        stopping.request(signum)
        raise Stopped(signum)


def _quiet_unraisable(unraisable) -> None:
    """A stop raised where Python cannot raise it (a callback of the import machinery, when
    the signal arrives during an import) is printed as 'Exception ignored in ...' by default:
    not a line for the user, and not lost, since emcli.stopping remembers it for the next
    check.  Anything else goes to Python's own hook."""
    if not isinstance(unraisable.exc_value, Stopped):
        sys.__unraisablehook__(unraisable)


def install() -> dict:
    """Handle the signals for this invocation; returns the handlers to ``restore``."""
    from emcli import stopping
    from emcli.io import atomic

    atomic.state["committed"] = False
    stopping.reset()
    sys.unraisablehook = _quiet_unraisable
    previous = {}
    for name in NAMES:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, _handler)
    return previous


def block() -> None:
    """The process is leaving: ignore the signals.  The interpreter's shutdown puts the default
    handler back for every signal with a Python handler (not for one ignored), and a SIGTERM
    then, delivered to any of the process's threads, ended it with status -15 after its work."""
    for name in NAMES:
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, signal.SIG_IGN)


def finish(previous: dict) -> None:
    """The command is done: later signals are ignored by our handler (the outputs are in place
    or the error is said), and the handlers before ``install`` come back."""
    from emcli.io import atomic

    atomic.state["committed"] = True
    for number, handler in previous.items():
        signal.signal(number, handler)
