"""Run the benchmarks: `python -m benchmarks [name ...]` (all when none is named)."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = ("overhead", "creates", "waiters", "batch", "fleet", "temporal")


def main(names: list[str]) -> None:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in names or BENCHMARKS:
        importlib.import_module(f"benchmarks.{name}").main()


main(sys.argv[1:])
