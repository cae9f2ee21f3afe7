"""emtool compress on a 12-megapixel photo-like image, K = 16, --sample 200000, against
scikit-learn's k-means and Pillow's median cut measured in the same run.

The image (4000 x 3000 RGB, smooth colour fields, shapes with sharp edges, Gaussian noise) is
made with a fixed seed and saved as PNG.  Ours is the whole ``emtool compress`` (read the PNG,
count colours, fit on the sample, code every pixel, pack, write the .emq), timed inside the
command (its report's ``seconds``) and as a subprocess (adding interpreter start-up and
imports); then ``emtool decompress`` to PNG and to BMP, as subprocesses.  The reference reads
the same PNG, fits scikit-learn's KMeans (k-means++, one start, its default tolerance) to the
same 200,000 pixels and predicts every pixel; Pillow's ``quantize(16)`` (median cut) is a
second, non-k-means reference.  Quality is the PSNR of each coding over all pixels.

    python benchmarks/bench_compress.py [--width 4000] [--height 3000] [-k 16] [--sample 200000]
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from _common import report

from emcli.vq.quantise import sample_rows  # noqa: E402  (after _common fixes sys.path)

EMTOOL = shutil.which("emtool", path=os.path.dirname(sys.executable)) or shutil.which("emtool")


def photo(width: int, height: int, seed: int = 0) -> np.ndarray:
    """(height, width, 3) uint8: smooth colour gradients, a few discs and boxes with sharp
    edges, and Gaussian noise of standard deviation 6, like a noisy photograph."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    image = np.empty((height, width, 3), dtype=np.float32)
    for c in range(3):
        a, b, p = rng.uniform(1.0, 4.0, size=3)
        image[:, :, c] = 128 + 60 * np.sin(a * x * 3 + p) * np.cos(b * y * 2) + 40 * (y - x) * (c - 1)
    for _ in range(12):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.15)
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        inside = (x - cx) ** 2 + ((y - cy) * height / width) ** 2 < r * r
        image[inside] = 0.6 * colour + 0.4 * image[inside]
    image += rng.normal(0.0, 6.0, size=image.shape).astype(np.float32)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = 0.0
    for start in range(0, len(a), 1 << 20):
        diff = a[start : start + (1 << 20)].astype(np.float64) - b[start : start + (1 << 20)]
        mse += float(np.einsum("ij,ij->", diff, diff))
    return 10 * math.log10(255.0**2 / (mse / a.size))


def timed(args: list, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, check=True)
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4000)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("-k", type=int, default=16)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, default=1.0,
                        help="required ratio reference seconds / ours (default 1: no slower)")
    args = parser.parse_args(argv)

    from PIL import Image
    from sklearn.cluster import KMeans

    from emcli.vq.container import read

    work = tempfile.mkdtemp(prefix="bench_compress.")
    try:
        pixels = photo(args.width, args.height, args.seed)
        Image.fromarray(pixels).save(os.path.join(work, "photo.png"), compress_level=1)
        n = args.width * args.height
        flat = pixels.reshape(n, 3)
        png_bytes = os.path.getsize(os.path.join(work, "photo.png"))
        del pixels

        wall = timed([EMTOOL, "compress", "photo.png", "-k", str(args.k), "--sample", str(args.sample),
                      "--seed", str(args.seed), "-o", "photo.emq", "--report", "r.json", "-q"], work)
        with open(os.path.join(work, "r.json")) as handle:
            ours = json.load(handle)
        decompress_png = timed([EMTOOL, "decompress", "photo.emq", "-o", "back.png"], work)
        decompress_bmp = timed([EMTOOL, "decompress", "photo.emq", "-o", "back.bmp"], work)
        stored = read(os.path.join(work, "photo.emq"))
        back = np.asarray(Image.open(os.path.join(work, "back.png"))).reshape(n, 3)
        exact = bool(np.array_equal(back, stored.codebook[stored.codes]))

        started = time.perf_counter()
        loaded = np.asarray(Image.open(os.path.join(work, "photo.png"))).reshape(n, 3)
        chosen = sample_rows(n, args.sample, args.seed)
        reference = KMeans(args.k, n_init=1, random_state=args.seed).fit(loaded[chosen].astype(np.float64))
        labels = reference.predict(loaded.astype(np.float64))
        ref_s = time.perf_counter() - started
        ref_psnr = psnr(flat, reference.cluster_centers_[labels])

        started = time.perf_counter()
        median_cut = Image.fromarray(flat.reshape(args.height, args.width, 3)).quantize(args.k)
        pillow_s = time.perf_counter() - started
        pillow_psnr = psnr(flat, np.asarray(median_cut.convert("RGB")).reshape(n, 3))
    finally:
        shutil.rmtree(work)

    fit = ours["fit"]
    ratio = ref_s / ours["seconds"]
    notes = [
        f"image: {args.width} x {args.height} RGB, {n:,} pixels, {png_bytes / 2**20:.1f} MiB as PNG",
        f"ours: emtool compress {ours['seconds']:.2f} s inside the command (fit {fit['fit_seconds']:.2f} s, "
        f"{fit['n_iter']} iterations; coding every pixel {fit['encode_seconds']:.2f} s), "
        f"{wall:.2f} s as a subprocess",
        f"ours: {ours['file_bytes']:,} bytes, {100 * ours['file_ratio']:.2f}% of the original "
        f"{ours['original_bits']:,} bits; theoretical {ours['theoretical_bits']:,} bits; PSNR {ours['psnr_db']:.2f} dB",
        f"emtool decompress as a subprocess: {decompress_png:.2f} s to PNG, {decompress_bmp:.2f} s to BMP; "
        f"PNG pixels equal codebook[codes]: {exact}",
        f"reference: read PNG + sklearn KMeans(n_init=1) on the same sample + predict all: {ref_s:.2f} s, "
        f"{reference.n_iter_} iterations, PSNR {ref_psnr:.2f} dB (centres not rounded)",
        f"Pillow quantize({args.k}) (median cut) on the loaded pixels: {pillow_s:.2f} s, PSNR {pillow_psnr:.2f} dB",
    ]
    return report(
        f"emtool compress: {args.width} x {args.height} RGB, K={args.k}, --sample {args.sample}",
        [{"name": "whole compress (seconds)", "ours": f"{ours['seconds']:.2f}", "reference": f"{ref_s:.2f}",
          "ratio": f"{ratio:.2f}", "target": f">= {args.target:g}", "passed": ratio >= args.target,
          "notes": notes},
         {"name": "PSNR (dB)", "ours": f"{ours['psnr_db']:.2f}", "reference": f"{ref_psnr:.2f}",
          "ratio": f"{ours['psnr_db'] - ref_psnr:+.2f}", "target": ">= -0.1 dB",
          "passed": ours["psnr_db"] - ref_psnr >= -0.1}],
    )


if __name__ == "__main__":
    sys.exit(main())
