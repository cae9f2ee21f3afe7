"""The compression report: sizes in bits (original, theoretical, actual file), their ratios, the
distortion and the time, as a JSON-ready dict and as the summary printed on stderr."""

import math

import numpy as np

from emcli.vq.container import bits_per_code


def psnr(mse: float, peak: float) -> float | None:
    """Peak signal-to-noise ratio 10 log10(peak^2 / MSE) in dB; None when MSE is 0 (lossless)."""
    return None if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def column_rmse(values: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """(D,) root mean squared error of each column of the (N, D) rows."""
    return np.sqrt(((values - decoded.astype(np.float64)) ** 2).mean(axis=0))


def build(source, coding, *, output: str, file_bytes: int, seconds: float, k_asked: int | None,
          target: dict | None, tried: list) -> dict:
    """The report of compressing ``source`` (a Source) into ``coding`` (a Coding) written as
    ``file_bytes`` bytes.  ``k_asked`` is -k (None when a ``target`` chose K); ``tried`` the
    (K, MSE) pairs a target search fit."""
    n, d, k = coding.codes.size, source.values.shape[1], coding.k
    codebook_bits = k * d * source.value_bits
    code_bits = n * bits_per_code(k)
    original = n * source.row_bits
    mse = coding.mse()
    out = {"input": source.name, "output": output, "kind": source.kind}
    if source.kind == "image":
        out.update(height=source.shape[0], width=source.shape[1], mode=source.mode, pixels=n, channels=d)
    else:
        out.update(rows=n, columns=source.columns)
    out.update({
        "k": k, "k_asked": k_asked, "target": target, "bits_per_code": bits_per_code(k),
        "codebook_dtype": source.dtype.name, "original_bits": original,
        "codebook_bits": codebook_bits, "code_bits": code_bits,
        "theoretical_bits": codebook_bits + code_bits, "file_bytes": file_bytes,
        "file_bits": 8 * file_bytes, "ratio": (codebook_bits + code_bits) / original,
        "file_ratio": 8 * file_bytes / original, "mse": mse, "lossless": coding.sse == 0,
    })
    if source.peak is not None:
        out["psnr_db"] = psnr(mse, source.peak)
    else:
        rmse = column_rmse(source.values, coding.codebook[coding.codes])
        out["rmse_by_column"] = dict(zip(source.columns, rmse.tolist()))
    out["seconds"] = seconds
    out["fit"] = coding.fit or None
    if tried:
        out["search"] = [_distortion(k, mse, source.peak) for k, mse in tried]
    return out


def _distortion(k: int, mse: float, peak: float | None) -> dict:
    row = {"k": k, "mse": mse}
    if peak is not None:
        row["psnr_db"] = psnr(mse, peak)
    return row


def describe(mse: float, peak: float | None) -> str:
    """A distortion in words: the MSE, and the PSNR for images."""
    if mse == 0:
        return "MSE 0 (lossless)"
    return f"MSE {mse:.4g}" + (f", PSNR {psnr(mse, peak):.2f} dB" if peak is not None else "")


def summary(report: dict, source, distinct: int) -> str:
    """The report on ``source`` (a Source) as a few lines for stderr; ``distinct`` the input's
    distinct rows, to explain a lowered K."""
    n = len(source.values)
    what = (f"{report['width']} x {report['height']} {report['mode']} image" if source.kind == "image"
            else f"{n:,} rows x {len(report['columns'])} columns")
    k = f"K = {report['k']}"
    if report["k_asked"] is not None and report["k_asked"] > report["k"]:
        k += f" ({report['k_asked']} asked; the input has only {distinct} distinct {source.distinct_name})"
    elif report["target"]:
        k += f" (searched: {', '.join(str(row['k']) for row in report['search'])})" if "search" in report else " (by --max-bits)"
    width = len(f"{report['original_bits']:,}")
    return "\n".join([
        f"{report['input']} -> {report['output']}: {what}, {k}, {report['bits_per_code']} "
        f"bit{'' if report['bits_per_code'] == 1 else 's'} per code, "
        f"{report['seconds']:.2f} s",
        f"  original     {report['original_bits']:>{width},} bits  "
        f"({source.row_bits:,} bits x {n:,} {source.unit}s)",
        f"  theoretical  {report['theoretical_bits']:>{width},} bits  {100 * report['ratio']:.2f}% of the original  "
        f"(codebook {report['codebook_bits']:,} + codes {report['code_bits']:,})",
        f"  file         {report['file_bits']:>{width},} bits  {100 * report['file_ratio']:.2f}% of the original  "
        f"({report['file_bytes']:,} bytes)",
        f"  distortion   {describe(report['mse'], source.peak)}"
        + (" (standardised units)" if "standardized" in report else ""),
    ])
