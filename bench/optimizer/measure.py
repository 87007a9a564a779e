"""One measured review of a set of cameras through the real pipeline and scheduler.

:func:`review_fleet` submits every camera to a :class:`~vigil_optimizer.scheduler.
FleetScheduler` (bounds as given) whose review is the real
:meth:`~vigil_optimizer.review.Reviewer.review` (ONVIF inspection, snapshot health, the
heuristic engine, recommendation stored), and waits until the scheduler is idle. It returns
the wall time, each review's outcome and duration, and the CPU seconds of each part of the
box meanwhile: this process (the optimizer: ``time.process_time``, every thread), the
simulator's process and the stack's servers (:class:`~bench.harness.cpu.CpuMeter`).

The benchmark's own share of this process (submitting, a timestamp per review) is a few
microseconds per camera, inside the optimizer's figure.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.harness.cpu import CpuMeter, cpu_seconds
from bench.optimizer.fleet import BenchCamera
from vigil_optimizer.review import Reviewer
from vigil_optimizer.scheduler import FleetScheduler, Reason

ENGINE_OUTCOMES = ("recommended", "no_change", "applied")
"""Outcomes of a review that reached the engine (the camera was inspected and a
recommendation computed; ``recommended`` and ``applied`` stored one)."""


@dataclass(frozen=True)
class Bounds:
    """The scheduler's bounds and its per-review timeout."""

    global_concurrency: int
    per_site_concurrency: int
    timeout_s: float


@dataclass
class _Log:
    """Start, end and outcome of every review."""

    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)


async def review_fleet(
    reviewer: Reviewer, cameras: Sequence[BenchCamera], bounds: Bounds, *,
    server_pids: Mapping[str, int], sim_pid: int,
) -> dict[str, Any]:  # fmt: skip
    """Review ``cameras`` under ``bounds``; the figures (see the module docstring)."""
    log = _Log()

    async def review(camera_id: str, reason: str) -> None:
        log.started[camera_id] = time.monotonic()
        try:
            log.outcomes[camera_id] = await reviewer.review(camera_id, reason)
        finally:
            log.ended[camera_id] = time.monotonic()

    scheduler = FleetScheduler(review, global_concurrency=bounds.global_concurrency,
                               per_site_concurrency=bounds.per_site_concurrency,
                               timeout_s=bounds.timeout_s)  # fmt: skip
    meter = CpuMeter.start(server_pids)
    sim_before, cpu_before = cpu_seconds(sim_pid) or 0.0, time.process_time()
    start = time.monotonic()
    stop = asyncio.Event()
    runner = asyncio.create_task(scheduler.run(stop))
    for camera in cameras:
        scheduler.submit(camera.camera_id, Reason.PERIODIC, site=camera.site)
    await scheduler.wait_idle()
    wall = time.monotonic() - start
    optimizer_cpu = time.process_time() - cpu_before
    cpu = meter.stop(optimizer_cpu, (cpu_seconds(sim_pid) or 0.0) - sim_before)
    stop.set()
    await runner
    return _figures(cameras, bounds, log, start, wall, cpu)


def _figures(cameras: Sequence[BenchCamera], bounds: Bounds, log: _Log, start: float,
             wall: float, cpu: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    live = [c.camera_id for c in cameras if not c.dead]
    dead = [c.camera_id for c in cameras if c.dead]
    live_outcomes, dead_outcomes = _outcomes(log, live), _outcomes(log, dead)
    engine_runs = sum(live_outcomes.get(o, 0) for o in ENGINE_OUTCOMES)
    durations = [log.ended[c] - log.started[c] for c in live if c in log.ended]
    live_done, dead_done = _last(log, live, start), _last(log, dead, start)
    optimizer_cpu = cpu.pop("consumer")
    parts = {"optimizer": round(optimizer_cpu, 2), "onvif_sim": cpu.pop("publisher")} | cpu
    return {
        "cameras": len(live),
        "dead_cameras": len(dead),
        "global_concurrency": bounds.global_concurrency,
        "per_site_concurrency": bounds.per_site_concurrency,
        "wall_s": round(wall, 2),
        "live_done_s": round(live_done, 2),
        "dead_done_s": round(dead_done, 2),
        "live_outcomes": live_outcomes,
        "dead_outcomes": dead_outcomes,
        "recommendations": engine_runs,
        "cameras_per_min": round(len(live) / live_done * 60, 1) if live_done else None,
        "optimizer_cpu_ms_per_recommendation": (
            round(optimizer_cpu / engine_runs * 1000, 1) if engine_runs else None
        ),
        "review_s": _spread(durations),
        "cpu_s": parts,
    }


def _outcomes(log: _Log, camera_ids: list[str]) -> dict[str, int]:
    """How many of ``camera_ids`` ended with each outcome (``timeout``: the scheduler's)."""
    return dict(sorted(Counter(log.outcomes.get(c, "timeout") for c in camera_ids).items()))


def _last(log: _Log, camera_ids: list[str], start: float) -> float:
    """Seconds from ``start`` until the last of ``camera_ids`` was reviewed (0: none)."""
    return max((log.ended[c] - start for c in camera_ids if c in log.ended), default=0.0)


def _spread(values: list[float]) -> dict[str, float] | None:
    """Median, 95th percentile and maximum of ``values`` (seconds)."""
    if not values:
        return None
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3),
            "max": round(ordered[-1], 3)}  # fmt: skip
