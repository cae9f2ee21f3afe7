"""emtool's scripting contract, checked on every run the fuzz suite makes.

The contract (README.md, "Behaviour you can rely on"):

* the exit status is 0, 1, 2 or 3 (141 for a closed stdout and 128 + N for signal N are not
  fuzzed here), and no Python traceback ever reaches stderr;
* exit 2 is exactly one stderr line starting ``emtool: error: ``; any other failure names its
  cause on an ``emtool: error: `` line;
* no file appears at any output path unless the exit status is 0, and then every output is
  complete and valid (JSON parses; a table reads back with the expected number of rows); no
  hidden temporary file (``.NAME.*.tmp``) is ever left behind, nor any other new file;
* no NaN or infinity in any number written (model JSON, tables: no ``nan``/``inf`` cells, no
  empty cell where a value is due);
* bounded time and memory (a timeout for every run; an address-space limit for real processes).

``run_inprocess`` and ``run_subprocess`` make a run and return a ``Result``; ``check_contract``
lists its violations, drops the known ones (``fuzz.known``) and fails the test on any other,
with a reproduction: the exact command and the input files.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import math
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
EMTOOL = shutil.which("emtool", path=str(Path(sys.executable).parent)) or shutil.which("emtool")

OK_STATUSES = (0, 1, 2, 3)
TEMP_FILE = re.compile(r"^\..+\.tmp$")
NON_FINITE_TOKENS = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity",
                     "+infinity", "1.#inf", "-1.#inf", "1.#qnan"}

#: seconds a run may take before it counts as a hang
IN_PROCESS_TIMEOUT = float(os.environ.get("EMTOOL_FUZZ_TIMEOUT", "40"))
SUBPROCESS_TIMEOUT = float(os.environ.get("EMTOOL_FUZZ_SUBPROCESS_TIMEOUT", "90"))
#: address-space limits: real processes get 3 GiB; the pytest process itself (which already maps
#: about 2 GiB for numpy, pyarrow and matplotlib) gets a soft limit around each in-process run,
#: so that a runaway allocation is a MemoryError in the run, not the machine's memory
SUBPROCESS_ADDRESS_SPACE = 3 << 30
IN_PROCESS_ADDRESS_SPACE = 8 << 30
#: where the input files of each violation are kept for reproduction
ARTIFACTS = Path(os.environ.get("EMTOOL_FUZZ_ARTIFACTS",
                                os.path.join(tempfile.gettempdir(), "emtool-fuzz-artifacts")))

#: numbers for the session summary (fuzz/conftest.py prints them)
STATS = {
    "examples": collections.Counter(),   # test name -> examples hypothesis ran
    "runs": collections.Counter(),       # "inprocess"/"subprocess" -> emtool runs
    "statuses": collections.Counter(),   # exit status -> runs
    "known": collections.Counter(),      # known violation description -> runs that showed it
    "known_examples": {},                # description -> first reproduction
    "python_warnings": collections.Counter(),  # warnings Python itself printed to stderr
    "errors": collections.Counter(),     # (command, error message shape) -> runs
    "unknown": collections.Counter(),    # EMTOOL_FUZZ_COLLECT=1: violation signature -> runs
    "unknown_examples": {},              # signature -> first reproduction
    "slowest": [],                       # (seconds, command) of the slowest runs
}


def merge(counts: dict) -> None:
    """Add the STATS of another process (a pytest-xdist worker's, as plain dicts and lists)
    to this one's, for the session's summary."""
    for name, value in counts.items():
        mine = STATS[name]
        if isinstance(mine, collections.Counter):
            mine.update(value)
        elif isinstance(mine, dict):
            for key, example in value.items():
                mine.setdefault(key, example)
        else:
            mine.extend(tuple(entry) for entry in value)
            mine.sort(reverse=True)
            del mine[10:]


def _note_time(result) -> None:
    slowest = STATS["slowest"]
    slowest.append((round(result.seconds, 2), result.mode, result.command()[:200]))
    slowest.sort(reverse=True)
    del slowest[10:]

#: EMTOOL_FUZZ_COLLECT=1: record unknown violations (listed at the end) instead of failing, to
#: survey a new kind of input; never in CI
COLLECT = os.environ.get("EMTOOL_FUZZ_COLLECT") == "1"


def signature(violation, result) -> str:
    """A violation's kind, command and the shape of its detail: runs with one signature are
    most likely one bug."""
    command = result.args[0] if result.args else ""
    if violation.kind == "traceback":
        return f"{command}: traceback {violation.detail}"
    shape = re.sub(r"'[^']*'|\d+(\.\d+)?", "_", violation.detail)
    return f"{command}: {violation.kind} {shape[:90]}"


def _note_error(result) -> None:
    for line in result.stderr.splitlines():
        if line.startswith("emtool: error: "):
            shape = re.sub(r"'[^']*'|\"[^\"]*\"|\d+(\.\d+)?(e[-+]?\d+)?|\S+\.(csv|tsv|txt|parquet|json|emq|png)",
                           "_", line[15:])
            STATS["errors"][f"{result.args[0] if result.args else ''}: {shape[:70]}"] += 1


# -- one run ---------------------------------------------------------------------------------


@dataclass
class Result:
    """What one emtool run did.  ``stderr`` is what a real process would have written to stderr
    (for an in-process run: click's capture, Python warnings, and the traceback an uncaught
    exception prints)."""

    args: list
    cwd: Path
    mode: str
    exit_code: int | None
    stdout: bytes
    stderr: str
    before: dict
    stdin: bytes | None = None
    uncaught: str | None = None       # "Type at emcli/file.py:function": an exception no handler took
    timed_out: bool = False
    seconds: float = 0.0
    inputs: dict = field(default_factory=dict)  # file name -> bytes, the case's input files

    def command(self) -> str:
        line = "emtool " + " ".join(shlex.quote(str(a)) for a in self.args)
        if self.stdin is not None:
            line += " < stdin.bin"
        return line


def snapshot(directory: Path) -> dict:
    """Every file under ``directory``: relative name -> (size, mtime_ns)."""
    out = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.lstat(path)
            except FileNotFoundError:
                continue
            out[os.path.relpath(path, directory)] = (stat.st_size, stat.st_mtime_ns)
    return out


def _input_files(cwd: Path) -> dict:
    files = {}
    for name in snapshot(cwd):
        path = cwd / name
        if path.is_file() and not path.is_symlink():
            files[name] = path.read_bytes()
    return files


class _Timeout(BaseException):
    """Raised by SIGALRM in an in-process run that took too long (a BaseException, so that no
    ``except Exception`` in emtool swallows it)."""


def _on_alarm(signum, frame):
    raise _Timeout()


def _innermost_emcli_frame(tb) -> str:
    where = "?"
    for frame in traceback.extract_tb(tb):
        if f"{os.sep}emcli{os.sep}" in frame.filename:
            where = f"{frame.filename[frame.filename.rindex(os.sep + 'emcli' + os.sep) + 1:]}:{frame.name}"
    return where


@contextlib.contextmanager
def _python_warnings_as_a_process_shows_them(stderr_lines: list):
    """Python's default warning filters (each warning once per place, deprecations hidden), with
    what a real process would print collected into ``stderr_lines``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        try:
            yield
        finally:
            for item in caught:
                text = warnings.formatwarning(item.message, item.category, item.filename, item.lineno, item.line)
                stderr_lines.append(text)
                STATS["python_warnings"][f"{item.category.__name__}: {str(item.message)[:80]} "
                                         f"({os.path.basename(item.filename)}:{item.lineno})"] += 1


def run_inprocess(args: list, cwd: Path, stdin: bytes | None = None,
                  timeout: float = IN_PROCESS_TIMEOUT) -> Result:
    """``emtool ARGS`` through click's CliRunner in this process, in directory ``cwd``."""
    from click.testing import CliRunner

    from emcli.cli import cli

    args = [str(a) for a in args]
    cwd = Path(cwd)
    inputs = _input_files(cwd)
    before = snapshot(cwd)
    previous_dir = os.getcwd()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = IN_PROCESS_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(hard, IN_PROCESS_ADDRESS_SPACE)
    previous_alarm = signal.signal(signal.SIGALRM, _on_alarm)
    extra_stderr: list = []
    uncaught = None
    timed_out = False
    result = None
    started = time.perf_counter()
    os.chdir(cwd)
    try:
        with _python_warnings_as_a_process_shows_them(extra_stderr):
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                result = CliRunner().invoke(cli, args, input=stdin)
            except _Timeout:
                timed_out = True
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    finally:
        signal.signal(signal.SIGALRM, previous_alarm)
        os.chdir(previous_dir)
    seconds = time.perf_counter() - started
    STATS["runs"]["inprocess"] += 1
    if timed_out:
        STATS["statuses"]["timeout"] += 1
        return Result(args, cwd, "inprocess", None, b"", "", before, stdin, None, True, seconds, inputs)
    stderr = result.stderr_bytes.decode("utf-8", "replace") + "".join(extra_stderr)
    exit_code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        exc = result.exception
        uncaught = f"{type(exc).__name__} at {_innermost_emcli_frame(result.exc_info[2])}"
        stderr += "".join(traceback.format_exception(*result.exc_info))
        exit_code = 1  # what the interpreter exits with after printing the traceback
    STATS["statuses"][exit_code] += 1
    return Result(args, cwd, "inprocess", exit_code, result.stdout_bytes, stderr, before, stdin,
                  uncaught, False, seconds, inputs)


def limited_environment() -> dict:
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONIOENCODING="utf-8")
    return env


def address_space_limit(limit: int = SUBPROCESS_ADDRESS_SPACE):
    """A preexec_fn: the child may map at most ``limit`` bytes."""
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    return apply


def run_subprocess(args: list, cwd: Path, stdin: bytes | None = None,
                   timeout: float = SUBPROCESS_TIMEOUT, memory: int = SUBPROCESS_ADDRESS_SPACE) -> Result:
    """``emtool ARGS`` as a real process under an address-space limit and a timeout."""
    args = [str(a) for a in args]
    cwd = Path(cwd)
    inputs = _input_files(cwd)
    before = snapshot(cwd)
    started = time.perf_counter()
    STATS["runs"]["subprocess"] += 1
    try:
        done = subprocess.run([EMTOOL, *args], cwd=cwd, input=stdin if stdin is not None else b"",
                              capture_output=True, timeout=timeout, env=limited_environment(),
                              preexec_fn=address_space_limit(memory))
    except subprocess.TimeoutExpired as exc:
        STATS["statuses"]["timeout"] += 1
        return Result(args, cwd, "subprocess", None, exc.stdout or b"",
                      (exc.stderr or b"").decode("utf-8", "replace"), before, stdin, None, True,
                      time.perf_counter() - started, inputs)
    stderr = done.stderr.decode("utf-8", "replace")
    uncaught = None
    if "Traceback (most recent call last)" in stderr:
        last = [line for line in stderr.splitlines() if line and not line.startswith(" ")][-1]
        frames = re.findall(r'File "[^"]*/(emcli/[^"]+)", line \d+, in (\S+)', stderr)
        uncaught = f"{last.split(':')[0]} at " + (f"{frames[-1][0]}:{frames[-1][1]}" if frames else "?")
    STATS["statuses"][done.returncode] += 1
    return Result(args, cwd, "subprocess", done.returncode, done.stdout, stderr, before, stdin,
                  uncaught, False, time.perf_counter() - started, inputs)


# -- what a run should have written ----------------------------------------------------------


@dataclass
class Output:
    """One output of a run: ``path`` in the run's directory (``-``: standard output).

    kind: "json" (any JSON document), "model" (an emtool model file), "table" (CSV, TSV or
    Parquet by ``fmt`` or the extension), "emq", "image".  ``rows``: the data rows a table must
    have; ``filled``: columns (names, or "all", or an int: every column from that index on) in
    which no cell may be empty or missing.  ``optional``: may be absent after a success."""

    path: str
    kind: str
    rows: int | None = None
    filled: object = None
    fmt: str | None = None
    optional: bool = False
    passthrough: frozenset = frozenset()  # nan/inf spellings the input itself held (see input_tokens)


def maybe_output(data, args: list, outputs: list, flag: str, path: str, kind: str, label: str) -> None:
    """Draws (``data``, hypothesis's) whether the run asks for the output ``path`` by ``flag``;
    if so, adds both to its command line ``args`` and to the ``outputs`` the contract checks."""
    if data.draw(st.booleans(), label=label):
        args += [flag, path]
        outputs.append(Output(path, kind))


@dataclass
class Violation:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.detail}"


def _table_format(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    ext = os.path.splitext(path)[1].lower()
    return {".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}.get(ext, "csv")


def _reject_constant(token):
    raise ValueError(f"JSON holds {token}")


def _walk_numbers(value, where="$"):
    if isinstance(value, float):
        if not math.isfinite(value):
            yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_numbers(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk_numbers(item, f"{where}[{i}]")


def check_json(payload: bytes, model: bool = False) -> list:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Violation("invalid-output", f"JSON is not UTF-8 ({exc})")]
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        kind = "non-finite" if "JSON holds" in str(exc) else "invalid-output"
        return [Violation(kind, f"JSON does not parse: {exc}")]
    except RecursionError:
        return [Violation("invalid-output", "JSON nested too deeply to read back")]
    problems = [Violation("non-finite", f"JSON number {where} is {value}") for where, value in _walk_numbers(doc)]
    if model:
        if not isinstance(doc, dict) or not {"model", "params", "columns"} <= set(doc):
            problems.append(Violation("invalid-output", "model file lacks model/params/columns"))
    return problems[:5]


def _column_checked(filled, index: int, name: str) -> bool:
    if filled is None:
        return False
    if filled == "all":
        return True
    if isinstance(filled, int):
        return index >= filled
    return name in filled


def input_tokens(path) -> frozenset:
    """The spellings of NaN and infinity that the input file at ``path`` holds: a column emtool
    only passes through may show them (they are the user's values, not emtool's numbers).
    Parquet holds them as values, not text: every spelling then."""
    payload = Path(path).read_bytes()
    if payload.startswith(b"PAR1"):
        return frozenset(NON_FINITE_TOKENS)
    text = payload.decode("utf-8", "replace").lower()
    cells = set(re.split(r"[,\t\r\n\"]+", text))
    found = {cell.strip() for cell in cells} & NON_FINITE_TOKENS
    # a number beyond float range reads as an infinity; and a value is written in pyarrow's
    # spelling, not the input's ("Infinity" comes back "inf")
    if found or re.search(r"\d[eE]\+?[0-9]{3,}|\d{309,}", text):
        return frozenset(NON_FINITE_TOKENS)
    return frozenset()


def check_delimited(payload: bytes, delimiter: str, rows: int | None, filled,
                    passthrough: frozenset = frozenset()) -> list:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Violation("invalid-output", f"table is not UTF-8 ({exc})")]
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return [Violation("invalid-output", f"table does not parse as CSV: {exc}")]
    if not records:
        return [Violation("invalid-output", "table is empty (no header)")]
    header, body = records[0], records[1:]
    problems = []
    ragged = [i for i, record in enumerate(body) if len(record) != len(header)]
    if ragged:
        problems.append(Violation("invalid-output", f"data row {ragged[0] + 1} has {len(body[ragged[0]])} "
                                                    f"fields, the header {len(header)}"))
    if rows is not None and len(body) != rows:
        problems.append(Violation("invalid-output", f"table has {len(body)} data rows, expected {rows}"))
    for i, record in enumerate(body):
        for j, cell in enumerate(record):
            name = header[j] if j < len(header) else f"#{j}"
            token = cell.strip().lower()
            if name == "logpdf" and token == "-inf":
                continue  # documented: a Gaussian density below float range (predict --help)
            if token in NON_FINITE_TOKENS and (_column_checked(filled, j, name) or token not in passthrough):
                problems.append(Violation("non-finite", f"row {i + 1} column {name!r} is {cell!r}"))
            elif cell == "" and _column_checked(filled, j, name):
                problems.append(Violation("non-finite", f"row {i + 1} column {name!r} is empty"))
            if len(problems) >= 5:
                return problems
    return problems


def check_parquet(payload: bytes, rows: int | None, filled, passthrough=frozenset()) -> list:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(payload))
    except Exception as exc:  # noqa: BLE001 - any failure to read back is the finding
        return [Violation("invalid-output", f"Parquet does not read back: {exc}")]
    problems = []
    if rows is not None and table.num_rows != rows:
        problems.append(Violation("invalid-output", f"table has {table.num_rows} rows, expected {rows}"))
    for j, (name, column) in enumerate(zip(table.column_names, table.columns)):
        checked = _column_checked(filled, j, name)
        if checked and column.null_count:
            problems.append(Violation("non-finite", f"column {name!r} has {column.null_count} missing cells"))
        if pa.types.is_floating(column.type):
            values = column.to_numpy(zero_copy_only=False).astype(float)
            if np.isinf(values).any() and (checked or "inf" not in passthrough):
                problems.append(Violation("non-finite", f"column {name!r} holds an infinity"))
            if checked and np.isnan(values).sum() > column.null_count:
                problems.append(Violation("non-finite", f"column {name!r} holds NaN"))
    return problems


def check_table(payload: bytes, fmt: str, rows: int | None, filled, passthrough=frozenset()) -> list:
    if fmt == "parquet":
        return check_parquet(payload, rows, filled, passthrough)
    return check_delimited(payload, "\t" if fmt == "tsv" else ",", rows, filled, passthrough)


def check_emq(payload: bytes) -> list:
    from emcli.errors import DataError
    from emcli.vq import container

    try:
        container.decode(payload, "output")
    except DataError as exc:
        return [Violation("invalid-output", f".emq does not decode: {exc}")]
    return []


def check_image(payload: bytes) -> list:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(payload)) as image:
            image.load()
    except Exception as exc:  # noqa: BLE001
        return [Violation("invalid-output", f"image does not open: {exc}")]
    return []


def check_output(payload: bytes, spec: Output) -> list:
    if spec.kind in ("json", "model"):
        return check_json(payload, model=spec.kind == "model")
    if spec.kind == "table":
        return check_table(payload, _table_format(spec.path, spec.fmt), spec.rows, spec.filled, spec.passthrough)
    if spec.kind == "emq":
        return check_emq(payload)
    if spec.kind == "image":
        return check_image(payload)
    raise ValueError(spec.kind)


# -- the contract ----------------------------------------------------------------------------


def violations(result: Result, outputs: list, tmpdir: Path) -> list:
    """Every way ``result`` breaks the contract, given the ``outputs`` it was asked for."""
    found = []
    after = snapshot(tmpdir)
    leftovers = sorted(name for name in after if TEMP_FILE.match(os.path.basename(name)))
    if leftovers:
        found.append(Violation("temp-file", f"temporary file left behind: {leftovers[0]}"))
    if result.timed_out:
        found.append(Violation("timeout", f"no exit within {result.seconds:.0f} s"))
        return found
    code = result.exit_code
    if code not in OK_STATUSES:
        found.append(Violation("exit-status", f"exit status {code}"))
    stderr = result.stderr
    if "Traceback" in stderr:
        found.append(Violation("traceback", result.uncaught or stderr.strip().splitlines()[-1][:200]))
    elif code == 2:
        if not (stderr.startswith("emtool: error: ") and stderr.count("\n") == 1 and stderr.endswith("\n")):
            found.append(Violation("stderr-lines", f"exit 2 with stderr {stderr[:300]!r}"))
    elif code not in (0, None) and not any(line.startswith("emtool: error: ") for line in stderr.splitlines()):
        found.append(Violation("silent-failure", f"exit {code} with stderr {stderr[:300]!r}"))
    new = {name for name in after if name not in result.before}
    changed = sorted(name for name in result.before if name in after and after[name] != result.before[name])
    expected = {os.path.normpath(spec.path) for spec in outputs if spec.path != "-"}
    if changed:
        found.append(Violation("input-changed", f"{changed[0]} was modified"))
    missing = sorted(name for name in result.before if name not in after)
    if missing:
        found.append(Violation("input-changed", f"{missing[0]} was removed"))
    if code != 0:
        written = sorted(name for name in new if not TEMP_FILE.match(os.path.basename(name)))
        if written:
            found.append(Violation("output-on-failure", f"exit {code} but {written[0]} was written"))
        return found
    stray = sorted(name for name in new - expected if not TEMP_FILE.match(os.path.basename(name)))
    if stray:
        found.append(Violation("stray-file", f"{stray[0]} was written but not asked for"))
    for spec in outputs:
        if spec.path == "-":
            payload, where = result.stdout, "standard output"
        else:
            path = tmpdir / spec.path
            if not path.exists():
                if not spec.optional:
                    found.append(Violation("missing-output", f"exit 0 but {spec.path} is absent"))
                continue
            payload, where = path.read_bytes(), spec.path
        for problem in check_output(payload, spec):
            found.append(Violation(problem.kind, f"{where}: {problem.detail}"))
    return found


def reproduction(result: Result, found: list) -> str:
    """The case as a shell session: the input files (their bytes) and the command."""
    lines = [f"cd $(mktemp -d)   # the run's directory held {len(result.inputs)} input file(s)"]
    for name, payload in sorted(result.inputs.items()):
        shown = payload if len(payload) <= 1500 else payload[:1500] + b"...[truncated]"
        lines.append(f"python3 -c 'import sys; open(sys.argv[1], \"wb\").write({shown!r})' {shlex.quote(name)}"
                     if len(payload) <= 1500 else f"# {name}: {len(payload)} bytes, starts {shown!r}")
    if result.stdin is not None:
        lines.append(f"# stdin.bin: {result.stdin[:1500]!r}")
    lines.append(result.command())
    lines.append(f"# -> exit {result.exit_code}{' (timed out)' if result.timed_out else ''}, "
                 f"{result.seconds:.2f} s, stderr: {result.stderr[-1500:]!r}")
    lines.extend(f"# violation {v}" for v in found)
    return "\n".join(lines)


def keep_artifacts(result: Result, label: str) -> Path:
    """Copy the case's input files to ARTIFACTS/label/ and write its reproduction there."""
    target = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:100]
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for name, payload in result.inputs.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        (target / name).write_bytes(payload)
    if result.stdin is not None:
        (target / "stdin.bin").write_bytes(result.stdin)
    (target / "command.sh").write_text(result.command() + "\n")
    return target


def check_contract(result: Result, outputs: list, tmpdir: Path) -> list:
    """Fail unless ``result`` keeps the contract, known violations (fuzz.known.KNOWN) aside.
    Returns the known violations it showed."""
    from . import known

    found = violations(result, outputs, Path(tmpdir))
    _note_error(result)
    _note_time(result)
    unknown, tolerated = [], []
    for violation in found:
        description = known.match(violation, result)
        if description is None:
            unknown.append(violation)
        else:
            tolerated.append((description, violation))
            STATS["known"][description] += 1
            if description not in STATS["known_examples"]:
                STATS["known_examples"][description] = reproduction(result, [violation])
                keep_artifacts(result, "known-" + description)
    if unknown and COLLECT:
        for violation in unknown:
            key = signature(violation, result)
            STATS["unknown"][key] += 1
            if key not in STATS["unknown_examples"] or len(reproduction(result, [violation])) < len(
                    STATS["unknown_examples"][key]):
                where = keep_artifacts(result, "unknown-" + key)
                STATS["unknown_examples"][key] = reproduction(result, [violation]) + f"\n# files: {where}"
        return tolerated
    if unknown:
        label = f"{unknown[0].kind}-{result.args[0] if result.args else 'none'}"
        where = keep_artifacts(result, label)
        raise AssertionError("emtool broke its contract:\n" + reproduction(result, unknown)
                             + f"\n# input files kept in {where}")
    return tolerated


@contextlib.contextmanager
def case_directory():
    """A fresh directory for one example, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="emtool-fuzz-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def read_input(path, fmt: str | None = None):
    """(column names, data rows, numeric columns) of a table as emtool's reader sees it, or None
    when it does not read it (then the expected shape of an output is not known)."""
    from emcli.errors import EmtoolError
    from emcli.io.tables import _is_numeric_type, read_table

    try:
        table = read_table(str(path), fmt)
    except (EmtoolError, Exception):  # noqa: BLE001 - the run itself is checked elsewhere
        return None
    try:
        numeric = [name for name, column in zip(table.column_names, table.columns)
                   if _is_numeric_type(column.type)]
        return table.column_names, table.num_rows, numeric
    except Exception:  # noqa: BLE001
        return None


def count_example(name: str) -> None:
    STATS["examples"][name] += 1


def run_and_check(args: list, cwd: Path, outputs: list, stdin: bytes | None = None,
                  mode: str = "inprocess", **kwargs) -> Result:
    """Run emtool (in process unless ``mode`` is "subprocess") and check the contract."""
    runner = run_subprocess if mode == "subprocess" else run_inprocess
    result = runner(args, cwd, stdin=stdin, **kwargs)
    check_contract(result, outputs, cwd)
    return result
