"""Images as rows of 8-bit pixels, read and written with Pillow.

Compression works on Pillow modes L (greyscale), LA, RGB and RGBA; other 8-bit modes are
converted first (palette images to RGB, or RGBA when they have a transparent colour; bilevel to
L; CMYK, YCbCr and the like to RGB), and the original size counts the converted channels.
Images of more than 8 bits per channel (modes I;16, I, F) are refused rather than truncated.
"""

import os
from dataclasses import dataclass

import numpy as np

from emcli import console
from emcli.errors import DataError, UsageError

IMAGE_MODES = ("L", "LA", "RGB", "RGBA")  # Pillow modes of 8-bit channels, one letter each
_CONVERT = {"1": "L", "PA": "RGBA", "La": "LA", "RGBa": "RGBA"}
_WIDE = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")
_LOSSY = ("JPEG", "MPO")
_SAVE_OPTIONS = {"WEBP": {"lossless": True}}


@dataclass
class Pixels:
    """The (height x width, channels) uint8 pixels of an image in ``mode``, row by row."""

    values: np.ndarray
    width: int
    height: int
    mode: str


def read_image(path: str) -> Pixels:
    """The pixels of the image at ``path`` (its first frame); DataError naming the file for a
    missing, unreadable or truncated image or one of more than 8 bits per channel."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not an image")
    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) > 1:
                console.note(f"{path} has {image.n_frames} frames; compressing the first")
            image.load()
            image = _to_compressible(image, path)
            values = np.asarray(image, dtype=np.uint8).reshape(image.height * image.width, len(image.mode))
            return Pixels(np.ascontiguousarray(values), image.width, image.height, image.mode)
    except UnidentifiedImageError:
        raise DataError(f"{path} is neither a table (CSV, TSV, Parquet) nor an image Pillow can read") from None
    except Image.DecompressionBombError as exc:
        raise DataError(f"{path}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image ({exc})") from None


def _to_compressible(image, path: str):
    """``image`` in one of IMAGE_MODES, converting with a note when needed."""
    mode = image.mode
    if mode in IMAGE_MODES:
        return image
    if mode in _WIDE:
        raise DataError(f"{path} has more than 8 bits per channel (Pillow mode {mode}); "
                        "compress takes 8-bit images: convert it to 8 bits first")
    if mode == "P":
        target = "RGBA" if "transparency" in image.info else "RGB"
    else:
        target = _CONVERT.get(mode, "RGB")
    console.note(f"{path}: converting Pillow mode {mode} to {target}")
    return image.convert(target)


def image_format(path: str) -> str | None:
    """Pillow's format name for writing ``path``, by its extension; None if there is none."""
    from PIL import Image

    Image.init()
    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    return fmt if fmt in Image.SAVE else None


def write_image(path: str, fmt: str, values: np.ndarray, width: int, height: int, mode: str) -> None:
    """Write the (height x width, channels) uint8 pixels ``values`` atomically to ``path`` in
    Pillow's format ``fmt`` (WebP lossless; JPEG is lossy, which a note says)."""
    from PIL import Image

    from emcli.io.atomic import atomic_path

    if fmt in _LOSSY:
        console.note(f"{fmt} is lossy: {path} will not hold the decoded pixels exactly (PNG would)")
    image = Image.frombytes(mode, (width, height), np.ascontiguousarray(values, dtype=np.uint8).tobytes())
    try:
        with atomic_path(path) as tmp:
            image.save(tmp, format=fmt, **_SAVE_OPTIONS.get(fmt, {}))
    except (OSError, ValueError, KeyError) as exc:
        raise UsageError(f"{fmt} cannot hold {mode} images ({exc}); give {path} another extension, such as .png") from None
