"""``emtool predict --engine dask``: each part of DATA predicted by a worker into a Parquet
part of its own, in a new directory, so that no row passes through the client.  Part i of the
output holds part i of the input (parts in name order, as the fit reads them) with the new
columns appended.  The parts are written into a hidden directory beside the output, renamed
to it once every part is written: the output directory is complete or absent."""

import os
import shutil

from emcli.errors import UsageError


def _predict_part(job: tuple, model, params, columns: list, fmt: str | None, directory: str,
                  options: dict) -> int:
    """Part ``job`` = (index, (path, name)) predicted into ``directory``/part-INDEX.parquet;
    its number of rows."""
    from emcli.pipeline import Source
    from emcli.predict import predict_file

    index, (path, _) = job
    predict_file(model, params, columns, Source(path, fmt), os.path.join(directory, f"part-{index:05d}.parquet"),
                 "parquet", **options)
    return index


def predict_parts(client, model, params, columns: list, data: str, fmt: str | None, output: str,
                  **options) -> None:
    """Predict every part of ``data`` (emcli.cluster.source.part_files) into the new directory
    ``output``; ``options`` as emcli.predict.predict_file takes them."""
    from emcli.cluster.rows import gathered
    from emcli.cluster.source import located_parts

    if output == "-" or os.path.exists(output):
        raise UsageError(f"-o {output}: --engine dask writes a new directory of Parquet parts; "
                         "name one that does not exist")
    parts = located_parts(data)
    partial = os.path.join(os.path.dirname(os.path.abspath(output)), f".{os.path.basename(output)}.partial-{os.getpid()}")
    os.makedirs(partial)
    try:
        futures = client.map(_predict_part, list(enumerate(parts)), model=model, params=params, columns=columns,
                             fmt=fmt, directory=partial, options=options, pure=False)
        gathered(client, futures)
        os.rename(partial, output)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
