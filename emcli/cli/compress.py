"""emtool compress: vector-quantise an image or a table into a .emq file."""

import click

from emcli.cli import options


@options.command(aliases=options.OLD_INPUT_FORMAT)
@click.argument("data", metavar="INPUT")
@click.option("-o", "--output", required=True, metavar="FILE.emq",
              help="Where to write the compressed file ('-' is stdout).")
@click.option("-k", type=click.IntRange(min=2),
              help="Codebook entries (colours, or rows); each pixel or row takes ceil(log2 K) bits.")
@click.option("--target-psnr", type=options.Finite(max=1000), metavar="DB",
              help="Images: the smallest K whose PSNR reaches DB decibels (at most 1000; an 8-bit "
                   "image is reproduced exactly well below that).")
@click.option("--target-mse", type=options.Finite(min=0), metavar="MSE",
              help="The smallest K whose mean squared error per value (channel or cell) is at most MSE.")
@click.option("--max-bits", type=click.IntRange(min=1), metavar="BITS",
              help="The largest K whose theoretical size, codebook plus codes, is at most BITS.")
@click.option("--k-max", type=click.IntRange(min=2), default=4096, show_default=True,
              help="The largest K that --target-psnr, --target-mse or --max-bits may choose.")
@click.option("--sample", type=click.IntRange(min=1), metavar="N",
              help="Fit the codebook on N random pixels or rows (drawn with --seed), then code them all.")
@options.columns
@options.input_format
@options.standardize
@click.option("--codebook-dtype", type=click.Choice(["float32", "float64"]),
              help="Tables: the type of the codebook's values [default: float64].")
@options.run_options
@click.option("--report", "report_path", metavar="FILE.json",
              help="Also write the report as JSON.")
@options.verbosity
def compress(data, output, k, target_psnr, target_mse, max_bits, k_max, sample, columns, exclude, fmt,
             standardize, codebook_dtype, restarts, seed, max_iter, tol, chunk_bytes, report_path):
    """Compress INPUT, an image (PNG, JPEG or any format Pillow reads; RGB, RGBA or greyscale)
    or a table (CSV, TSV, Parquet, '-' for CSV on stdin), by vector quantisation.

    Fits k-means (k-means++ starts) to the pixels' colours or the rows' numeric columns and
    stores the codebook (uint8 for images; float64, or float32, for tables) and each pixel's or
    row's nearest entry in ceil(log2 K) bits. K above the number of distinct colours or rows is
    lowered to it, and the result is lossless. A table must have no missing cells.

    K is -k, or chosen by a target: --max-bits from the size formula alone; --target-psnr and
    --target-mse by fitting K = 2, 4, 8, ... until one meets the target, then bisecting. The
    bisection assumes the distortion falls as K grows; a warning says when it did not (k-means
    stops at local optima), as a smaller K might then also meet the target.

    On a terminal (or with -v) prints a report on stderr, and --report writes it as JSON: the
    original size in bits (24 N for N RGB pixels), the theoretical size (codebook bits +
    N ceil(log2 K)), the file's size, both as a fraction of the original, the mean squared
    error per value (and PSNR for images), K and the time.
    'emtool decompress' restores the image or table.

    \b
    Examples:
      emtool compress sample_data/scene.png -k 16 -o scene.emq
      emtool compress sample_data/scene.png --target-psnr 35 --report scene.json -o scene35.emq
      emtool compress sample_data/faithful.csv -k 8 --codebook-dtype float32 -o faithful.emq
    """
    import json
    import time

    from emcli import console
    from emcli.cli.report import show
    from emcli.io.atomic import check_outputs, write_bytes
    from emcli.vq import report
    from emcli.vq.compress import Goal, compress as run
    from emcli.vq.quantise import CODEBOOK
    from emcli.vq.source import load_source

    started = time.perf_counter()
    check_outputs([("-o", output), ("--report", report_path)], [data])
    source = load_source(data, fmt, columns, codebook_dtype, options.checked_exclude(columns, exclude))
    spec = CODEBOOK.but(restarts=restarts, seed=seed, max_iter=max_iter, tol=tol, chunk_bytes=chunk_bytes)
    with console.activity(None, "compressing") as shown:
        done = run(source, Goal(k, target_psnr, target_mse, max_bits, k_max, standardize), spec, sample, output,
                   started, on_try=lambda kk, distortion: shown.detail(f"K={kk}: {distortion}"))
    show(done.warnings, done.notes)
    write_bytes(output, done.payload)
    console.report(report.summary(done.doc, source, done.distinct))
    if report_path:
        write_bytes(report_path, (json.dumps(done.doc, indent=2, allow_nan=False) + "\n").encode())
