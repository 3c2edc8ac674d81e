"""`python -m soak [--batch-orders N] [--app-orders N] [--kills N] [--keep DIR]`: the full
soak; prints the invariants and figures, writes them to soak/results/latest.json, exits 1 if
one broke."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path

import attrs

from .run import SoakConfig, run_soak


def main() -> int:
    defaults = SoakConfig()
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--batch-orders", type=int, default=defaults.batch_orders)
    parser.add_argument("--app-orders", type=int, default=defaults.app_orders)
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the batch's input, journal, results, each run's output and the SDK's log in DIR",
    )
    args = parser.parse_args()
    config = SoakConfig(
        batch_orders=args.batch_orders,
        app_orders=args.app_orders,
        kills=args.kills,
        seed=args.seed,
    )
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    place = contextlib.nullcontext(args.keep) if args.keep else tempfile.TemporaryDirectory()
    with place as workdir:
        report = asyncio.run(run_soak(config, Path(workdir)))
    print(report.table())
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    document = {
        "config": attrs.asdict(config),
        "ok": report.ok,
        "invariants": [attrs.asdict(i) for i in report.invariants],
        "figures": report.figures,
    }
    (results / "latest.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0 if report.ok else 1


sys.exit(main())
