"""The layers keep to their floors: the engine and the models know no I/O, no command and no
terminal; the services under the commands return their messages instead of printing."""

import ast
from pathlib import Path

import pytest

from conftest import ROOT

PACKAGE = ROOT / "emcli"
LOW = ["em", "models"]
FORBIDDEN_LOW = ("emcli.io", "emcli.cli", "emcli.console", "emcli.pipeline", "emcli.select",
                 "emcli.impute", "emcli.vq", "emcli.data", "emcli.cluster")
#: the services between the commands and the engine
SERVICES = ["pipeline", "select", "impute", "vq", "data.py", "predict.py", "sampling.py"]


def _files(*places: str) -> list:
    out = []
    for place in places:
        path = PACKAGE / place
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


def _imports(path: Path) -> set:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("path", _files(*LOW), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_engine_and_models_import_nothing_above_them(path):
    bad = sorted(name for name in _imports(path) if name.startswith(FORBIDDEN_LOW))
    assert not bad, bad


@pytest.mark.parametrize("path", _files(*SERVICES), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_services_do_not_print(path):
    tree = ast.parse(path.read_text())
    assert not any(name.startswith(("emcli.console", "emcli.cli")) for name in _imports(path))
    calls = [node.func.id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)]
    assert "print" not in calls
