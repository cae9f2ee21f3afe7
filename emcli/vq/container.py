"""The ``.emq`` container: a vector-quantised image or table, its codebook and its codes.

Layout (version 1; integers little-endian)::

    offset 0         magic, 8 bytes: 89 'E' 'M' 'Q' 0D 0A 1A 0A
    offset 8         format version, uint16 (1)
    offset 10        header length H, uint32
    offset 14        header, H bytes of UTF-8 JSON (see ``Quantised.header``)
    14 + H           codebook, K x D values of the header's codebook_dtype, row by row
    then             codes, ceil(N b / 8) bytes: N codes of b = ceil(log2 K) bits each, most
                     significant bit first, the last byte padded with zero bits
    last 4 bytes     CRC-32 (zlib.crc32) of every byte before it, uint32

Like PNG's signature, the magic's non-ASCII first byte and its CR LF / ^Z / LF catch files
mangled by text-mode transfers.  The header holds only what decoding needs, none of the fit's
results, so a file's size is known from K and the shape before any fitting.
"""

import json
import math
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from emcli.errors import DataError
from emcli.io.images import IMAGE_MODES

MAGIC = b"\x89EMQ\r\n\x1a\n"
VERSION = 1
_PREFIX = struct.Struct("<8sHI")  # magic, version, header length
_CHECKSUM = struct.Struct("<I")
CODEBOOK_DTYPES = ("uint8", "float32", "float64")
_CHUNK = 1 << 16  # codes packed per step, a multiple of 8 so that every step fills whole bytes


def bits_per_code(k: int) -> int:
    """ceil(log2 K): 0 for a one-entry codebook, whose codes need no bits at all."""
    return (k - 1).bit_length()


def theoretical_bits(k: int, n: int, d: int, value_bits: int) -> int:
    """Codebook bits (K x D values of ``value_bits``) plus N codes of ceil(log2 K) bits."""
    return k * d * value_bits + n * bits_per_code(k)


@dataclass
class Quantised:
    """What a ``.emq`` file holds: ``kind`` "image" (``shape`` (height, width), ``mode``) or
    "table" (``shape`` (rows,), ``columns``), the (K, D) codebook and the (N,) codes."""

    kind: str
    shape: tuple
    codebook: np.ndarray
    codes: np.ndarray
    mode: str | None = None
    columns: list | None = None

    @property
    def n(self) -> int:
        return math.prod(self.shape)

    def header(self) -> dict:
        out = {"kind": self.kind, "shape": list(self.shape)}
        out.update({"mode": self.mode} if self.kind == "image" else {"columns": list(self.columns)})
        out.update(k=len(self.codebook), bits=bits_per_code(len(self.codebook)),
                   codebook_dtype=self.codebook.dtype.name)
        return out

    @property
    def decoded_bytes(self) -> int:
        """Bytes of the decoded values: N rows of D values of the codebook's dtype."""
        return decoded_bytes(self.header())

    def values(self) -> np.ndarray:
        """(N, D) the decoded rows, codebook[codes]."""
        return self.codebook[self.codes]

    def blocks(self, rows: int) -> Iterator[np.ndarray]:
        """The decoded rows, ``rows`` at a time: (at most rows, D) arrays, so that a table is
        written without holding all of it."""
        for start in range(0, len(self.codes), rows):
            yield self.codebook[self.codes[start : start + rows]]


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """The (N,) codes, each below 2**bits, as ceil(N bits / 8) bytes, most significant bit first."""
    if bits == 0:
        return b""
    shifts = np.arange(bits - 1, -1, -1, dtype=np.uint32)
    pieces = []
    for start in range(0, len(codes), _CHUNK):
        block = codes[start : start + _CHUNK].astype(np.uint32)
        pieces.append(np.packbits(((block[:, None] >> shifts) & 1).astype(np.uint8)).tobytes())
    return b"".join(pieces)


def unpack_codes(payload: bytes, bits: int, n: int) -> np.ndarray:
    """(n,) codes from ``pack_codes``'s bytes, as the smallest unsigned integer type that holds them."""
    dtype = np.uint8 if bits <= 8 else np.uint16 if bits <= 16 else np.uint32
    codes = np.zeros(n, dtype=dtype)
    if bits == 0:
        return codes
    raw = np.frombuffer(payload, dtype=np.uint8)
    step = _CHUNK * bits // 8
    for i, start in enumerate(range(0, n, _CHUNK)):
        count = min(_CHUNK, n - start)
        planes = np.unpackbits(raw[i * step : i * step + (count * bits + 7) // 8])[: count * bits]
        planes = planes.reshape(count, bits)
        block = codes[start : start + count]
        for j in range(bits):
            block <<= 1
            block |= planes[:, j]
    return codes


def encode(q: Quantised) -> bytes:
    """The ``.emq`` file's bytes."""
    header = json.dumps(q.header(), separators=(",", ":"), ensure_ascii=False).encode()
    codebook = np.ascontiguousarray(q.codebook, dtype=q.codebook.dtype.newbyteorder("<"))
    body = (_PREFIX.pack(MAGIC, VERSION, len(header)) + header + codebook.tobytes()
            + pack_codes(q.codes, bits_per_code(len(q.codebook))))
    return body + _CHECKSUM.pack(zlib.crc32(body))


def read(path: str, max_output: int | None = None) -> Quantised:
    """Read and check a ``.emq`` file (``-``: standard input); DataError naming the file for
    anything else: another kind of file, another version, a truncated or corrupted file, or
    one that decodes to more than ``max_output`` bytes."""
    if path == "-":
        return decode(sys.stdin.buffer.read(), "standard input", max_output)
    try:
        with open(path, "rb") as handle:
            payload = handle.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a .emq file") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return decode(payload, path, max_output)


def decode(payload: bytes, name: str, max_output: int | None = None) -> Quantised:
    """The Quantised that ``encode`` wrote as ``payload``; ``name`` is for messages.

    The decoded size is checked against ``max_output`` before any of it is built: codes of
    ceil(log2 K) bits bound the rows by the file's size, but a one-entry codebook's codes take
    no bits, so a file of a hundred bytes may claim any number of rows."""
    if len(payload) < _PREFIX.size + _CHECKSUM.size or payload[:8] != MAGIC:
        raise DataError(f"{name} is not a .emq file (written by 'emtool compress')")
    _, version, header_length = _PREFIX.unpack_from(payload)
    if version != VERSION:
        raise DataError(f"{name} is .emq version {version}; this emtool reads version {VERSION}")
    start = _PREFIX.size + header_length
    header = _parse_header(payload[_PREFIX.size : start])
    expected = start + _CHECKSUM.size + (sum(_section_sizes(header)) if header else 0)
    if len(payload) < expected:
        raise DataError(f"{name} is truncated: {len(payload)} bytes"
                        + (f" of {expected}" if header else ", shorter than its header says"))
    end = expected if header else len(payload)
    if _CHECKSUM.unpack_from(payload, end - _CHECKSUM.size)[0] != zlib.crc32(payload[: end - _CHECKSUM.size]):
        raise DataError(f"{name} is corrupted (its checksum does not match its contents)")
    if header is None:
        raise DataError(f"{name} has an invalid header")
    if len(payload) > expected:
        raise DataError(f"{name} has {len(payload) - expected} bytes after its end")
    if max_output is not None and decoded_bytes(header) > max_output:
        raise DataError(f"{name} decodes to {_shape_text(header)}, {decoded_bytes(header):,} bytes, more "
                        f"than --max-output ({max_output:,} bytes); raise --max-output to decode it")
    codebook_bytes, code_bytes = _section_sizes(header)
    k, dtype = header["k"], np.dtype(header["codebook_dtype"])
    codebook = np.frombuffer(payload, dtype=dtype.newbyteorder("<"), count=k * _width(header),
                             offset=start).reshape(k, _width(header)).astype(dtype)
    if not np.isfinite(codebook).all():
        raise DataError(f"{name} is corrupted (its codebook holds a value that is not a finite number)")
    n = math.prod(header["shape"])
    codes = unpack_codes(payload[start + codebook_bytes : start + codebook_bytes + code_bytes],
                         header["bits"], n)
    if int(codes.max()) >= k:
        raise DataError(f"{name} is corrupted (a code exceeds the codebook's {k} entries)")
    return Quantised(header["kind"], tuple(header["shape"]), codebook, codes,
                     header.get("mode"), header.get("columns"))


def _parse_header(raw: bytes) -> dict | None:
    """The header's fields, checked; None if ``raw`` is not a valid header."""
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(header, dict):
        return None
    kind, shape, k, columns = header.get("kind"), header.get("shape"), header.get("k"), header.get("columns")
    if not (_is_int(k) and k >= 1 and header.get("bits") == bits_per_code(k)
            and header.get("codebook_dtype") in CODEBOOK_DTYPES):
        return None
    if kind == "image" and header.get("mode") in IMAGE_MODES and _sizes_list(shape, 2):
        return header
    if (kind == "table" and _sizes_list(shape, 1) and isinstance(columns, list) and columns
            and all(isinstance(c, str) for c in columns) and len(set(columns)) == len(columns)):
        return header
    return None


def _width(header: dict) -> int:
    """D, the values per codebook entry: one per channel (a mode's letters) or per column."""
    return len(header["mode"]) if header["kind"] == "image" else len(header["columns"])


def decoded_bytes(header: dict) -> int:
    """Bytes of the values a header describes: N x D values of its codebook's dtype."""
    return math.prod(header["shape"]) * _width(header) * np.dtype(header["codebook_dtype"]).itemsize


def _shape_text(header: dict) -> str:
    if header["kind"] == "image":
        height, width = header["shape"]
        return f"a {width} x {height} {header['mode']} image"
    return f"{header['shape'][0]:,} rows x {len(header['columns'])} columns"


def _section_sizes(header: dict) -> tuple[int, int]:
    """Bytes of the codebook and of the codes the header describes."""
    n = math.prod(header["shape"])
    return (header["k"] * _width(header) * np.dtype(header["codebook_dtype"]).itemsize,
            (n * header["bits"] + 7) // 8)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sizes_list(value, length: int) -> bool:
    return isinstance(value, list) and len(value) == length and all(_is_int(v) and v >= 1 for v in value)
