"""The errors emtool reports to its users, each with the exit status it maps to.

Status 2 means bad usage or bad input (nothing was computed or written); status 1 means the
computation itself failed.
"""


class EmtoolError(Exception):
    """Base class: a one-line message meant for the user."""

    exit_code = 1


class UsageError(EmtoolError):
    """Options that do not fit together, or a capability a model lacks."""

    exit_code = 2


class DataError(EmtoolError):
    """A table that cannot be used: unreadable, empty, non-numeric, non-finite, too few rows."""

    exit_code = 2


class ModelFileError(EmtoolError):
    """A model file that is not valid JSON, of another format or version, or with bad fields."""

    exit_code = 2


class PipeClosed(EmtoolError):
    """The reader of standard output went away (``emtool ... | head``): status 141, as a
    process killed by SIGPIPE, and no message, as other Unix tools."""

    exit_code = 141


class Stopped(BaseException):
    """A signal (SIGINT, SIGTERM, SIGHUP) arrived before any output was in place; see
    emcli.cli.signals.  A BaseException, as KeyboardInterrupt, so that no ``except Exception``
    keeps the command going."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class Unsound(EmtoolError):
    """--strict: the fit finished but is not to be trusted (it did not converge, or a component
    is degenerate).  Status 3, so that a script tells it from bad input (2) and failure (1)."""

    exit_code = 3


class FitError(EmtoolError):
    """The fit could not produce a model (for example every restart failed)."""

    exit_code = 1
