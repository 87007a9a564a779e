"""The optimizer benchmark's own code: its fleet layout, one measured review of a small
fleet through the real pipeline (vigil-onvif-sim as a process, real PostgreSQL and Redis),
and the summary and docs block computed from the runs.

No benchmark runs here (`make bench-optimizer` runs it).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio

from bench.optimizer.fleet import SimProcess, latency_of, layout, register
from bench.optimizer.measure import Bounds, review_fleet
from bench.optimizer.report import render, summarize
from vigil_optimizer.pipeline import build_reviewer
from vigil_optimizer.settings import OptimizerSettings
from vigil_runtime.crypto import CredentialCipher, generate_key
from vigil_schema.roles import service_role

PoolAs = Callable[[str], Awaitable[Any]]


def test_layout_spreads_cameras_over_sites_and_adds_one_dead_camera_per_site() -> None:
    cameras = layout(20, 4, (50.0, 150.0))
    live = [c for c in cameras if not c.dead]
    dead = [c for c in cameras if c.dead]
    assert len(live) == 20
    assert sorted(c.site for c in dead) == ["site-00", "site-01", "site-02", "site-03"]
    assert {c.site for c in live} == {c.site for c in dead}
    assert [c.index for c in cameras] == list(range(24))  # simulated camera onvif-<index>
    assert sum(c.dark for c in live) == 5
    latencies = sorted(c.latency_ms for c in live)
    assert (latencies[0], latencies[-1]) == (50.0, 150.0)
    assert len(set(latencies)) == 20  # evenly spread, one value each
    per_site = {site: [c.latency_ms for c in live if c.site == site] for site in ("site-00",)}
    assert min(per_site["site-00"]) < 100 < max(per_site["site-00"])  # no site only slow
    assert latency_of(0, 1, (50.0, 150.0)) == 100.0


async def test_review_fleet_measures_live_and_dead_cameras_through_the_pipeline(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs, database_url: str, redis_url: str,
    redis_client: redis.asyncio.Redis, tmp_path: Path,
) -> None:  # fmt: skip
    # The timeout leaves a live camera's answer (5-20 ms here) room on a loaded CI machine
    # (0.5 s was once too short there for a live camera's imaging call).
    fleet = layout(4, 2, (5.0, 20.0))
    key, password = generate_key(), f"pw-{secrets.token_hex(8)}"
    cipher = CredentialCipher.from_secret(key)
    sim = SimProcess(len(fleet), password, tmp_path / "onvif-sim.log")
    await sim.start()
    try:
        await sim.configure(fleet)
        await register(pg_pool, fleet, sim.base_port, password, cipher)
        settings = OptimizerSettings(
            database_url=database_url, redis_url=redis_url, secret_key=key,
            snapshot_dir=tmp_path / "snapshots", onvif_timeout_s=2.0, onvif_attempts=1,
        )  # fmt: skip
        pool = await pg_pool_as(service_role("optimizer"))
        async with httpx.AsyncClient() as http:
            reviewer = build_reviewer(settings, pool, redis_client, cipher, http)
            figures = await review_fleet(reviewer, fleet, Bounds(32, 4, 30.0), server_pids={},
                                         sim_pid=sim.pid)  # fmt: skip
    finally:
        await sim.stop()
    assert figures["live_outcomes"] == {"recommended": 4}
    assert figures["dead_outcomes"] == {"unreachable": 2}
    assert figures["recommendations"] == 4
    assert figures["dead_done_s"] >= 2.0  # each dead camera's call timed out
    last = max(figures["live_done_s"], figures["dead_done_s"])
    assert last == pytest.approx(figures["wall_s"], abs=0.1)
    assert figures["cpu_s"]["optimizer"] > 0
    assert figures["optimizer_cpu_ms_per_recommendation"] > 0
    stored = await pg_pool.fetchval("SELECT count(DISTINCT camera_id) FROM optimizations")
    assert stored == 4
    tokens = await pg_pool.fetch("SELECT credentials_encrypted FROM cameras")
    assert all(password.encode() not in bytes(row[0]) for row in tokens)


def _run(cameras: int, live_done_s: float, cpu_s: float, *, dead: int = 0,
         bounds: tuple[int, int] = (32, 4)) -> dict[str, Any]:  # fmt: skip
    return {
        "cameras": cameras, "dead_cameras": dead, "global_concurrency": bounds[0],
        "per_site_concurrency": bounds[1], "wall_s": live_done_s + 30 * bool(dead),
        "live_done_s": live_done_s, "dead_done_s": 30.0 if dead else 0.0,
        "live_outcomes": {"recommended": cameras},
        "dead_outcomes": {"unreachable": dead} if dead else {},
        "recommendations": cameras, "cameras_per_min": round(cameras / live_done_s * 60, 1),
        "optimizer_cpu_ms_per_recommendation": round(cpu_s / cameras * 1000, 1),
        "cpu_s": {"optimizer": cpu_s, "onvif_sim": 2.0, "postgres": 0.5, "busy_cores": 1.1},
        "review_s": {"p50": 2.0, "p95": 3.0, "max": 3.5},
    }  # fmt: skip


def test_summary_extrapolates_the_sequential_baseline_and_compares_dead_cameras() -> None:
    results = {
        "sequential": _run(20, 30.0, 1.6, bounds=(1, 1)),  # 1.5 s a camera
        "concurrent": {"50": _run(50, 5.0, 4.0), "500": _run(500, 50.0, 40.0)},
        "dead": _run(500, 55.0, 41.0, dead=10),
        "apply": _run(50, 10.0, 6.0),
    }
    parameters = {"cpus": 2, "vendors": "hikvision and axis alternating", "sites": 10,
                  "latency_ms": [50, 150], "engine": "heuristic", "apply_policy": "manual",
                  "dead_camera": "every SOAP answer hangs"}  # fmt: skip
    summary = summarize(results, parameters)
    assert summary["sequential"]["per_camera_s"] == 1.5
    row = summary["fleets"]["500"]
    assert row["sequential_extrapolated_s"] == 750.0
    assert row["speedup_vs_sequential"] == 15.0
    assert row["cameras_per_min"] == 600.0
    assert row["optimizer_busy_cores"] == 0.8
    assert summary["dead"]["slowdown"] == 1.1
    assert summary["apply"]["time_vs_manual"] == 2.0
    assert summary["apply"]["cpu_vs_manual"] == 1.5
    assert summary["targets"]["500_cameras_minutes"]["met"]
    assert summary["targets"]["dead_cameras_hold_up_no_one"]["met"]
    results["dead"] = _run(500, 80.0, 41.0, dead=10)
    assert not summarize(results, parameters)["targets"]["dead_cameras_hold_up_no_one"]["met"]
    result = {"parameters": parameters, "results": results, "summary": summary,
              "at": datetime(2026, 12, 2, 6, 0, tzinfo=UTC).isoformat()}  # fmt: skip
    text = render(result, "bench/results/optimizer/x.json")
    assert "| 500 | 32 / 4 | 50.0 | 600.0 | 80.0 | 0.80 | 750.0 | 15.0 |" in text
    assert "| 20 | 1 / 1 (sequential) | 30.0 | 40.0 | 80.0 | | | 1 |" in text
    assert "reviewed in 55.0 s against 50.0 s without the dead ones (x1.10)" in text
    assert "| 500 cameras + dead | 41.0 | 2.0 | 0.5 | – | 1.10 | 2.00 / 3.00 |" in text
    assert "`500_cameras_minutes`: met (0.83 minutes)" in text
    assert "x2.00 the time and x1.50 the CPU of the same cameras without applying" in text
