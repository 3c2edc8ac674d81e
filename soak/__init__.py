"""The soak: a mixed workload under every fault at once, and the invariants it must keep.

`python -m soak` (or `nox -s soak`) runs it at full size and prints the invariants as a
table; the test suite runs a short variant (`tests/e2e/test_soak.py`). See `run`.
"""

from .run import Invariant, SoakConfig, SoakReport, run_soak

__all__ = ["Invariant", "SoakConfig", "SoakReport", "run_soak"]
