"""The fuzz suite's hypothesis profiles.

* ci (the default): deterministic (derandomize=True: the same examples on every run and every
  machine), no example database, a few dozen examples per property; the whole of tests/fuzz runs
  in about two and a half minutes on two cores.
* long (``--fuzz-long``, or EMTOOL_FUZZ_PROFILE=long): random examples, LONG_FACTOR times as
  many per property; for a soak run before a release or after a change to input handling.

EMTOOL_FUZZ_SCALE=F multiplies every property's number of examples by F (either profile).
"""

import os

from hypothesis import HealthCheck, settings

LONG_FACTOR = 25
_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
               HealthCheck.large_base_example]

settings.register_profile("emtool-fuzz-ci", deadline=None, derandomize=True, database=None,
                          suppress_health_check=_SUPPRESSED, print_blob=True, max_examples=30)
settings.register_profile("emtool-fuzz-long", deadline=None, derandomize=False, database=None,
                          suppress_health_check=_SUPPRESSED, print_blob=True,
                          max_examples=30 * LONG_FACTOR)

#: the profile in force: "ci" or "long"; set by fuzz/conftest.py from --fuzz-long
ACTIVE = {"name": "long" if os.environ.get("EMTOOL_FUZZ_PROFILE", "").lower() == "long" else "ci"}


def fuzz_settings(examples: int, long_examples: int | None = None) -> settings:
    """Settings for one property: ``examples`` in the ci profile, ``long_examples`` (default
    LONG_FACTOR times as many) in the long one."""
    name = ACTIVE["name"]
    count = examples if name == "ci" else (long_examples or examples * LONG_FACTOR)
    scale = float(os.environ.get("EMTOOL_FUZZ_SCALE", "1"))
    return settings(settings.get_profile(f"emtool-fuzz-{name}"), max_examples=max(1, round(count * scale)))
