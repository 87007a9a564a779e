"""`make bench-retention`: expiring a day of ``camera_events`` by DETACH + DROP against
DELETE, and seed 004's scenario A from the hourly rollup against the raw rows, in one run.

One private local stack (durable: fsync, synchronous commit and full-page writes on),
migrated to head; the benchmark connects as the stack's superuser (the retention service
runs the same DDL as ``vigil_owner``: the cost is the same).

* ``expiry`` (:mod:`bench.retention.expiry`): two day partitions of ``--expiry-rows`` rows
  each (``--expiry-cameras`` cameras), one detached concurrently and dropped, the other's
  rows deleted and then vacuumed; seconds, WAL bytes, dead tuples and size left, and the
  insert latency of a writer into today's partition meanwhile (``--writer-interval-ms``).
* ``scenario`` (:mod:`bench.retention.scenario`): ``--scenario-days`` days ×
  ``--scenario-cameras`` cameras × 4 zones in ``occupancy_hourly`` and, at one sample per
  ``--raw-interval-s`` per camera and zone, in ``occupancy_events``; the scenario's query on
  each, warm, median of ``--query-runs`` (``--raw-query-runs`` for the raw one).

``python -m bench.retention --expiry-rows 200000 --scenario-days 14`` for a quick try.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from bench.harness.results import relative
from bench.harness.stack import private_stack
from bench.retention import report
from bench.retention.expiry import measure_expiry
from bench.retention.scenario import ZONES, measure_scenario, samples_per_hour


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``python -m bench.run``)."""
    group = parser.add_argument_group("retention")
    group.add_argument("--expiry-rows", type=int, default=10_000_000,
                       help="camera_events rows of each expired day partition")  # fmt: skip
    group.add_argument("--expiry-cameras", type=int, default=100,
                       help="cameras the day's rows are spread over")  # fmt: skip
    group.add_argument("--writer-interval-ms", type=float, default=10.0,
                       help="pace of a writer into today's partition (0: none)")  # fmt: skip
    group.add_argument("--scenario-days", type=int, default=90, help="days of occupancy")
    group.add_argument("--scenario-cameras", type=int, default=100, help="cameras of 4 zones")
    group.add_argument("--raw-interval-s", type=int, default=300,
                       help="seconds between raw occupancy samples of a camera's zone")  # fmt: skip
    group.add_argument("--query-runs", type=int, default=50,
                       help="timed runs of the rollup query (the median is kept)")  # fmt: skip
    group.add_argument("--raw-query-runs", type=int, default=5,
                       help="timed runs of the raw query (the median is kept)")  # fmt: skip


def _options(args: argparse.Namespace) -> argparse.Namespace:
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    return argparse.Namespace(**(vars(defaults.parse_args([])) | vars(args)))


def _check(options: argparse.Namespace) -> None:
    counts = (options.expiry_rows, options.expiry_cameras, options.scenario_days,
              options.scenario_cameras, options.query_runs, options.raw_query_runs)  # fmt: skip
    if min(counts) < 1 or options.writer_interval_ms < 0:
        raise SystemExit("retention: rows, cameras, days and runs at least 1; interval >= 0")
    try:
        samples_per_hour(options.raw_interval_s)
    except ValueError as error:
        raise SystemExit(f"--raw-interval-s: {error}") from None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Both parts on a private stack (``bench.run`` API)."""
    options = _options(args)
    _check(options)
    async with private_stack("retention") as (info, _workdir):
        results = await measure(info.database_url, options)
    return {"parameters": parameters(options), "results": results,
            "summary": report.summarize(results)}  # fmt: skip


async def measure(url: str, options: argparse.Namespace) -> dict[str, Any]:
    """Both parts against the migrated database at ``url`` (a superuser's)."""
    interval = options.writer_interval_ms / 1000 if options.writer_interval_ms > 0 else None
    expiry = await measure_expiry(url, options.expiry_rows, options.expiry_cameras,
                                  writer_interval_s=interval, log=_log)  # fmt: skip
    scenario = await measure_scenario(
        url, days=options.scenario_days, cameras=options.scenario_cameras,
        raw_interval_s=options.raw_interval_s, runs=options.query_runs,
        raw_runs=options.raw_query_runs, log=_log,
    )  # fmt: skip
    return {"expiry": expiry, "scenario": scenario}


def parameters(options: argparse.Namespace) -> dict[str, Any]:
    """The run's parameters as the results file records them."""
    return {
        "expiry_rows": options.expiry_rows, "expiry_cameras": options.expiry_cameras,
        "writer_interval_ms": options.writer_interval_ms or None,
        "scenario_days": options.scenario_days, "scenario_cameras": options.scenario_cameras,
        "zones": len(ZONES), "raw_interval_s": options.raw_interval_s,
        "query_runs": options.query_runs, "raw_query_runs": options.raw_query_runs,
        "durable_stack": True, "cpus": len(os.sched_getaffinity(0)),
    }  # fmt: skip


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' retention block for the results file ``path``."""
    return report.render(result, relative(path))


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
