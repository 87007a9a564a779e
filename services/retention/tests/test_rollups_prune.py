"""prune_rollup / prune_rollups as vigil_retention: rows older than keep_days go, with one
``retention.rollup_pruned`` audit row and the counter; a dry run only counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from vigil_retention.rollups.prune import prune_rollup, prune_rollups
from vigil_retention.rollups.runner import run_rollups

from .rollups_support import HOUR, T0, Raw, generate, insert

PoolAs = Callable[[str], Awaitable[Any]]
NOW = T0 + timedelta(days=1, hours=2)  # keep_days 1: buckets before T0 + 2 h go


async def _rolled_up(pg_pool: asyncpg.Pool, pool: asyncpg.Pool) -> None:
    async with pg_pool.acquire() as conn:
        await insert(conn, generate(Raw(), T0, hours=5, seed=17))
        await conn.execute("UPDATE rollup_state SET keep_days = 1")
    await run_rollups(pool, T0 + 6 * HOUR, chunk_buckets=100)


async def _buckets(conn: asyncpg.Connection, table: str) -> list[Any]:
    return [r[0] for r in await conn.fetch(f"SELECT bucket FROM {table} ORDER BY bucket")]


async def test_prune_deletes_old_buckets_and_audits(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    pool = await pg_pool_as("vigil_retention")
    await _rolled_up(pg_pool, pool)
    async with pg_pool.acquire() as conn:
        buckets = await _buckets(conn, "occupancy_hourly")
    old = sum(b < T0 + 2 * HOUR for b in buckets)
    assert 0 < old < len(buckets)
    labels = {"rollup": "occupancy_hourly"}
    pruned_before = (
        REGISTRY.get_sample_value("vigil_retention_rollup_rows_pruned_total", labels) or 0.0
    )

    async with pool.acquire() as conn:
        rows = await prune_rollup(conn, "occupancy_hourly", T0 + 2 * HOUR, now=NOW)
        assert await prune_rollup(conn, "occupancy_hourly", T0 + 2 * HOUR, now=NOW) == 0

    assert rows == old
    async with pg_pool.acquire() as conn:
        left = await _buckets(conn, "occupancy_hourly")
        audits = await conn.fetch(
            "SELECT ts, actor, entity_type, entity_id, details FROM audit_log"
            " WHERE action = 'retention.rollup_pruned'"
        )
    assert left == [b for b in buckets if b >= T0 + 2 * HOUR]
    assert len(audits) == 1  # the second, empty prune writes none
    audit = audits[0]
    assert (audit["actor"], audit["entity_type"], audit["entity_id"]) == (
        "vigil-retention", "rollup", "occupancy_hourly",
    )  # fmt: skip
    assert audit["ts"] == NOW
    assert audit["details"]["rows"] == old
    assert audit["details"]["before"] == (T0 + 2 * HOUR).isoformat()
    pruned_after = REGISTRY.get_sample_value("vigil_retention_rollup_rows_pruned_total", labels)
    assert pruned_after == pruned_before + old


async def test_prune_rollups_uses_keep_days_and_dry_run_only_counts(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    pool = await pg_pool_as("vigil_retention")
    await _rolled_up(pg_pool, pool)
    async with pg_pool.acquire() as conn:
        await conn.execute(
            "UPDATE rollup_state SET keep_days = NULL WHERE rollup_name = 'camera_stats_hourly'"
        )
        counts = {
            t: await conn.fetchval(f"SELECT count(*) FROM {t} WHERE bucket < $1", T0 + 2 * HOUR)
            for t in ("occupancy_hourly", "system_metrics_rollup_1m", "camera_stats_hourly")
        }

    dry = await prune_rollups(pool, NOW, dry_run=True)
    async with pg_pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM occupancy_hourly WHERE bucket < $1", T0 + 2 * HOUR
            )
            == counts["occupancy_hourly"]
        )
    done = await prune_rollups(pool, NOW)

    expected = {"occupancy_hourly": counts["occupancy_hourly"],
                "system_metrics_rollup_1m": counts["system_metrics_rollup_1m"]}  # fmt: skip
    assert {r.name: r.rows for r in dry} == expected
    assert {r.name: r.rows for r in done} == expected
    assert all(r.before == T0 + 2 * HOUR for r in done)
    async with pg_pool.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM camera_stats_hourly WHERE bucket < $1", T0 + 2 * HOUR
            )
            == counts["camera_stats_hourly"]
            > 0
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM system_metrics_rollup_1m WHERE bucket < $1", T0 + 2 * HOUR
            )
            == 0
        )


async def test_prune_refuses_an_unknown_rollup(pg_pool_as: PoolAs) -> None:
    pool = await pg_pool_as("vigil_retention")
    async with pool.acquire() as conn:
        with pytest.raises(ValueError, match="unknown rollup"):
            await prune_rollup(conn, "camera_events", T0)
