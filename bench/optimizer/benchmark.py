"""`make bench-optimizer`: fleet reviews per minute and CPU per recommendation, through the
real optimizer pipeline, against simulated cameras with realistic per-call latency.

One private local stack (durable: fsync on), migrated. ``vigil-onvif-sim`` serves the fleet
in its own process (:mod:`bench.optimizer.fleet`): the largest of ``--fleets`` live cameras
over ``--sites`` sites, Hikvision and Axis profiles alternating, each SOAP answer delayed by
a per-camera latency spread over ``--latency-ms`` (default 50-150 ms: an embedded camera's
web server answering a WS-Security-signed SOAP call across a site network), a quarter of
them with a dark, noisy scene; plus one dead camera per site (every answer hangs). They are
registered in ``cameras`` with their login encrypted under a generated ``VIGIL_SECRET_KEY``,
policy ``manual`` (nothing applied: the main figures are inspect + snapshot + recommend +
store; the ``apply`` scenario turns ``auto`` on at the end).

The optimizer is the service's own pipeline in this process
(:func:`vigil_optimizer.pipeline.build_reviewer` with the service's default settings, its
role's login, a pool as the service opens it, INFO logs to a file) under a
:class:`~vigil_optimizer.scheduler.FleetScheduler` (:mod:`bench.optimizer.measure`). In one
run, side by side:

* ``warm_up``: a few cameras first (WSDLs loaded, connections opened), not reported;
* ``sequential``: ``--sequential-cameras`` cameras one at a time (bounds 1 / 1): the
  baseline, per camera, extrapolated to each fleet size;
* ``concurrent``: each fleet size with the service's bounds (global 32, per site 4);
* ``apply`` (last): the ``--apply-fleet`` size again with policy ``auto``: each confident
  recommendation applied at once (Set calls, read-back, applied_configs and audit rows);
* ``dead``: the ``--dead-fleet`` size again with one dead camera per site, submitted first
  (each holds one of its site's slots from the start): the live cameras' time against the
  same fleet without them.

``python -m bench.optimizer --fleets 20 --sequential-cameras 5`` for a quick try.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis

from bench.harness.results import relative
from bench.harness.stack import private_stack, server_pids, service_env
from bench.optimizer import report
from bench.optimizer.fleet import BenchCamera, SimProcess, layout, register, set_policy
from bench.optimizer.measure import Bounds, review_fleet
from vigil_optimizer.pipeline import build_reviewer
from vigil_optimizer.review import Reviewer
from vigil_optimizer.settings import OptimizerSettings
from vigil_runtime.crypto import CredentialCipher, generate_key
from vigil_runtime.db import create_pool
from vigil_runtime.logging import configure_logging
from vigil_runtime.stack import StackInfo

WARM_UP_CAMERAS = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of this benchmark (also offered by ``python -m bench.run``)."""
    group = parser.add_argument_group("optimizer")
    group.add_argument("--fleets", default="50,200,500",
                       help="comma-separated fleet sizes (live cameras)")  # fmt: skip
    group.add_argument("--sites", type=int, default=10, help="sites the cameras are spread over")
    group.add_argument("--latency-ms", default="50-150",
                       help="LOW-HIGH: per-call latency of the simulated cameras")  # fmt: skip
    group.add_argument("--sequential-cameras", type=int, default=20,
                       help="cameras of the sequential baseline (concurrency 1)")  # fmt: skip
    group.add_argument("--dead-fleet", type=int, default=200,
                       help="fleet size of the dead-camera scenario (0: skip it)")  # fmt: skip
    group.add_argument("--apply-fleet", type=int, default=200,
                       help="fleet size of the auto-apply scenario (0: skip it)")  # fmt: skip


def _options(args: argparse.Namespace) -> argparse.Namespace:
    defaults = argparse.ArgumentParser()
    add_arguments(defaults)
    return argparse.Namespace(**(vars(defaults.parse_args([])) | vars(args)))


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise SystemExit(f"--fleets: expected sizes like 50,200, got {text!r}") from None
    if not sizes or sizes[0] < 1:
        raise SystemExit(f"--fleets: expected sizes of at least 1, got {text!r}")
    return sizes


def _latency(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        pair = (float(low), float(high or low))
    except ValueError:
        raise SystemExit(f"--latency-ms: expected LOW-HIGH like 50-150, got {text!r}") from None
    if pair[0] < 0 or pair[1] < pair[0]:
        raise SystemExit(f"--latency-ms: expected 0 <= LOW <= HIGH, got {text!r}")
    return pair


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every scenario on a private stack and simulator (``bench.run`` API)."""
    options = _options(args)
    sizes, latency = _sizes(options.fleets), _latency(options.latency_ms)
    if options.sites < 1 or options.sequential_cameras < 1:
        raise SystemExit("--sites and --sequential-cameras: at least 1")
    if options.dead_fleet < 0 or options.apply_fleet < 0:
        raise SystemExit("--dead-fleet and --apply-fleet: at least 0")
    largest = max([*sizes, options.dead_fleet, options.apply_fleet])
    fleet = layout(largest, options.sites, latency)
    async with private_stack("optimizer") as (info, workdir):
        results = await _run_on(info, workdir, fleet, sizes, options)
    parameters = {
        "camera_counts": sizes, "sites": options.sites,
        "latency_ms": list(latency), "sequential_cameras": options.sequential_cameras,
        "dead_fleet": options.dead_fleet, "apply_fleet": options.apply_fleet,
        "dead_camera": "every SOAP answer hangs; submitted first",
        "vendors": "hikvision and axis alternating", "dark_share": 0.25,
        "apply_policy": "manual", "engine": "heuristic", "durable_stack": True,
        "cpus": len(os.sched_getaffinity(0)),
    }  # fmt: skip
    return {"parameters": parameters, "results": results,
            "summary": report.summarize(results, parameters)}  # fmt: skip


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' optimizer block for the results file ``path``."""
    return report.render(result, relative(path))


@contextlib.contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """The optimizer's INFO logs go to ``path`` (as the service's go to its collector)."""
    with path.open("a", encoding="utf-8") as log, contextlib.redirect_stderr(log):
        configure_logging("INFO", "optimizer")  # logging writes to sys.stderr as it is now
        try:
            yield
        finally:
            configure_logging("WARNING", "bench")


async def _run_on(info: StackInfo, workdir: Path, fleet: list[BenchCamera], sizes: list[int],
                  options: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    key, password = generate_key(), secrets.token_urlsafe(16)
    sim = SimProcess(len(fleet), password, workdir / "onvif-sim.log")
    await sim.start()
    owner = await create_pool(info.database_url, min_size=1, max_size=2)
    try:
        await sim.configure(fleet)
        await register(owner, fleet, sim.base_port, password, CredentialCipher.from_secret(key))
        url = service_env(info, "optimizer")["VIGIL_DATABASE_URL"]
        settings = OptimizerSettings(database_url=url, redis_url=info.redis_url, secret_key=key,
                                     snapshot_dir=workdir / "snapshots")  # fmt: skip
        pool = await create_pool(url, application_name="vigil-optimizer")
        redis = aioredis.Redis.from_url(info.redis_url)
        try:
            with _logs_to(workdir / "optimizer.log"):
                async with httpx.AsyncClient(timeout=settings.onvif_timeout_s) as http:
                    reviewer = build_reviewer(settings, pool, redis,
                                              CredentialCipher.from_secret(key), http)  # fmt: skip
                    return await _scenarios(reviewer, settings, owner, fleet, sizes, options,
                                            server_pids(info), sim.pid)  # fmt: skip
        finally:
            await pool.close()
            await redis.aclose()
    finally:
        await owner.close()
        await sim.stop()


async def _scenarios(reviewer: Reviewer, settings: OptimizerSettings, owner: asyncpg.Pool,
                     fleet: list[BenchCamera], sizes: list[int], options: argparse.Namespace,
                     pids: dict[str, int], sim_pid: int) -> dict[str, Any]:  # fmt: skip
    live = [camera for camera in fleet if not camera.dead]
    dead = [camera for camera in fleet if camera.dead]
    service = _service_bounds(settings)
    one = Bounds(1, 1, settings.review_timeout_s)

    async def measure(label: str, cameras: list[BenchCamera], bounds: Bounds) -> dict[str, Any]:
        figures = await review_fleet(reviewer, cameras, bounds, server_pids=pids, sim_pid=sim_pid)
        _print(label, figures)
        return figures

    await measure("warm-up", live[:WARM_UP_CAMERAS], service)
    results: dict[str, Any] = {
        "sequential": await measure("sequential", live[: options.sequential_cameras], one),
        "concurrent": {},
    }
    for size in sizes:
        results["concurrent"][str(size)] = await measure(f"x{size}", live[:size], service)
    if options.dead_fleet:
        size = options.dead_fleet
        if str(size) not in results["concurrent"]:
            results["concurrent"][str(size)] = await measure(f"x{size}", live[:size], service)
        results["dead"] = await measure(f"x{size} with dead", dead + live[:size], service)
    if options.apply_fleet:  # last: the simulated cameras' settings change
        size = options.apply_fleet
        if str(size) not in results["concurrent"]:
            results["concurrent"][str(size)] = await measure(f"x{size}", live[:size], service)
        await set_policy(owner, live[:size], "auto")
        results["apply"] = await measure(f"x{size} with auto-apply", live[:size], service)
    return results


def _service_bounds(settings: OptimizerSettings) -> Bounds:
    """The service's scheduler bounds and review timeout."""
    return Bounds(settings.global_concurrency, settings.per_site_concurrency,
                  settings.review_timeout_s)  # fmt: skip


def _print(label: str, figures: dict[str, Any]) -> None:
    print(f"optimizer {label}: {figures['cameras']} cameras (+{figures['dead_cameras']} "
          f"dead) in {figures['wall_s']} s, {figures['cameras_per_min']} cameras/min, "
          f"{figures['optimizer_cpu_ms_per_recommendation']} ms CPU per recommendation, "
          f"{figures['live_outcomes']} {figures['dead_outcomes']}", file=sys.stderr)  # fmt: skip
