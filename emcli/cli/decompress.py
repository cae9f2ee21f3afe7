"""emtool decompress: restore the image or table a .emq file holds."""

import click

from emcli.cli import options

_BLOCK_BYTES = 4 << 20  # decoded values written per step, whatever the table's size


@options.command()
@click.argument("path", metavar="FILE.emq")
@click.option("-o", "--output", required=True, metavar="OUTPUT",
              help="The image (format by extension: .png, .bmp, .tif, .webp, .gif, .jpg) or table "
                   "(.csv, .tsv, .parquet; '-' is CSV on stdout) to write.")
@click.option("--max-output", type=options.ByteSize(), default="1G", show_default=True,
              help="Refuse a file that decodes to more values than this (rows x values x their "
                   "bytes), before decoding any: a one-colour codebook's codes take no bits, so a "
                   "tiny file may claim any size.")
@options.verbosity
def decompress(path, output, max_output):
    """Decode FILE.emq ('-' for standard input), written by 'emtool compress', to OUTPUT.

    Every pixel or row becomes its codebook entry, exactly: an image in its original mode (RGB,
    RGBA, L or LA), or a table with the original column names and the codebook's type (float64
    or float32). A file that is not a .emq file, or that is truncated or corrupted (its checksum
    does not match), is an error and nothing is written, as is one that would decode to more
    than --max-output bytes of values (checked before decoding). JPEG is lossy: use PNG to keep the
    decoded pixels exactly.

    \b
    Examples:
      emtool compress sample_data/scene.png -k 16 -o scene.emq && emtool decompress scene.emq -o scene16.png
      emtool compress sample_data/faithful.csv -k 8 -o faithful.emq && emtool decompress faithful.emq -o faithful8.csv
      emtool compress sample_data/faithful.csv -k 4 -o - | emtool decompress - -o -
    """
    import os

    from emcli import console
    from emcli.errors import UsageError
    from emcli.io.atomic import STDOUT, check_outputs
    from emcli.io.formats import table_format
    from emcli.vq.container import read

    check_outputs([("-o", output)], [path])
    quantised = read(path, max_output)
    if quantised.kind == "image":
        from emcli.io.images import image_format, write_image

        if output == STDOUT:
            raise UsageError(f"{path} holds an image; give -o an image file name such as out.png")
        fmt = image_format(output)
        if fmt is None:
            raise UsageError(f"{path} holds an image; write it to an image file (.png, .bmp, .tif, "
                             f".webp, .gif or .jpg), not {os.path.basename(output)}")
        height, width = quantised.shape
        write_image(output, fmt, quantised.values(), width, height, quantised.mode)
        console.note(f"wrote {output}: {width} x {height} {quantised.mode}, {len(quantised.codebook)} colours")
        return
    from emcli.vq.tables import write_rows

    try:
        table_format(output)
    except UsageError:
        raise UsageError(f"{path} holds a table; write it to .csv, .tsv or .parquet, not "
                         f"{os.path.basename(output)}") from None
    rows = max(1, _BLOCK_BYTES // (quantised.decoded_bytes // quantised.n))
    write_rows(output, quantised.columns, quantised.blocks(rows), quantised.codebook.dtype)
    console.note(f"wrote {output}: {quantised.n} rows x {len(quantised.columns)} columns, "
                 f"{len(quantised.codebook)} distinct rows")
