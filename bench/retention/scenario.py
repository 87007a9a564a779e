"""Seed 004 scenario A, "average occupancy of North Lot on Tuesdays", from the rollup and
from the raw rows, on the same data.

``days`` days (from :data:`START`, a Monday) × ``cameras`` cameras × the zones of
:data:`ZONES` (North Lot among them), one object class (``car``). The occupied count of a
camera's zone is a function of the camera, the zone, the day and the hour (:data:`BASE`),
the same for every sample of an hour, so the raw rows and the hourly rollup hold exactly the
same average and the two answers must agree (they are compared; a difference fails the run).

* :func:`fill_hourly`: ``occupancy_hourly`` filled directly, one row per camera, zone and
  hour (``samples`` = samples per hour of the raw rate, ``sum_count`` = samples × count);
* :func:`fill_raw`: ``occupancy_events`` at one sample per ``raw_interval_s`` per camera
  and zone (default 300 s), one ``INSERT ... SELECT generate_series`` per day partition;
* :func:`time_query`: one query warmed up once, then run ``runs`` times (client wall time,
  median and range) and once under ``EXPLAIN (ANALYZE, BUFFERS)`` (server time, plan).

The queries are :mod:`vigil_retention.rollups.queries`' (the service's documented SQL), for
zone ``north-lot``, class ``car``, Tuesdays in :data:`TIME_ZONE`. Last, the variants of
:mod:`bench.retention.variants` (not part of the service) on the same rollup rows.

Both tables are vacuumed and analysed after the fill (what autovacuum does to a table that
stopped growing), so both queries run on a settled table with its visibility map.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.retention.stats import median
from bench.retention.variants import measure_variants
from vigil_retention.rollups.queries import (
    OCCUPANCY_BY_WEEKDAY_RAW_SQL,
    OCCUPANCY_BY_WEEKDAY_SQL,
    TUESDAY,
)

START = datetime(2021, 1, 4, tzinfo=UTC)  # a Monday
ZONES = ("north-lot", "south-lot", "entrance", "loading-dock")
ZONE = "north-lot"
TIME_ZONE = "Europe/Paris"
"""Tuesdays in a whole-hour time zone: local days start on UTC hours, so the hourly buckets
split exactly as the raw rows do."""
OBJECT_CLASS = "car"

BASE = (
    "((c.n * 7 + z.i * 11 + extract(hour FROM {hour})::int * 5"
    " + floor(extract(epoch FROM {hour}) / 86400)::int * 3) % 50)"
)
"""The occupied count of camera ``c.n``'s zone ``z.i`` during the hour ``{hour}``."""

HOURLY_SQL = f"""
INSERT INTO occupancy_hourly (camera_id, zone_id, object_class, bucket, samples, avg_count,
                              min_count, max_count, sum_count)
SELECT 'cam-' || lpad(c.n::text, 4, '0'), z.zone, '{OBJECT_CLASS}', h, $4::int,
       b.count, b.count, b.count, $4::int * b.count
  FROM generate_series(0, $3::int - 1) AS c(n)
 CROSS JOIN unnest($5::text[]) WITH ORDINALITY AS z(zone, i)
 CROSS JOIN generate_series($1::timestamptz, $2::timestamptz - interval '1 hour',
                            interval '1 hour') AS h
 CROSS JOIN LATERAL (SELECT {BASE.format(hour="h")} AS count) AS b
"""
"""$1..$2 the hours [from, to), $3 cameras, $4 samples per hour, $5 the zones."""

RAW_SQL = f"""
INSERT INTO occupancy_events (camera_id, ts, zone_id, object_class, occupied_count, capacity,
                              frame_number)
SELECT 'cam-' || lpad(c.n::text, 4, '0'), t, z.zone, '{OBJECT_CLASS}', b.count, 60,
       (extract(epoch FROM t) * 30)::bigint
  FROM generate_series(0, $3::int - 1) AS c(n)
 CROSS JOIN unnest($5::text[]) WITH ORDINALITY AS z(zone, i)
 CROSS JOIN generate_series($1::timestamptz, $2::timestamptz - $4::float8 * interval '1 second',
                            $4::float8 * interval '1 second') AS t
 CROSS JOIN LATERAL (SELECT {BASE.format(hour="date_trunc('hour', t)")} AS count) AS b
"""
"""$1..$2 the day [from, to), $3 cameras, $4 seconds between samples, $5 the zones."""


def samples_per_hour(raw_interval_s: int) -> int:
    """Raw samples per camera, zone and hour; the interval must divide an hour."""
    if raw_interval_s < 1 or 3600 % raw_interval_s:
        raise ValueError(f"the raw interval must divide 3600 s, got {raw_interval_s}")
    return 3600 // raw_interval_s


def query_args(days: int) -> tuple[Any, ...]:
    """The scenario's arguments (:mod:`vigil_retention.rollups.queries`): the zone, the
    class, the ``days`` days [from, to), the time zone, Tuesday."""
    return (ZONE, OBJECT_CLASS, START, START + timedelta(days=days), TIME_ZONE, TUESDAY)


async def fill_hourly(conn: asyncpg.Connection, days: int, cameras: int,
                      raw_interval_s: int) -> dict[str, Any]:  # fmt: skip
    """Fill ``occupancy_hourly`` (see the module docstring): rows and seconds."""
    started = time.perf_counter()
    status = await conn.execute(HOURLY_SQL, START, START + timedelta(days=days), cameras,
                                samples_per_hour(raw_interval_s), list(ZONES))  # fmt: skip
    await conn.execute("VACUUM ANALYZE occupancy_hourly")
    return {"rows": int(status.split()[-1]), "seconds": round(time.perf_counter() - started, 2)}


async def fill_raw(conn: asyncpg.Connection, days: int, cameras: int, raw_interval_s: int,
                   log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Fill ``occupancy_events`` day by day (see the module docstring): rows and seconds."""
    samples_per_hour(raw_interval_s)
    end = START + timedelta(days=days)
    started = time.perf_counter()
    await conn.execute("SELECT vigil_ensure_partition_range('occupancy_events', $1, $2)",
                       START, end - timedelta(microseconds=1))  # fmt: skip
    rows = 0
    for day in range(days):
        at = START + timedelta(days=day)
        status = await conn.execute(RAW_SQL, at, at + timedelta(days=1), cameras,
                                    float(raw_interval_s), list(ZONES))  # fmt: skip
        rows += int(status.split()[-1])
        if day % 10 == 9:
            log(f"retention bench: occupancy_events {day + 1}/{days} days, {rows:,} rows, "
                f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    await conn.execute("VACUUM ANALYZE occupancy_events")
    return {"rows": rows, "seconds": round(time.perf_counter() - started, 2)}


async def time_query(conn: asyncpg.Connection, sql: str, args: tuple[Any, ...],
                     runs: int) -> dict[str, Any]:  # fmt: skip
    """Warm once, then ``runs`` timed runs and one EXPLAIN ANALYZE (see the module docstring)."""
    answer = await conn.fetchrow(sql, *args)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        again = await conn.fetchrow(sql, *args)
        times.append(time.perf_counter() - started)
        if again != answer:
            raise RuntimeError(f"the same query answered {answer} then {again}")
    plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args))[
        0
    ]
    return {
        "avg_occupancy": float(answer["avg_occupancy"]), "samples": int(answer["samples"]),
        "runs": runs, "median_ms": round(median(times) * 1000, 3),
        "min_ms": round(min(times) * 1000, 3), "max_ms": round(max(times) * 1000, 3),
        "server_ms": round(float(plan["Execution Time"]), 3),
        "plan": _plan_nodes(plan["Plan"]),
    }  # fmt: skip


def _plan_nodes(node: dict[str, Any]) -> list[str]:
    """The plan's nodes, depth first: type and relation or index (to say how it ran)."""
    label = node["Node Type"]
    target = node.get("Index Name") or node.get("Relation Name")
    nodes = [f"{label} on {target}" if target else label]
    for child in node.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


async def measure_scenario(url: str, *, days: int, cameras: int, raw_interval_s: int,
                           runs: int, raw_runs: int,
                           log: Callable[[str], None] = print) -> dict[str, Any]:  # fmt: skip
    """Fill both tables and time the scenario on each (the answers must agree)."""
    conn = await asyncpg.connect(url)
    try:
        hourly_fill = await fill_hourly(conn, days, cameras, raw_interval_s)
        log(f"retention bench: occupancy_hourly {hourly_fill['rows']:,} rows in "
            f"{hourly_fill['seconds']} s")  # fmt: skip
        raw_fill = await fill_raw(conn, days, cameras, raw_interval_s, log)
        log(f"retention bench: occupancy_events {raw_fill['rows']:,} rows in "
            f"{raw_fill['seconds']} s")  # fmt: skip
        args = query_args(days)
        hourly = await time_query(conn, OCCUPANCY_BY_WEEKDAY_SQL, args, runs)
        raw = await time_query(conn, OCCUPANCY_BY_WEEKDAY_RAW_SQL, args, raw_runs)
        variants = await measure_variants(conn, args, runs, time_query)
    finally:
        await conn.close()
    for other in (raw, *variants.values()):
        if not same_answer(hourly, other):
            raise RuntimeError(f"rollup and raw disagree: {hourly} against {other}")
    log(f"retention bench: scenario A {hourly['median_ms']} ms from occupancy_hourly, "
        f"{raw['median_ms']} ms from occupancy_events")  # fmt: skip
    return {"fill": {"occupancy_hourly": hourly_fill, "occupancy_events": raw_fill},
            "occupancy_hourly": hourly, "occupancy_events": raw,
            "variants": variants,
            "args": {"zone_id": ZONE, "object_class": OBJECT_CLASS,
                     "from": args[2].isoformat(), "to": args[3].isoformat(),
                     "time_zone": TIME_ZONE, "isodow": TUESDAY}}  # fmt: skip


def same_answer(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two timings answered the same (the averages to 1e-9: avg() is numeric)."""
    return one["samples"] == other["samples"] and math.isclose(
        one["avg_occupancy"], other["avg_occupancy"], rel_tol=0, abs_tol=1e-9
    )
