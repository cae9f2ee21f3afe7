"""Interrupts and terminations (SIGINT, SIGTERM, SIGHUP).  Before any output is in place one
stops the command: the temporary files are removed on the way out and nothing is written, exit
128 + the signal's number.  Once the first output is being put in place (a rename, a write to
standard output) the command finishes instead, so that its outputs are all there or none."""

import signal

NAMES = {"SIGINT": "interrupted", "SIGTERM": "terminated", "SIGHUP": "hung up"}


class Stopped(BaseException):
    """A signal arrived before any output was in place."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def message(self) -> str:
        return NAMES.get(signal.Signals(self.signum).name, "stopped")


def _handler(signum, frame):
    from emcli.io import atomic

    if not atomic.state["committed"]:
        raise Stopped(signum)


def install() -> dict:
    """Handle the signals for this invocation; returns the handlers to ``restore``."""
    from emcli.io import atomic

    atomic.state["committed"] = False
    previous = {}
    for name in NAMES:
        number = getattr(signal, name, None)
        if number is not None:
            previous[number] = signal.signal(number, _handler)
    return previous


def restore(previous: dict) -> None:
    for number, handler in previous.items():
        signal.signal(number, handler)
