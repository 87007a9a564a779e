"""`make bench`: run every benchmark (or those named) and write bench/results/<name>.json."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import platform
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
BENCHMARKS = ("copy_writer", "ingest")

Benchmark = Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]


def _machine() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "system": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of {BENCHMARKS}; all by default"
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows per bulk measurement")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (the median is kept)")
    for name in BENCHMARKS:  # a benchmark with options of its own declares them
        add_arguments = getattr(importlib.import_module(f"bench.{name}"), "add_arguments", None)
        if add_arguments is not None:
            add_arguments(parser)
    args = parser.parse_args(argv)
    RESULTS.mkdir(exist_ok=True)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {sorted(unknown)}")
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        run: Benchmark = module.run
        result: dict[str, Any] = asyncio.run(run(args))
        result |= {"benchmark": name, "at": datetime.now(UTC).isoformat(), "machine": _machine()}
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result["summary"], indent=2))
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
