"""`make bench-ingest`: Vigil's ingest against the broker ceiling, raw COPY and naive INSERTs.

One private local stack (durable: fsync on) in a temporary folder, migrated, 100 cameras
registered. For each mode (one event per message, then batches of 50), in the same run:

* ``bare``: :mod:`bench.ingest.bare`, a paho subscriber that only ``json.loads`` each
  payload: the broker (and publisher) ceiling;
* ``ingest``: the real ``vigil-ingest`` console script, default settings (validation, COPY,
  Redis fan-out, ack after commit), as 1 and as 2 replicas on one shared subscription
  (``--replicas``); committed events are sampled from their ``/metrics``, then rows are
  counted: every event the broker acknowledged to camsim must be in camera_events exactly
  once, and every events message in ``vigil:events``;

each measured **live** (``vigil-camsim`` publishing for the duration: unpaced with single
events, at ``--batch-rate`` with batches) and on a **backlog** (a fixed number of events
queued at the broker for the offline consumer, then drained alone); see
:mod:`bench.ingest.modes`. Then, with the rows the ingest stored:

* ``psql_copy``: exported and loaded back with ``psql \\copy``;
* ``naive_insert``: one INSERT and commit per row, for a subset.

Rates are sustained rates (between 5 % and 95 % of each consumer's final count; see
:mod:`bench.harness.counting`). ``python -m bench.ingest --duration 10`` for a quick try.
Each run writes bench/results/ingest/<UTC time>.json; :func:`render` makes the ingest block
of docs/benchmarks.md from it.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.harness.results import earlier, load, relative
from bench.harness.stack import private_stack, server_pids
from bench.ingest import report
from bench.ingest.consumers import Workload
from bench.ingest.modes import ModeRun
from bench.ingest.rows import register_cameras
from vigil_runtime.db import create_pool
from vigil_runtime.stack import StackInfo

MODES = {"single": 1, "batch50": 50}
"""Mode name → events per MQTT message."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``python -m bench.run``)."""
    group = parser.add_argument_group("ingest")
    group.add_argument("--duration", type=float, default=60.0, help="seconds camsim publishes")
    group.add_argument("--cameras", type=int, default=100, help="simulated cameras")
    group.add_argument(
        "--fps",
        type=float,
        default=0.0,
        help="live single mode: events/s per camera (0: as fast as camsim can)",
    )
    group.add_argument(
        "--batch-rate",
        type=float,
        default=50_000.0,
        help="live batch mode: events/s of the whole fleet (0: as fast as camsim can)",
    )
    group.add_argument(
        "--backlog-events", type=int, default=300_000, help="events queued for the backlog runs"
    )
    group.add_argument("--window", type=int, default=1000, help="camsim's in-flight window")
    group.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated subset of {list(MODES)}"
    )
    group.add_argument(
        "--replicas",
        default="1,2",
        help="comma-separated ingest replica counts to measure (each on its own sessions)",
    )


def _options(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` completed with this benchmark's defaults (``bench.run`` may not set them)."""
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    return argparse.Namespace(**(vars(defaults.parse_args([])) | vars(args)))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every mode on a private durable stack; return the result (``bench.run`` API)."""
    options = _options(args)
    modes = [mode.strip() for mode in options.modes.split(",") if mode.strip()]
    unknown = set(modes) - set(MODES)
    if unknown:
        raise SystemExit(f"unknown mode(s) {sorted(unknown)}; choose from {list(MODES)}")
    async with private_stack("ingest") as (info, workdir):
        return await _run_on(info, workdir, options, modes)


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' ingest block for the results file ``path`` (``result``), with every run
    before it in the same folder."""
    runs = [(relative(other), load(other)) for other in earlier(path)]
    return report.render(result, relative(path), runs)


async def _run_on(
    info: StackInfo, workdir: Path, options: argparse.Namespace, modes: list[str]
) -> dict[str, Any]:
    replica_counts = _replica_counts(options.replicas)
    pool = await create_pool(info.database_url, min_size=1, max_size=4)
    redis = aioredis.Redis.from_url(info.redis_url)
    try:
        results: dict[str, Any] = {}
        for mode in modes:
            live, backlog = _workloads(info.mqtt_url, options, MODES[mode])
            if mode == modes[0]:
                await register_cameras(pool, live.camera_ids())
            run = ModeRun(
                info, workdir, pool, redis, live, backlog, mode, replica_counts, server_pids(info)
            )
            results[mode] = await run.measure()
    finally:
        await pool.close()
        await redis.aclose()
    parameters = {
        "duration_s": options.duration,
        "cameras": options.cameras,
        "live_publisher": {
            mode: _workloads(info.mqtt_url, options, MODES[mode])[0].rate_label for mode in modes
        },
        "backlog_events": options.backlog_events,
        "ingest_replicas": list(replica_counts),
        "camsim_window": options.window,
        "qos": 1,
        "durable_stack": True,
    }
    return {"parameters": parameters, "results": results, "summary": report.summarize(results)}


def _replica_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"--replicas: expected numbers like 1,2, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise SystemExit(f"--replicas: expected numbers of at least 1, got {text!r}")
    return counts


def _workloads(url: str, options: argparse.Namespace, batch: int) -> tuple[Workload, Workload]:
    """The live workload (paced as the options say) and the backlog one (unpaced, counted)."""
    fps = options.fps if batch == 1 else options.batch_rate / options.cameras
    live = Workload(
        url=url,
        cameras=options.cameras,
        batch=batch,
        duration_s=options.duration,
        fps=fps,
        camera_prefix="bench-",
        window=options.window,
    )
    messages = -(-options.backlog_events // batch)
    backlog = replace(live, fps=0.0, count=messages, duration_s=max(600.0, options.duration))
    return live, backlog
