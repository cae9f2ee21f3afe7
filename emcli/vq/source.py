"""What ``emtool compress`` reads: an image or a table, as rows to quantise and the facts the
container and the report need."""

from dataclasses import dataclass

import numpy as np

from emcli.errors import DataError, UsageError
from emcli.io.formats import STDIO, table_format


@dataclass
class Source:
    """Rows (N, D) to quantise, uint8 pixels or float64 table rows, and how to store them:
    ``shape`` (height, width) of an image in ``mode``, or (rows,) of a table with ``columns``;
    ``row_bits`` the bits of one row as read (24 for an RGB pixel); ``dtype`` the codebook's."""

    name: str
    kind: str
    values: np.ndarray
    shape: tuple
    row_bits: int
    dtype: np.dtype
    mode: str | None = None
    columns: list | None = None

    @property
    def unit(self) -> str:
        return "pixel" if self.kind == "image" else "row"

    @property
    def distinct_name(self) -> str:
        """What distinct rows are called in messages."""
        return "colours" if self.kind == "image" else "rows"

    @property
    def peak(self) -> float | None:
        """The largest value a channel can take, for PSNR: 255 for 8-bit images; None for tables."""
        return 255.0 if self.kind == "image" else None

    @property
    def value_bits(self) -> int:
        return self.dtype.itemsize * 8


def is_table(path: str, fmt: str | None) -> bool:
    """Whether ``path`` is read as a table (by ``fmt``, ``-`` or its extension) or as an image."""
    if fmt or path == STDIO:
        return True
    try:
        table_format(path)
    except UsageError:
        return False
    return True


def load_source(path: str, fmt: str | None, columns: list | None, codebook_dtype: str | None,
                exclude: list | None = None) -> Source:
    """The rows of ``path``; ``columns`` (or ``exclude``), ``fmt`` and ``codebook_dtype``
    (float32 or float64, default float64) are for tables only, a UsageError for an image."""
    if is_table(path, fmt):
        from emcli.vq.tables import read_rows

        names, X, row_bits = read_rows(path, fmt, columns, exclude)
        if codebook_dtype == "float32":
            wide = np.flatnonzero(np.abs(X).max(axis=0, initial=0.0) > np.finfo(np.float32).max)
            if wide.size:
                raise DataError(f"{path}: column {names[int(wide[0])]!r} holds values beyond float32's "
                                "range; use --codebook-dtype float64")
        return Source(path, "table", X, (len(X),), row_bits, np.dtype(codebook_dtype or "float64"),
                      columns=names)
    for flag, value in (("--columns", columns), ("--exclude", exclude), ("--codebook-dtype", codebook_dtype)):
        if value is not None:
            raise UsageError(f"{flag} is for tables; {path} is read as an image (its codebook is uint8)")
    from emcli.io.images import read_image

    pixels = read_image(path)
    return Source(path, "image", pixels.values, (pixels.height, pixels.width), 8 * len(pixels.mode),
                  np.dtype(np.uint8), mode=pixels.mode)
