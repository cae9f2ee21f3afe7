"""A stop asked for by a signal (emcli.cli.signals), checked where work can end cleanly: between
E-step chunks and before an output is put in place.  The signal handler raises at once; this
check catches the stop that a library swallowed on the way (pyarrow's lazy import of pandas
does), so that the command still ends promptly with nothing written."""

from emcli.errors import Stopped

_asked = {"signum": None}


def request(signum: int) -> None:
    _asked["signum"] = signum


def reset() -> None:
    _asked["signum"] = None


def check() -> None:
    """Raise Stopped when a signal has asked the command to stop."""
    if _asked["signum"] is not None:
        raise Stopped(_asked["signum"])
