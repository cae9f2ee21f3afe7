"""Features and targets for the regression models."""

import numpy as np
import pytest

from emcli.data import load_regression_rows
from emcli.errors import DataError


def write(tmp_path, text):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def test_features_default_to_every_numeric_column_but_the_target(tmp_path):
    rows = load_regression_rows(write(tmp_path, "a,name,y,b\n1,u,10,2\n3,v,20,4\n"), None, None, "y", "numeric")
    assert rows.columns == ["a", "b"] and rows.target == "y"
    np.testing.assert_array_equal(rows.X, [[1, 2, 10], [3, 4, 20]])


@pytest.mark.parametrize("text,labels,coded", [
    ("x,y\n1,0\n2,1\n3,1\n", [0, 1], [0, 1, 1]),
    ("x,y\n1,true\n2,false\n3,true\n", [False, True], [1, 0, 1]),
    ("x,y\n1,yes\n2,no\n3,yes\n", ["no", "yes"], [1, 0, 1]),
])
def test_binary_targets_keep_their_labels(tmp_path, text, labels, coded):
    rows = load_regression_rows(write(tmp_path, text), None, None, "y", "binary")
    assert rows.levels == labels
    np.testing.assert_array_equal(rows.X[:, -1], coded)
    again = load_regression_rows(write(tmp_path, text), None, None, "y", "binary", labels)
    np.testing.assert_array_equal(again.X, rows.X)


@pytest.mark.parametrize("text,columns,kind,message", [
    ("x,z\n1,2\n2,3\n", None, "numeric", "has no target column 'y'"),
    ("x,y\n1,a\n2,3\n3,4\n", None, "numeric", "column 'y' is not numeric (row 1: 'a')"),
    ("x,y\n1,2\n2,\n3,4\n", None, "numeric", "column 'y' row 2 is missing"),
    ("x,y\n1,2\n2,3\n", ["x", "y"], "numeric", "column 'y' is both the target and a feature"),
    ("y\n1\n2\n", None, "numeric", "no numeric feature columns besides the target 'y'"),
    ("x,y\n1,a\n2,a\n", None, "binary", "target 'y' has 1 distinct value ('a'); it needs exactly two"),
    ("x,y\n1,a\n2,b\n3,c\n", None, "binary", "target 'y' has 3 distinct values ('a', 'b', 'c')"),
    ("x,y\n1,a\n2,\n3,b\n", None, "binary", "target 'y' row 2 is missing"),
])
def test_bad_targets_name_the_problem(tmp_path, text, columns, kind, message):
    with pytest.raises(DataError) as error:
        load_regression_rows(write(tmp_path, text), None, columns, "y", kind)
    assert message in str(error.value)


def test_unknown_label_when_applying_a_model(tmp_path):
    with pytest.raises(DataError, match="row 2 is 'maybe', not one of"):
        load_regression_rows(write(tmp_path, "x,y\n1,no\n2,maybe\n"), None, None, "y", "binary", ["no", "yes"])
