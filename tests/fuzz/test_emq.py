""".emq files written by ``emtool compress`` (tables and images), then damaged: bytes flipped,
cut or appended (the checksum fails), or the JSON header rewritten, the codebook given NaN and
infinities, the codes pointed past the codebook, with the CRC-32 recomputed (see
emcli/vq/container.py for the layout) so that decoding gets past the checksum; fed to
``emtool decompress``."""

from hypothesis import given
from hypothesis import strategies as st

from .contract import Output, case_directory, count_example, run_and_check
from .profiles import fuzz_settings
from .seeds import emq_files
from .strategies import mutated_emq, split_emq

NAMES = ["table64", "table32", "table-k1", "image", "image-la"]


@st.composite
def mutated_files(draw):
    name = draw(st.sampled_from(NAMES))
    return name, draw(mutated_emq(emq_files()[name]))


def _expected_rows(payload: bytes):
    """The rows a table .emq declares, when its header reads."""
    try:
        _version, header, _body = split_emq(payload)
        if header.get("kind") == "table" and isinstance(header.get("shape"), list) and len(header["shape"]) == 1:
            return header["shape"][0]
    except Exception:  # noqa: BLE001 - a header that does not read has no rows to expect
        return None
    return None


@fuzz_settings(250)
@given(case=mutated_files(), output=st.sampled_from(["d.csv", "d.parquet", "d.tsv", "d.png", "-", "d.gif", "d.jpg"]),
       stdin=st.booleans())
def test_decompress_a_damaged_file(case, output, stdin):
    count_example("test_decompress_a_damaged_file")
    _name, payload = case
    image = output.endswith((".png", ".gif", ".jpg"))
    with case_directory() as tmp:
        if stdin:
            args, data = ["decompress", "-", "-o", output], payload
        else:
            (tmp / "c.emq").write_bytes(payload)
            args, data = ["decompress", "c.emq", "-o", output], None
        rows = None if image else _expected_rows(payload)
        run_and_check(args, tmp, [Output(output, "image" if image else "table", rows=rows, filled="all")], stdin=data)
