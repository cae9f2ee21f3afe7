"""Reading and writing tables."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from emcli.errors import DataError, UsageError
from emcli.io.atomic import atomic_path
from emcli.io.formats import table_format
from emcli.io.tables import append_columns, numeric_matrix, read_table, write_table

from conftest import FAITHFUL


def write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name,expected", [
    ("a.csv", "csv"), ("a.TSV", "tsv"), ("a.tab", "tsv"), ("a.parquet", "parquet"),
    ("a.pq", "parquet"), ("a.csv.gz", "csv"), ("-", "csv")])
def test_format_by_extension(name, expected):
    assert table_format(name) == expected


def test_unknown_extension_needs_format():
    with pytest.raises(UsageError, match="--input-format"):
        table_format("data.xlsx")
    assert table_format("data.xlsx", "tsv") == "tsv"


def test_csv_tsv_and_parquet_read_the_same(tmp_path):
    table = read_table(str(FAITHFUL))
    write_table(table, str(tmp_path / "f.tsv"))
    write_table(table, str(tmp_path / "f.parquet"))
    for name in ("f.tsv", "f.parquet"):
        again = read_table(str(tmp_path / name))
        np.testing.assert_array_equal(numeric_matrix(again, None)[1], numeric_matrix(table, None)[1])


def test_default_columns_are_the_numeric_ones(tmp_path):
    table = read_table(write(tmp_path / "t.csv", "label,a,b\nx,1,2.5\ny,3,4\nz,5,6\n"))
    names, X = numeric_matrix(table, None)
    assert names == ["a", "b"]
    assert X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, [[1, 2.5], [3, 4], [5, 6]])


@pytest.mark.parametrize("cell", ["", "NA", "NaN", "nan"])
def test_missing_cells_are_nan(tmp_path, cell):
    table = read_table(write(tmp_path / "t.csv", f"a,b\n1,2\n3,{cell}\n4,5\n"))
    X = numeric_matrix(table, None)[1]
    assert np.isnan(X[1, 1]) and np.isfinite(X[[0, 2]]).all()


def test_chosen_columns_in_the_chosen_order(tmp_path):
    table = read_table(write(tmp_path / "t.csv", "a,b,c\n1,2,3\n4,5,6\n"))
    names, X = numeric_matrix(table, ["c", "a"])
    assert names == ["c", "a"]
    np.testing.assert_array_equal(X, [[3, 1], [6, 4]])


def test_text_in_a_numeric_column_names_column_and_row(tmp_path):
    table = read_table(write(tmp_path / "t.csv", "a,b\n1,2\n3,4\n5,oops\n"))
    with pytest.raises(DataError, match=r"column 'b' is not numeric \(row 3: 'oops'\)"):
        numeric_matrix(table, None, "t.csv")


def test_infinity_names_column_and_row(tmp_path):
    table = read_table(write(tmp_path / "t.csv", "a,b\n1,2\n-inf,4\n"))
    with pytest.raises(DataError, match="column 'a' row 2 is infinite"):
        numeric_matrix(table, None, "t.csv")


def test_parquet_keeps_types_and_appends_columns(tmp_path):
    source = pa.table({"name": ["u", "v"], "count": pa.array([1, 2], pa.int32()),
                       "x": [0.5, 1.5]})
    pq.write_table(source, tmp_path / "in.parquet")
    table = append_columns(read_table(str(tmp_path / "in.parquet")),
                           {"cluster": np.array([1, 0]), "p_0": np.array([0.2, 0.9])})
    write_table(table, str(tmp_path / "out.parquet"))
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.column_names == ["name", "count", "x", "cluster", "p_0"]
    assert out.schema.field("count").type == pa.int32()
    assert out.schema.field("cluster").type == pa.int64()


def test_written_csv_round_trips_floats_exactly(tmp_path):
    values = np.array([0.1, 1 / 3, 1e-300, 123456789.123456789, -2.5e17])
    table = pa.table({"v": values})
    write_table(table, str(tmp_path / "v.csv"))
    assert (tmp_path / "v.csv").read_text().splitlines()[0] == "v"
    np.testing.assert_array_equal(numeric_matrix(read_table(str(tmp_path / "v.csv")), None)[1][:, 0], values)


def test_append_refuses_to_overwrite_a_column():
    with pytest.raises(DataError, match="already has a column 'cluster'"):
        append_columns(pa.table({"cluster": [1]}), {"cluster": np.array([0])})


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.csv"
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as tmp:
            with open(tmp, "w") as handle:
                handle.write("partial")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with atomic_path(str(target)) as tmp:
        with open(tmp, "w") as handle:
            handle.write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["out.csv"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def test_text_is_quoted_only_when_some_value_needs_it(tmp_path):
    from pyarrow import csv as pacsv

    plain = pa.table({"name": ["r001", "r002"], "x": [1.5, 2.0]})
    write_table(plain, str(tmp_path / "plain.csv"))
    assert (tmp_path / "plain.csv").read_text() == 'name,x\nr001,1.5\nr002,2\n'
    for awkward in (["a,b", "c"], ['say "hi"', "c"], ["", "c"], ["two\nlines", "c"]):
        table = pa.table({"name": awkward, "x": [1.5, 2.0]})
        write_table(table, str(tmp_path / "q.csv"))
        assert pacsv.read_csv(tmp_path / "q.csv").column("name").to_pylist() == awkward


def test_a_url_is_read_through_fsspec_by_every_command(run, tmp_path):
    """DATA as a URL (file:// here; s3://, gs://, https:// with their fsspec packages) is read
    whole: fit (stepwise too, which then does not stream), predict, and impute, whose output of
    a table with nothing missing is the input's own bytes."""
    import json

    from conftest import FAITHFUL

    data = tmp_path / "f.csv"
    data.write_bytes(open(FAITHFUL, "rb").read())
    url = data.as_uri()
    assert run("fit", str(data), "-k", "2", "--seed", "1", "-o", "a.json").exit_code == 0
    assert run("fit", url, "-k", "2", "--seed", "1", "-o", "b.json").exit_code == 0
    a, b = (json.loads((tmp_path / name).read_text())["fit"]["log_likelihood"] for name in ("a.json", "b.json"))
    assert a == b
    assert run("fit", url, "-k", "2", "--algorithm", "stepwise", "-o", "s.json").exit_code == 0
    assert run("predict", "a.json", url, "-o", "p.csv").exit_code == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == len(data.read_text().splitlines())
    assert run("impute", url, "-m", "gmm", "-k", "2", "-o", "i.csv").exit_code == 0
    assert (tmp_path / "i.csv").read_bytes() == data.read_bytes()
    result = run("fit", url[:-4] + "-none.csv", "-k", "2", "-o", "c.json")
    assert result.exit_code == 2 and result.stderr == f"emtool: error: {url[:-4]}-none.csv: no such file\n"
