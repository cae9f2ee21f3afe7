"""Joining a Dask cluster, or starting one on this machine."""

import contextlib
import logging
import os
from collections.abc import Iterator

from emcli.errors import UsageError

#: Dask's own variable for the scheduler to join
SCHEDULER_VARIABLE = "DASK_SCHEDULER_ADDRESS"


def require_dask() -> None:
    """UsageError naming the extra when dask or distributed is not installed."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        raise UsageError("--engine dask needs dask and distributed: pip install 'emtool[dask]'") from None


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int = 2) -> Iterator:
    """A distributed.Client of the scheduler at ``scheduler`` (else DASK_SCHEDULER_ADDRESS),
    or of a LocalCluster of ``workers`` single-threaded worker processes started for the
    command and closed after it."""
    require_dask()
    from distributed import Client, LocalCluster

    # Dask's own notices (a worker restarted, a task rescheduled) are not messages for a user:
    # what fails reaches them as one line (emcli.cluster.rows.gathered)
    logging.getLogger("distributed").setLevel(logging.ERROR)

    address = scheduler or os.environ.get(SCHEDULER_VARIABLE)
    if address:
        try:
            client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"--scheduler {address}: cannot reach a Dask scheduler there ({exc})") from None
        with client:
            yield client
        return
    # one thread per worker process, and one BLAS thread in it, as the local engine's threads
    single = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    # the scheduler's HTTP server on a free port: without an address it takes 8787, and a
    # second command running at once printed Dask's warning that the port was in use
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                      env=single, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        yield client
