"""run_rollups on a real database as vigil_retention: every column equals the aggregate of
the raw rows (computed in Python), re-runs change nothing, the watermarks move as designed,
late rows count until their bucket is final, final buckets outlive their raw partitions."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from vigil_retention.rollups.runner import failed, run_rollups

from .rollups_support import (
    HOUR,
    T0,
    Raw,
    expected_camera_stats,
    expected_occupancy,
    expected_system_metrics,
    fetch_keyed,
    generate,
    insert,
    rollup_state,
)

NOW = T0 + 5 * HOUR + timedelta(minutes=40)
SM_KEY = ("metric_name", "component", "source_id", "bucket")
SM_COLS = ("value_min", "value_max", "value_avg", "value_sum", "value_count", "value_p50",
           "value_p95", "value_p99")  # fmt: skip
OCC_KEY = ("camera_id", "zone_id", "object_class", "bucket")
OCC_COLS = ("samples", "avg_count", "min_count", "max_count", "sum_count")
CS_COLS = ("event_count", "motion_events", "object_events", "scene_changes", "avg_motion_score",
           "avg_fps", "avg_quality_score", "bandwidth_bytes", "avg_objects", "max_objects",
           "frame_count", "detection_count", "heatmap_minutes", "heatmap_intensity")  # fmt: skip

PoolAs = Callable[[str], Awaitable[Any]]


def _close(actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return actual is expected
    if isinstance(expected, float) or isinstance(actual, float):
        return math.isclose(actual, expected, rel_tol=1e-6, abs_tol=1e-9)
    return bool(actual == expected)


def assert_same(actual: dict[Any, tuple[Any, ...]], expected: dict[Any, tuple[Any, ...]]) -> None:
    assert sorted(actual) == sorted(expected)
    for key, values in expected.items():
        got = actual[key]
        assert all(_close(a, e) for a, e in zip(got, values, strict=True)), (key, got, values)


async def assert_rollups_match(conn: asyncpg.Connection, raw: Raw) -> None:
    sm = await fetch_keyed(conn, "system_metrics_rollup_1m", SM_KEY, SM_COLS)
    assert_same(sm, expected_system_metrics(raw))
    occ = await fetch_keyed(conn, "occupancy_hourly", OCC_KEY, OCC_COLS)
    assert_same(occ, expected_occupancy(raw))
    cs = await fetch_keyed(conn, "camera_stats_hourly", ("camera_id", "bucket"), CS_COLS)
    expected = {k: tuple(v[c] for c in CS_COLS) for k, v in expected_camera_stats(raw).items()}
    assert_same(cs, expected)


@pytest.mark.parametrize("chunk_buckets", [1, 100])
async def test_rollups_equal_the_raw_aggregates(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs, chunk_buckets: int
) -> None:
    raw = generate(Raw(), T0, hours=5, seed=chunk_buckets)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")

    results = await run_rollups(pool, NOW, chunk_buckets=chunk_buckets)

    async with pg_pool.acquire() as conn:
        await assert_rollups_match(conn, raw)
    by_name = {r.name: r for r in results}
    assert set(by_name) == {"system_metrics_rollup_1m", "occupancy_hourly", "camera_stats_hourly"}
    occ = by_name["occupancy_hourly"]
    # Day partitions: the window starts at the oldest partition's start (T0), ends at the
    # end of the current hour; final through floor(now - 30 min).
    assert (occ.start, occ.end) == (T0, T0 + 6 * HOUR)
    assert occ.finalized_through == T0 + 5 * HOUR
    assert occ.rows == len(expected_occupancy(raw))
    assert occ.chunks == (6 if chunk_buckets == 1 else 1)
    sm = by_name["system_metrics_rollup_1m"]
    assert (sm.start, sm.end) == (T0, NOW)  # hourly partitions; NOW is a minute boundary
    assert sm.finalized_through == NOW - timedelta(minutes=5)


async def test_rerun_is_idempotent_and_moves_the_watermarks(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    raw = generate(Raw(), T0, hours=5, seed=7)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")
    await run_rollups(pool, NOW, chunk_buckets=3)
    async with pg_pool.acquire() as conn:
        before = await fetch_keyed(conn, "camera_stats_hourly", ("camera_id", "bucket"), CS_COLS)

    again = await run_rollups(pool, NOW, chunk_buckets=3)

    async with pg_pool.acquire() as conn:
        await assert_rollups_match(conn, raw)
        after = await fetch_keyed(conn, "camera_stats_hourly", ("camera_id", "bucket"), CS_COLS)
        state = await rollup_state(conn, "camera_stats_hourly")
    assert after == before
    cs = next(r for r in again if r.name == "camera_stats_hourly")
    assert (cs.start, cs.end, cs.chunks) == (T0 + 5 * HOUR, T0 + 6 * HOUR, 1)
    assert state["finalized_through"] == T0 + 5 * HOUR
    assert state["refreshed_through"] == T0 + 6 * HOUR
    assert state["last_run_at"] == NOW
    assert state["last_rows"] == cs.rows == 0  # no data in the hour from T0 + 5 h


async def test_late_rows_count_until_their_bucket_is_final(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    raw = generate(Raw(), T0, hours=6, seed=3)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")
    await run_rollups(pool, NOW, chunk_buckets=10)  # occupancy final through T0 + 5 h
    late_open = ("cam-1", T0 + 5 * HOUR + timedelta(minutes=7, microseconds=3), "north_lot",
                 "car", 39)  # fmt: skip
    late_final = ("cam-1", T0 + 2 * HOUR + timedelta(minutes=7, microseconds=3), "north_lot",
                  "car", 39)  # fmt: skip
    late = Raw()
    late.rows["occupancy_events"] += [late_open, late_final]
    async with pg_pool.acquire() as conn:
        await insert(conn, late, ["occupancy_events"])

    await run_rollups(pool, NOW + timedelta(minutes=10), chunk_buckets=10)

    with_open = Raw()
    with_open.rows["occupancy_events"] = [*raw.rows["occupancy_events"], late_open]
    with_final = Raw()
    with_final.rows["occupancy_events"] = [*with_open.rows["occupancy_events"], late_final]
    async with pg_pool.acquire() as conn:
        occ = await fetch_keyed(conn, "occupancy_hourly", OCC_KEY, OCC_COLS)
    assert_same(occ, expected_occupancy(with_open))
    final_key = ("cam-1", "north_lot", "car", T0 + 2 * HOUR)
    assert occ.get(final_key) != expected_occupancy(with_final)[final_key]


async def test_final_buckets_outlive_their_raw_partitions(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    raw = generate(Raw(), T0, hours=5, seed=11)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")
    await run_rollups(pool, T0 + 8 * HOUR, chunk_buckets=24)

    async with pg_pool.acquire() as conn:
        for table in ("occupancy_events", "camera_events", "frame_metadata", "heatmap_minutes"):
            await conn.execute(f"DROP TABLE {table}_p20260302")
        for h in range(5):
            await conn.execute(f"DROP TABLE system_metrics_p20260302{h:02d}")
        assert await conn.fetchval("SELECT count(*) FROM occupancy_events") == 0
    await run_rollups(pool, T0 + 9 * HOUR, chunk_buckets=24)

    async with pg_pool.acquire() as conn:
        await assert_rollups_match(conn, raw)


async def test_dry_run_writes_nothing(pg_pool: asyncpg.Pool, pg_pool_as: PoolAs) -> None:
    raw = generate(Raw(), T0, hours=2, seed=5)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")

    results = await run_rollups(pool, NOW, chunk_buckets=2, dry_run=True)

    occ = next(r for r in results if r.name == "occupancy_hourly")
    assert (occ.start, occ.end, occ.chunks, occ.rows) == (T0, T0 + 6 * HOUR, 3, 0)
    assert occ.finalized_through == T0 + 5 * HOUR
    assert occ.dry_run
    assert occ.describe()["range"] == [T0.isoformat(), (T0 + 6 * HOUR).isoformat()]
    async with pg_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM occupancy_hourly") == 0
        assert await conn.fetchval("SELECT count(*) FROM system_metrics_rollup_1m") == 0
        state = await rollup_state(conn, "occupancy_hourly")
    assert state["finalized_through"] is None
    assert state["last_run_at"] is None


async def test_metrics_count_rows_and_finalized(pg_pool: asyncpg.Pool, pg_pool_as: PoolAs) -> None:
    raw = generate(Raw(), T0, hours=3, seed=13)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
    pool = await pg_pool_as("vigil_retention")
    labels = {"rollup": "occupancy_hourly"}
    rows_before = REGISTRY.get_sample_value("vigil_retention_rollup_rows_total", labels) or 0.0

    results = await run_rollups(pool, NOW, chunk_buckets=4)

    rows_after = REGISTRY.get_sample_value("vigil_retention_rollup_rows_total", labels)
    assert rows_after == rows_before + len(expected_occupancy(raw))
    finalized = REGISTRY.get_sample_value(
        "vigil_retention_rollup_finalized_timestamp_seconds", labels
    )
    assert finalized == (T0 + 5 * HOUR).timestamp()
    assert next(r for r in results if r.name == "occupancy_hourly").rows == len(
        expected_occupancy(raw)
    )


async def test_a_failed_chunk_keeps_committed_chunks_and_the_next_run_resumes(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    raw = generate(Raw(), T0, hours=5, seed=19)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw)
        await conn.execute("""
            CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'chunk failed'; END $$;
            CREATE TRIGGER test_fail BEFORE INSERT ON occupancy_hourly FOR EACH ROW
              WHEN (NEW.bucket >= '2026-03-02 03:00+00') EXECUTE FUNCTION test_fail();
        """)  # fmt: skip
    pool = await pg_pool_as("vigil_retention")

    first = await run_rollups(pool, NOW, chunk_buckets=1)

    assert [r.name for r in failed(first)] == ["occupancy_hourly"]
    assert "chunk failed" in (failed(first)[0].error or "")
    assert all(r.rows > 0 for r in first if r.name != "occupancy_hourly")  # the others ran
    async with pg_pool.acquire() as conn:
        state = await rollup_state(conn, "occupancy_hourly")
        assert state["finalized_through"] == T0 + 3 * HOUR
        assert await conn.fetchval("SELECT max(bucket) FROM occupancy_hourly") < T0 + 3 * HOUR
        await conn.execute("DROP TRIGGER test_fail ON occupancy_hourly")
    results = await run_rollups(pool, NOW, chunk_buckets=1)

    occ = next(r for r in results if r.name == "occupancy_hourly")
    assert (occ.start, occ.chunks) == (T0 + 3 * HOUR, 3)
    async with pg_pool.acquire() as conn:
        await assert_rollups_match(conn, raw)
