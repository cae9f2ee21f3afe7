"""Configuration of the fuzz suite: the --fuzz-long option, the hypothesis profile, and the
session summary (examples generated, emtool runs, known violations seen)."""

import json
import os

from . import contract, plugin, profiles


def pytest_addoption(parser):
    # Only a conftest loaded at start-up may add options: this one is when tests/fuzz is named
    # on the command line.  From the root, load tests.fuzz.plugin with -p (see plugin.py).
    try:
        plugin.pytest_addoption(parser)
    except ValueError:  # already added by -p tests.fuzz.plugin
        pass


def pytest_configure(config):
    if config.getoption("fuzz_long", default=False):
        profiles.ACTIVE["name"] = "long"
    config.addinivalue_line("markers", "fuzz_subprocess: runs the real emtool in a child process")


def pytest_report_header(config):
    return f"emtool fuzz profile: {profiles.ACTIVE['name']}"


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its counts go to the controller
        workeroutput["fuzz_stats"] = {name: dict(value) if isinstance(value, dict) else list(value)
                                      for name, value in contract.STATS.items()}


def write_summary(terminalreporter):
    """The session's fuzz summary, called by tests/conftest.py's pytest_terminal_summary: the
    controller of a pytest-xdist run never loads this conftest, which its workers collect."""
    stats = contract.STATS
    examples = sum(stats["examples"].values())
    if not examples:
        return
    write = terminalreporter.write_line
    terminalreporter.section(f"emtool fuzz ({profiles.ACTIVE['name']} profile)")
    runs = ", ".join(f"{n} {mode}" for mode, n in sorted(stats["runs"].items()))
    write(f"{examples} hypothesis examples, {sum(stats['runs'].values())} emtool runs ({runs})")
    for name, count in sorted(stats["examples"].items()):
        write(f"  {count:6d}  {name}")
    write("exit statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(stats["statuses"].items(), key=str)))
    if stats["known"]:
        write("known violations tolerated (fuzz/known.py):")
        for description, count in stats["known"].most_common():
            write(f"  {count:6d}  {description}")
    if stats["python_warnings"]:
        write("Python warnings printed on stderr (not a contract violation):")
        for text, count in stats["python_warnings"].most_common(10):
            write(f"  {count:6d}  {text}")
    if stats["unknown"]:
        write("UNKNOWN violations collected (EMTOOL_FUZZ_COLLECT=1), shortest reproduction of each:")
        for key, count in stats["unknown"].most_common():
            write(f"  {count:6d}  {key}")
            for line in stats["unknown_examples"][key].splitlines():
                write("            " + line[:600])
    if os.environ.get("EMTOOL_FUZZ_VERBOSE"):
        write("most frequent error messages:")
        for text, count in stats["errors"].most_common(40):
            write(f"  {count:6d}  {text}")
        write("slowest runs:")
        for seconds, mode, command in stats["slowest"]:
            write(f"  {seconds:7.2f} s  {mode}  {command}")
    target = os.environ.get("EMTOOL_FUZZ_STATS")
    if target:
        with open(target, "w") as handle:
            json.dump({"profile": profiles.ACTIVE["name"], "examples": dict(stats["examples"]),
                       "total_examples": examples, "runs": dict(stats["runs"]),
                       "statuses": {str(k): v for k, v in stats["statuses"].items()},
                       "known": dict(stats["known"]), "known_examples": stats["known_examples"],
                       "unknown": dict(stats["unknown"]), "unknown_examples": stats["unknown_examples"],
                       "python_warnings": dict(stats["python_warnings"])}, handle, indent=2)
