"""What ``emtool compress`` does between parsing options and writing: read the source, choose K
(given, by a bit budget, or by a distortion target), fit and code, pack the container, and
build the report, with the warnings as data."""

import time
from dataclasses import dataclass, field

import numpy as np

from emcli.errors import UsageError
from emcli.standardize import Standardization
from emcli.vq import container, report, search
from emcli.pipeline import FitSpec
from emcli.vq.quantise import Coding, count_distinct, encode, quantise
from emcli.vq.source import Source


@dataclass(frozen=True)
class Goal:
    """How K is chosen: exactly one of ``k``, ``psnr`` (dB, images), ``mse`` and ``max_bits``;
    ``k_max`` bounds a search."""

    k: int | None = None
    psnr: float | None = None
    mse: float | None = None
    max_bits: int | None = None
    k_max: int = 4096
    standardize: bool = False

    def check(self, source: Source) -> None:
        chosen = [flag for flag, value in (("-k", self.k), ("--target-psnr", self.psnr),
                                           ("--target-mse", self.mse), ("--max-bits", self.max_bits))
                  if value is not None]
        if len(chosen) != 1:
            raise UsageError("give one of -k, --target-psnr, --target-mse and --max-bits"
                             + (f", not {' and '.join(chosen)}" if chosen else ""))
        if self.psnr is not None and source.peak is None:
            raise UsageError("--target-psnr is for images; give a table --target-mse")
        if self.standardize and source.kind == "image":
            raise UsageError("--standardize is for tables, whose columns' scales differ; an image's channels share one")


@dataclass
class Compressed:
    """The .emq file's bytes, the report document, the distinct rows, and the messages."""

    payload: bytes
    doc: dict
    distinct: int
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def standardized_coding(X: np.ndarray, transform, k: int, dtype: np.dtype, spec: FitSpec, sample: int | None,
                        unit: str, distinct: int) -> Coding:
    """The coding of the rows X (N, D) fit in standardised units (emcli.standardize): the
    codebook stored in the data's units and ``dtype``, every row coded as the entry nearest in
    standardised units, the squared error measured there (each column's error relative to its
    spread), against the stored entries as decompress gives them."""
    Z = transform.forward(X.astype(np.float64))
    fitted = quantise(Z, k, np.dtype(np.float64), spec, sample, unit, distinct)
    stored = transform.inverse(fitted.codebook).astype(dtype)
    codes, sse = encode(Z, transform.forward(stored.astype(np.float64)))
    return Coding(stored, codes, sse, fitted.fit, fitted.warnings)


def compress(source: Source, goal: Goal, spec: FitSpec, sample: int | None, output: str,
             started: float, on_try=None) -> Compressed:
    """Quantise ``source`` as ``goal`` asks, fitting codebooks as ``spec`` says (on ``sample``
    of the rows, if given); ``on_try(k, distortion)`` after each codebook a search for K
    tried (a progress display), the distortion in words."""
    goal.check(source)
    (n, d), unit = source.values.shape, source.unit
    notes, warnings = [], []
    if sample is not None and sample >= n:
        notes.append(f"--sample {sample} covers all {n} {unit}s; fitting on every one")
    distinct = count_distinct(source.values)

    transform = Standardization.of(source.values.astype(np.float64)) if goal.standardize else None

    def code(kk):
        if transform is None:
            coding = quantise(source.values, kk, source.dtype, spec, sample, unit, distinct)
        else:
            coding = standardized_coding(source.values, transform, kk, source.dtype, spec, sample, unit, distinct)
        if on_try is not None:
            on_try(kk, report.describe(coding.mse(), source.peak))
        return coding

    tried, target = [], None
    if goal.k is not None:
        if goal.k > distinct:
            notes.append(f"K = {goal.k} is more than the {distinct} distinct {source.distinct_name}: "
                         f"K lowered to {distinct}, one codebook entry each")
        coding = code(goal.k)
    elif goal.max_bits is not None:
        target = {"max_bits": goal.max_bits}
        coding = code(search.largest_k_within(goal.max_bits, n, d, source.value_bits,
                                               min(goal.k_max, distinct)))
    else:
        target = {"psnr_db": goal.psnr} if goal.psnr is not None else {"mse": goal.mse}
        mse = goal.mse if goal.psnr is None else source.peak**2 / 10 ** (goal.psnr / 10)
        coding, tried, rose = search.smallest_k_meeting(code, mse, min(goal.k_max, distinct),
                                                        lambda e: report.describe(e, source.peak))
        warnings.extend(rose)
    warnings.extend(coding.warnings)
    packed = container.Quantised(source.kind, source.shape, coding.codebook, coding.codes,
                                 source.mode, source.columns)
    payload = container.encode(packed)
    doc = report.build(source, coding, output=output, file_bytes=len(payload),
                       seconds=time.perf_counter() - started, k_asked=goal.k, target=target, tried=tried)
    if transform is not None:
        doc["standardized"] = {"center": transform.center.tolist(), "scale": transform.scale.tolist()}
    return Compressed(payload, doc, distinct, warnings, notes)
