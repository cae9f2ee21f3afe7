"""Contract violations the fuzz suite has found and emcli does not fix yet.

Each entry is (description, predicate(violation, result) -> bool).  A run whose violation a
predicate accepts passes the property tests (it is counted and reported at the end of the
session instead), so that the suite stays green while the fixes are made.  Every entry has an
explicit strict-xfail regression test in test_found.py with its minimal reproduction: when a fix
lands, that test XPASSes, which fails the run; then delete the entry here and the xfail mark
there.

Keep each predicate as narrow as the violation it stands for: it must not hide another bug.
``violation.kind`` is one of contract.Violation's kinds; ``violation.detail`` for a traceback is
"ExceptionType at emcli/file.py:function"; ``result.args`` is the command line, ``result.stderr``
what the process printed.
"""

from __future__ import annotations

import re


def _cmd(result) -> str:
    return result.args[0] if result.args else ""


def _traceback(violation, exception: str, where: str) -> bool:
    return violation.kind == "traceback" and violation.detail.startswith(exception + " at ") and where in violation.detail


def _column(violation) -> str | None:
    found = re.search(r"column '([^']*)'", violation.detail)
    return found.group(1) if found else None


KNOWN: list = []  # F0-F16 are fixed; their reproductions are tests in test_found.py


def match(violation, result) -> str | None:
    """The description of the known violation that ``violation`` (of ``result``) is, or None."""
    for description, predicate in KNOWN:
        try:
            if predicate(violation, result):
                return description
        except Exception:  # noqa: BLE001 - a predicate that cannot tell does not match
            continue
    return None
