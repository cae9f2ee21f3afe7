"""Where a command's passes over the rows run: here (the local engine) or on a Dask cluster."""

import contextlib
from collections.abc import Iterator

from emcli.errors import UsageError

ENGINES = ("local", "dask")


@contextlib.contextmanager
def engine(name: str, scheduler: str | None = None, persist: bool = False) -> Iterator:
    """None for the local engine; for "dask", a Dask client (emcli.cluster.client.connect) of
    the cluster at ``scheduler`` (or DASK_SCHEDULER_ADDRESS), else of a LocalCluster of as many
    worker processes as the command has worker threads (--threads), open while it runs.
    ``scheduler`` and ``persist`` given to the local engine are a UsageError."""
    if name == "local":
        for flag, given in (("--scheduler", scheduler is not None), ("--persist", persist)):
            if given:
                raise UsageError(f"{flag} applies to --engine dask")
        yield None
        return
    from emcli.cluster.client import connect
    from emcli.em.workers import current

    with connect(scheduler, workers=current()) as client:
        yield client
