"""Run the benchmarks, then rebuild the report: `python -m benchmarks [name ...]` (all when
none is named); `python -m benchmarks report` rebuilds the report alone."""

from __future__ import annotations

import importlib
import sys
import time

from . import report
from ._harness import load_results, write_results

BENCHMARKS = ("overhead", "creates", "waiters", "batch", "fleet", "temporal")


def main(names: list[str]) -> None:
    if names == ["report"]:
        report.main()
        return
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    for name in names or BENCHMARKS:
        started = time.perf_counter()
        importlib.import_module(f"benchmarks.{name}").main()
        document = load_results()
        document["benchmarks"][name]["seconds"] = round(time.perf_counter() - started)
        write_results(document)
    report.main()


main(sys.argv[1:])
