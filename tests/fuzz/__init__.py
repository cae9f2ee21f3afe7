"""Property-based fuzz suite for emtool's scripting contract (see README.md, "Fuzzing").

A package, so that its conftest and test modules are imported as ``fuzz.*`` and never clash with
``tests/conftest.py`` (imported as ``conftest`` by the other test files) or with test modules of
the same base name in tests/."""
