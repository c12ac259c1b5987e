"""``python -m benchmarks.perf [--quick] [--only 1,3] [--out DIR] [--profile]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from benchmarks.perf._runner import run_benchmarks
from benchmarks.perf._sizes import FULL, QUICK

RESULTS = Path(__file__).resolve().parent.parent / "results"


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, run the benchmarks; exit status 0 even when targets are missed (they are
    reported), 1 when a scenario could not be measured."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes (the smoke test); seconds, not minutes"
    )
    parser.add_argument("--only", default="", help="comma-separated scenarios, e.g. 1,3,6 (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results directory (default {RESULTS})")
    parser.add_argument(
        "--profile", action="store_true", help="profile each scenario with pyinstrument (into --out)"
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    only = [x for x in args.only.split(",") if x.strip()]
    figures = asyncio.run(
        run_benchmarks(
            QUICK if args.quick else FULL,
            only=only,
            out_dir=args.out,
            profile=args.profile,
            argv=sys.argv[1:] if argv is None else argv,
        )
    )
    return 1 if any(f.status == "not measured" and "failed" in f.notes for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
