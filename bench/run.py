"""`make bench`: run every benchmark (or those named); each run writes its results file.

``python -m bench.run [NAME ...] [options]``: for each benchmark, run it, write
``bench/results/<name>/<UTC time>.json`` (:mod:`bench.harness.results`) and, when the file
is in the repository, render the benchmark's block of docs/benchmarks.md from that file
(:mod:`bench.harness.docs`). ``--results-dir DIR`` writes elsewhere and leaves the docs
alone (smoke runs); ``--docs-only`` re-renders the docs from each benchmark's latest file
without running anything.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.harness.docs import replace_block
from bench.harness.results import (
    add_results_argument,
    in_repository,
    latest,
    load,
    relative,
    write_result,
)

BENCHMARKS = {
    "copy_writer": "bench.copy_writer",
    "ingest": "bench.ingest.benchmark",
    "analyzer": "bench.analyzer.benchmark",
    "optimizer": "bench.optimizer.benchmark",
    "alerter": "bench.alerter.benchmark",
    "retention": "bench.retention.benchmark",
}
"""Name → module: ``async run(args) -> dict`` with a ``summary``; optionally
``add_arguments(parser)`` and ``render(result, path) -> str`` (its docs block)."""

Benchmark = Callable[[argparse.Namespace], Coroutine[Any, Any, dict[str, Any]]]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of {list(BENCHMARKS)}; all by default"
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows per bulk measurement")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (the median is kept)")
    add_results_argument(parser)
    parser.add_argument(
        "--docs-only", action="store_true", help="re-render the docs from the latest files"
    )
    for module in BENCHMARKS.values():  # a benchmark with options of its own declares them
        add_arguments = getattr(importlib.import_module(module), "add_arguments", None)
        if add_arguments is not None:
            add_arguments(parser)
    return parser


def document(name: str, module: ModuleType, path: Path) -> None:
    """Render ``name``'s docs block from its results file ``path`` (if it has one)."""
    render = getattr(module, "render", None)
    if render is not None:
        replace_block(name, render(load(path), path))
        print(f"docs/benchmarks.md: {name} block from {relative(path)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = _parser()
    args = parser.parse_args(argv)
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {sorted(unknown)}")
    for name in args.names or BENCHMARKS:
        module = importlib.import_module(BENCHMARKS[name])
        if args.docs_only:
            path = latest(name, args.results_dir)
            if path is None:
                parser.error(f"no results file of {name} in {args.results_dir}")
            document(name, module, path)
            continue
        run: Benchmark = module.run
        result: dict[str, Any] = asyncio.run(run(args))
        path = write_result(name, result, args.results_dir)
        print(json.dumps(result["summary"], indent=2))
        print(f"wrote {path}", file=sys.stderr)
        if in_repository(args.results_dir):
            document(name, module, path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
