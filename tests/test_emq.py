"""The .emq container: bit packing against a bit-string reference, sizes against the formula,
round trips, and every kind of damage detected."""

import json
import math
import struct
import zlib

import numpy as np
import pytest

from emcli.errors import DataError
from emcli.vq import container
from emcli.vq.container import Quantised, bits_per_code, decode, encode, pack_codes, theoretical_bits, unpack_codes


def reference_pack(codes, bits: int) -> bytes:
    """Codes written as one string of '0'/'1' characters, padded with zeros to whole bytes."""
    text = "".join(format(int(c), f"0{bits}b") for c in codes)
    text += "0" * (-len(text) % 8)
    return bytes(int(text[i : i + 8], 2) for i in range(0, len(text), 8))


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 9, 13, 16, 17])
def test_packing_matches_a_bit_string_and_round_trips(bits):
    rng = np.random.default_rng(bits)
    codes = rng.integers(0, 2**bits, size=1001)
    packed = pack_codes(codes, bits)
    assert packed == reference_pack(codes, bits)
    assert len(packed) == math.ceil(1001 * bits / 8)
    np.testing.assert_array_equal(unpack_codes(packed, bits, 1001), codes)


def test_packing_across_the_chunk_boundary():
    codes = np.random.default_rng(0).integers(0, 8, size=3 * 65536 + 11)
    packed = pack_codes(codes, 3)
    assert len(packed) == math.ceil(len(codes) * 3 / 8)
    np.testing.assert_array_equal(unpack_codes(packed, 3, len(codes)), codes)


def test_bits_per_code_is_ceil_log2_k():
    for k in range(2, 70000, 97):
        assert bits_per_code(k) == math.ceil(math.log2(k))
    assert bits_per_code(1) == 0 and bits_per_code(256) == 8 and bits_per_code(257) == 9


def test_the_textbook_sizes():
    """A 240 x 180 RGB image with K = 2, 3, 10: 43,248, 86,472 and 173,040 bits, 4.2%, 8.3% and
    16.7% of its 1,036,800 bits."""
    n = 240 * 180
    sizes = [theoretical_bits(k, n, 3, 8) for k in (2, 3, 10)]
    assert sizes == [43248, 86472, 173040]
    assert [round(100 * s / (24 * n), 1) for s in sizes] == [4.2, 8.3, 16.7]


def image(k=5, shape=(7, 9), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    codebook = rng.integers(0, 256, size=(k, len(mode)), dtype=np.uint8)
    return Quantised("image", shape, codebook, rng.integers(0, k, size=math.prod(shape)).astype(np.uint8), mode=mode)


def table(dtype="float64", k=300, n=1000):
    rng = np.random.default_rng(1)
    codebook = rng.normal(size=(k, 3)).astype(dtype)
    return Quantised("table", (n,), codebook, rng.integers(0, k, size=n).astype(np.uint16), columns=["a", "b", "é"])


@pytest.mark.parametrize("q", [image(), image(k=1, mode="L"), image(k=200, mode="RGBA"), image(mode="LA"),
                               table(), table("float32")], ids=["rgb", "one-entry", "rgba", "la", "f64", "f32"])
def test_round_trip_and_size(q):
    payload = encode(q)
    back = decode(payload, "x.emq")
    assert back.header() == q.header()
    assert back.codebook.dtype == q.codebook.dtype
    np.testing.assert_array_equal(back.codebook, q.codebook)
    np.testing.assert_array_equal(back.codes, q.codes)
    np.testing.assert_array_equal(back.values(), q.codebook[q.codes])
    header_bytes = struct.unpack_from("<I", payload, 10)[0]
    k, d = q.codebook.shape
    assert len(payload) == 14 + header_bytes + q.codebook.nbytes + math.ceil(q.n * bits_per_code(k) / 8) + 4
    assert json.loads(payload[14 : 14 + header_bytes]) == q.header()


def test_header_fields():
    assert image().header() == {"kind": "image", "shape": [7, 9], "mode": "RGB", "k": 5, "bits": 3,
                                "codebook_dtype": "uint8"}
    assert table("float32").header() == {"kind": "table", "shape": [1000], "columns": ["a", "b", "é"],
                                         "k": 300, "bits": 9, "codebook_dtype": "float32"}


def damage_message(payload: bytes) -> str:
    with pytest.raises(DataError) as caught:
        decode(payload, "x.emq")
    return str(caught.value)


def test_every_flipped_byte_is_detected():
    payload = encode(image(k=16, shape=(20, 30)))
    for i in range(len(payload)):
        damaged = bytearray(payload)
        damaged[i] ^= 0x10
        message = damage_message(bytes(damaged))
        assert message.startswith("x.emq ") and "\n" not in message
        if i >= 10:
            assert "corrupted" in message or "truncated" in message or "invalid header" in message, (i, message)


def test_every_truncation_is_detected():
    payload = encode(table(k=20, n=100))
    for length in range(len(payload)):
        message = damage_message(payload[:length])
        assert "truncated" in message or "not a .emq file" in message, (length, message)


def test_other_files_and_versions_are_refused():
    assert "not a .emq file" in damage_message(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert "not a .emq file" in damage_message(b"a,b\n1,2\n")
    payload = bytearray(encode(image()))
    payload[8:10] = struct.pack("<H", 2)
    assert damage_message(bytes(payload)) == "x.emq is .emq version 2; this emtool reads version 1"
    assert "bytes after its end" in damage_message(encode(image()) + b"\0")


def test_a_valid_checksum_over_a_bad_header_or_code_is_still_refused():
    def sealed(body: bytes) -> bytes:
        return body + struct.pack("<I", zlib.crc32(body))

    payload = encode(image(k=5))
    header_bytes = struct.unpack_from("<I", payload, 10)[0]
    header = json.loads(payload[14 : 14 + header_bytes])
    bad = json.dumps(dict(header, bits=4)).encode()
    body = payload[:10] + struct.pack("<I", len(bad)) + bad + payload[14 + header_bytes : -4]
    assert damage_message(sealed(body)) == "x.emq has an invalid header"
    codes = np.full(63, 7, dtype=np.uint8)  # 7 does not index a 5-entry codebook
    q = image(k=5)
    body = encode(q)[: -4 - len(pack_codes(q.codes, 3))] + pack_codes(codes, 3)
    assert "a code exceeds the codebook's 5 entries" in damage_message(sealed(body))


def test_read_names_the_file(tmp_path):
    with pytest.raises(DataError, match="nope.emq: no such file"):
        container.read(str(tmp_path / "nope.emq"))
