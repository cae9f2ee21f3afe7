"""Where a command's passes over the rows run: here (the local engine) or on a Dask cluster."""

import contextlib
from collections.abc import Iterator

from emcli.errors import UsageError

ENGINES = ("local", "dask")


@contextlib.contextmanager
def engine(name: str, scheduler: str | None = None) -> Iterator:
    """None for the local engine; for "dask", a Dask client (emcli.cluster.client.connect) of
    the cluster at ``scheduler`` (or DASK_SCHEDULER_ADDRESS), else of a LocalCluster of as many
    worker processes as the command has worker threads (--threads), open while it runs."""
    if name == "local":
        if scheduler is not None:
            raise UsageError("--scheduler applies to --engine dask")
        yield None
        return
    from emcli.cluster.client import connect
    from emcli.em.workers import current

    with connect(scheduler, workers=current()) as client:
        yield client
