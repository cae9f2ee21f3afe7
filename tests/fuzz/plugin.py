"""The fuzz suite's command-line option, for runs that start above tests/fuzz.

pytest reads options only from conftest files it loads at start-up: tests/fuzz/conftest.py is
one when tests/fuzz is named on the command line (``python -m pytest tests/fuzz --fuzz-long``),
but not in a run of the whole suite from the repository root.  There, load this file as a
plugin: ``python -m pytest -q -p tests.fuzz.plugin --fuzz-long`` (or set EMTOOL_FUZZ_PROFILE=long,
which needs no option at all)."""


def pytest_addoption(parser):
    group = parser.getgroup("emtool-fuzz", "emtool fuzz suite (tests/fuzz)")
    group.addoption("--fuzz-long", action="store_true", default=False,
                    help="run the fuzz suite with its long hypothesis profile (many more, random, "
                         "examples) instead of the quick deterministic ci profile")
