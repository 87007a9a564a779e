"""The documented scenario SQL (vigil_retention.rollups.queries) gives, from the rollups, the
answer the same question gets from the raw rows (and from Python), also once the raw
partitions are gone."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from vigil_retention.rollups.queries import (
    BUSIEST_HOURS_RAW_SQL,
    BUSIEST_HOURS_SQL,
    OCCUPANCY_BY_WEEKDAY_RAW_SQL,
    OCCUPANCY_BY_WEEKDAY_SQL,
    TUESDAY,
)
from vigil_retention.rollups.runner import run_rollups

from .rollups_support import HOUR, MINUTE, T0, Raw, bucket, insert

PoolAs = Callable[[str], Awaitable[Any]]
DAYS = 15  # crosses the US switch to summer time (2026-03-08)
NEW_YORK = "America/New_York"
BERLIN = "Europe/Berlin"


def _occupancy(seed: int) -> Raw:
    rng = random.Random(seed)
    raw = Raw()
    for h in range(DAYS * 24):
        for i, (zone, cls) in enumerate(
            (("north_lot", "car"), ("north_lot", "person"), ("south_lot", "car"))
        ):
            ts = T0 + h * HOUR + timedelta(minutes=rng.randrange(60), microseconds=i)
            raw.rows["occupancy_events"].append(("cam-1", ts, zone, cls, rng.randrange(50)))
    return raw


def _python_average(raw: Raw, cls: str | None) -> tuple[float, int]:
    tz = ZoneInfo(NEW_YORK)
    counts = [
        count
        for _cam, ts, zone, c, count in raw.rows["occupancy_events"]
        if zone == "north_lot" and cls in (None, c) and ts.astimezone(tz).isoweekday() == TUESDAY
    ]
    return sum(counts) / len(counts), len(counts)


@pytest.mark.parametrize("cls", ["car", None])
async def test_average_occupancy_on_tuesdays_from_the_rollup(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs, cls: str | None
) -> None:
    raw = _occupancy(seed=21)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw, ["occupancy_events"])
    retention = await pg_pool_as("vigil_retention")
    reader = await pg_pool_as("vigil_readonly")
    now = T0 + timedelta(days=DAYS, hours=1)
    await run_rollups(retention, now, chunk_buckets=48)
    args = ("north_lot", cls, T0, T0 + timedelta(days=DAYS), NEW_YORK, TUESDAY)

    async with reader.acquire() as conn:
        rolled = await conn.fetchrow(OCCUPANCY_BY_WEEKDAY_SQL, *args)
        from_raw = await conn.fetchrow(OCCUPANCY_BY_WEEKDAY_RAW_SQL, *args)

    avg, samples = _python_average(raw, cls)
    assert rolled["samples"] == from_raw["samples"] == samples
    assert rolled["avg_occupancy"] == pytest.approx(avg, rel=1e-12)
    assert from_raw["avg_occupancy"] == pytest.approx(avg, rel=1e-12)

    async with pg_pool.acquire() as conn:
        for day in range(DAYS):
            await conn.execute(f"DROP TABLE occupancy_events_p202603{2 + day:02d}")
    await run_rollups(retention, now + HOUR, chunk_buckets=48)
    async with reader.acquire() as conn:
        after = await conn.fetchrow(OCCUPANCY_BY_WEEKDAY_SQL, *args)
    assert tuple(after) == tuple(rolled)


def _heatmaps(seed: int, now: datetime) -> Raw:
    """Minutes of two cameras from T0 up to ``now``."""
    rng = random.Random(seed)
    raw = Raw()
    for cam in ("cam-1", "cam-2"):
        for m in rng.sample(range((now - T0) // MINUTE), 400):
            raw.rows["heatmap_minutes"].append(
                (cam, T0 + m * MINUTE, 1, 1, 1.0, b"", 30, rng.randrange(4000) / 4, 1.0, 1)
            )
    return raw


def _python_busiest(raw: Raw, now: datetime) -> list[tuple[datetime, float]]:
    tz = ZoneInfo(BERLIN)
    day = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    hours: dict[datetime, float] = defaultdict(float)
    for cam, ts, *rest in raw.rows["heatmap_minutes"]:
        if cam == "cam-1" and day <= ts < day + timedelta(days=1):
            hours[bucket(ts, HOUR)] += rest[5]
    return sorted(hours.items(), key=lambda kv: (-kv[1], kv[0]))


async def test_busiest_hours_today_from_the_rollup(
    pg_pool: asyncpg.Pool, pg_pool_as: PoolAs
) -> None:
    now = T0 + timedelta(days=1, hours=15, minutes=20)  # Berlin's day: T0 + 23 h .. + 47 h
    raw = _heatmaps(seed=5, now=now)
    async with pg_pool.acquire() as conn:
        await insert(conn, raw, ["heatmap_minutes"])
    await run_rollups(await pg_pool_as("vigil_retention"), now, chunk_buckets=24)
    reader = await pg_pool_as("vigil_readonly")

    async with reader.acquire() as conn:
        rolled = [tuple(r) for r in await conn.fetch(BUSIEST_HOURS_SQL, "cam-1", now, BERLIN)]
        from_raw = [tuple(r) for r in await conn.fetch(BUSIEST_HOURS_RAW_SQL, "cam-1", now, BERLIN)]

    expected = _python_busiest(raw, now)
    assert len(expected) == 17  # Berlin's day so far: 23:00 UTC yesterday .. 15:20 UTC
    assert rolled == from_raw == expected
