"""Expiring one day of ``camera_events``: DETACH CONCURRENTLY + DROP against DELETE.

Two day partitions of ``camera_events`` are made by ``vigil_ensure_partition`` (so each has
the parent's real indexes: the primary key, the dedup key, ``(event_type, ts)`` and the
partial ``scene_hash`` index) and filled the same way, :func:`fill_day` (``INSERT ...
SELECT`` over ``generate_series`` through the parent, in chunks: ``rows`` rows spread evenly
over ``cameras`` cameras and the day, a realistic mix of event types, motion scores, object
lists, fps, quality and bandwidth). Autovacuum is off on both, so nothing cleans up behind
the measurement. Then, each after a ``CHECKPOINT`` (a day-old partition's pages are on disk
long since, so the first change of each page logs a full-page image, as in production):

* ``detach_drop``: ``ALTER TABLE camera_events DETACH PARTITION p CONCURRENTLY`` (autocommit)
  then ``DROP TABLE p``, what the retention service does;
* ``delete``: ``DELETE FROM camera_events WHERE ts >= day AND ts < day + 1`` (through the
  parent, pruned to the other partition), then the state it leaves (the dead tuples, the
  size still held); then ``vacuum``: the ``VACUUM`` that state needs, measured apart.

Each phase records its wall seconds and the WAL it wrote (``pg_current_wal_lsn`` before and
after; a concurrent writer's few rows are included). While the phases run, an optional
:class:`Writer` inserts single rows into today's partition at a fixed pace on its own
connection, and each phase reports the latency of those inserts (a baseline phase without
expiry first). Rows are counted before (every row must be there) and the DELETE's own
row count must equal the partition's.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench.retention.stats import percentiles

DROP_DAY = datetime(2020, 1, 6, tzinfo=UTC)
DELETE_DAY = DROP_DAY + timedelta(days=1)
"""The two days expired: far in the past, so no other partition is near them."""
CHUNK_ROWS = 1_000_000
"""Rows per INSERT ... SELECT while filling (one transaction each)."""

FILL_SQL = """
INSERT INTO camera_events (camera_id, event_type, ts, frame_number, received_at, source,
    motion_score, motion_regions, objects, object_count, max_confidence, scene_hash,
    scene_change_score, fps_actual, image_quality_score, bandwidth_usage_bytes, inference_ms,
    processing_ms)
SELECT 'cam-' || lpad((g % $3)::text, 4, '0'),
       e.event_type,
       $1::timestamptz + (g / $3) * ($4::float8 * interval '1 second'),
       g / $3,
       $1::timestamptz + (g / $3) * ($4::float8 * interval '1 second') + interval '40 ms',
       'camera',
       (g % 97) / 97.0,
       CASE WHEN e.event_type = 'motion'
            THEN '[{"x": 0.12, "y": 0.40, "w": 0.20, "h": 0.18}]'::jsonb END,
       CASE WHEN e.event_type = 'object_detected'
            THEN '[{"class": "car", "confidence": 0.91, "bbox": [0.31, 0.22, 0.18, 0.12]},
                   {"class": "person", "confidence": 0.78, "bbox": [0.62, 0.41, 0.05, 0.2]}]'::jsonb
       END,
       CASE WHEN e.event_type = 'object_detected' THEN 2 ELSE 0 END,
       CASE WHEN e.event_type = 'object_detected' THEN 0.91 END,
       CASE WHEN e.event_type = 'scene_change' THEN to_hex(g * 2654435761 % 4294967296) END,
       CASE WHEN e.event_type = 'scene_change' THEN (g % 89) / 89.0 END,
       29.0 + (g % 20) / 10.0,
       0.6 + (g % 40) / 100.0,
       40000 + g % 90000,
       8.0 + (g % 50) / 10.0,
       12.0 + (g % 80) / 10.0
  FROM generate_series($2::bigint, $5::bigint) AS g
 CROSS JOIN LATERAL (SELECT (ARRAY['motion', 'motion', 'object_detected', 'motion',
                                   'object_detected', 'scene_change', 'motion',
                                   'manual_trigger'])[1 + (g % 8)::int] AS event_type) AS e
"""
"""$1 the day, $2..$5 the rows' numbers [from, to], $3 cameras, $4 seconds between a camera's
rows. Half motion, a quarter objects, scene changes and manual triggers the rest."""

WRITER_SQL = """
INSERT INTO camera_events (camera_id, event_type, ts, frame_number, motion_score, fps_actual)
VALUES ('cam-writer', 'motion', $1, $2, 0.5, 30.0)
"""


@dataclass
class Writer:
    """One row at a time into today's partition, every ``interval_s``; latencies by phase."""

    url: str
    today: datetime
    interval_s: float = 0.01
    phase: str = "idle"
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    def enter(self, phase: str) -> None:
        """Count the inserts started from now on in ``phase`` ("idle": in none)."""
        self.phase = phase
        if phase != "idle":
            self.latencies.setdefault(phase, [])

    async def run(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            frame = 0
            while not stop.is_set():
                frame += 1
                phase, started = self.phase, time.perf_counter()
                try:
                    await conn.execute(
                        WRITER_SQL, self.today + timedelta(microseconds=frame), frame
                    )
                except asyncpg.PostgresError:
                    self.errors += 1
                else:
                    if phase != "idle":  # an insert counts in the phase it started in
                        elapsed = time.perf_counter() - started
                        self.latencies.setdefault(phase, []).append(elapsed)
                await asyncio.sleep(max(0.0, self.interval_s - (time.perf_counter() - started)))
        finally:
            await conn.close()

    def summary(self) -> dict[str, Any]:
        """Per phase: inserts, p50 / p99 / max latency in ms."""
        return {
            phase: {"inserts": len(values)} | percentiles(sorted(values), scale=1000.0)
            for phase, values in self.latencies.items()
        } | {"errors": self.errors, "interval_ms": self.interval_s * 1000}


@contextlib.asynccontextmanager
async def writing(writer: Writer | None) -> AsyncIterator[None]:
    """Run ``writer`` (if any) in the background for the block."""
    if writer is None:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


async def partition_of(conn: asyncpg.Connection, day: datetime) -> str:
    """Create (if missing) the partition of ``camera_events`` holding ``day``; its name."""
    name: str = await conn.fetchval("SELECT vigil_ensure_partition('camera_events', $1)", day)
    return name


async def fill_day(conn: asyncpg.Connection, day: datetime, rows: int, cameras: int) -> float:
    """Fill ``day``'s partition with ``rows`` rows (see the module docstring); seconds taken."""
    partition = await partition_of(conn, day)
    await conn.execute(f'ALTER TABLE "{partition}" SET (autovacuum_enabled = false)')
    spacing = 86400.0 * cameras / rows  # seconds between one camera's rows
    started = time.perf_counter()
    for first in range(0, rows, CHUNK_ROWS):
        last = min(rows, first + CHUNK_ROWS) - 1
        await conn.execute(FILL_SQL, day, first, cameras, spacing, last)
    await conn.execute(f'ANALYZE "{partition}"')
    return time.perf_counter() - started


async def _wal_lsn(conn: asyncpg.Connection) -> str:
    lsn: str = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    return lsn


async def _wal_since(conn: asyncpg.Connection, lsn: str) -> int:
    return int(
        await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)", lsn)
    )


async def _timed(conn: asyncpg.Connection, statements: list[str],
                 writer: Writer | None, phase: str) -> dict[str, Any]:  # fmt: skip
    """After a CHECKPOINT, run ``statements`` one by one (autocommit) as the writer's
    ``phase``; seconds and WAL bytes of all of them, the last one's status."""
    await conn.execute("CHECKPOINT")
    lsn = await _wal_lsn(conn)
    if writer is not None:
        writer.enter(phase)
    started = time.perf_counter()
    status = ""
    try:
        for statement in statements:
            status = await conn.execute(statement)
    finally:
        seconds = time.perf_counter() - started
        if writer is not None:
            writer.enter("idle")
    return {"seconds": round(seconds, 4), "wal_bytes": await _wal_since(conn, lsn),
            "status": status}  # fmt: skip


async def _size(conn: asyncpg.Connection, table: str) -> int:
    return int(await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", table))


async def _dead_tuples(conn: asyncpg.Connection, table: str) -> dict[str, int]:
    await conn.execute("SELECT pg_stat_force_next_flush()")
    row = await conn.fetchrow(
        "SELECT n_live_tup, n_dead_tup FROM pg_stat_user_tables WHERE relname = $1", table
    )
    return {"live": int(row["n_live_tup"]), "dead": int(row["n_dead_tup"])}


async def detach_drop(conn: asyncpg.Connection, partition: str,
                      writer: Writer | None = None) -> dict[str, Any]:  # fmt: skip
    """DETACH CONCURRENTLY + DROP of ``partition``: seconds, WAL, the bytes it freed."""
    size = await _size(conn, partition)
    figures = await _timed(conn, [
        f'ALTER TABLE camera_events DETACH PARTITION "{partition}" CONCURRENTLY',
        f'DROP TABLE "{partition}"',
    ], writer, "detach_drop")  # fmt: skip
    gone = await conn.fetchval("SELECT to_regclass($1) IS NULL", partition)
    return figures | {"size_before_bytes": size, "size_after_bytes": 0 if gone else None,
                      "dead_tuples_after": 0, "vacuum_needed": False}  # fmt: skip


async def delete_day(conn: asyncpg.Connection, partition: str, day: datetime,
                     writer: Writer | None = None) -> dict[str, Any]:  # fmt: skip
    """DELETE of ``day``'s rows through the parent: seconds, WAL, what it leaves behind."""
    size = await _size(conn, partition)
    end = day + timedelta(days=1)
    figures = await _timed(conn, [
        f"DELETE FROM camera_events WHERE ts >= '{day.isoformat()}' AND ts < '{end.isoformat()}'"
    ], writer, "delete")  # fmt: skip
    deleted = int(figures.pop("status").split()[-1])
    tuples = await _dead_tuples(conn, partition)
    return figures | {
        "rows_deleted": deleted, "size_before_bytes": size,
        "size_after_bytes": await _size(conn, partition), "dead_tuples_after": tuples["dead"],
        "vacuum_needed": tuples["dead"] > 0,
    }  # fmt: skip


async def vacuum(conn: asyncpg.Connection, partition: str,
                 writer: Writer | None = None) -> dict[str, Any]:  # fmt: skip
    """The VACUUM a DELETE leaves to do: seconds, WAL, the size after, dead tuples left."""
    figures = await _timed(conn, [f'VACUUM "{partition}"'], writer, "vacuum")
    figures.pop("status")
    tuples = await _dead_tuples(conn, partition)
    heap = int(await conn.fetchval("SELECT pg_relation_size($1::regclass)", partition))
    return figures | {"size_after_bytes": await _size(conn, partition),
                      "heap_bytes_after": heap, "dead_tuples_after": tuples["dead"]}  # fmt: skip


async def measure_expiry(
    url: str, rows: int, cameras: int, *, writer_interval_s: float | None = 0.01,
    baseline_s: float = 3.0, log: Any = print,
) -> dict[str, Any]:  # fmt: skip
    """The whole comparison on the database at ``url`` (a superuser's or the owner's)."""
    conn = await asyncpg.connect(url)
    try:
        drop_part, delete_part = (await partition_of(conn, DROP_DAY),
                                  await partition_of(conn, DELETE_DAY))  # fmt: skip
        fill: dict[str, float] = {}
        for day, partition in ((DROP_DAY, drop_part), (DELETE_DAY, delete_part)):
            fill[partition] = round(await fill_day(conn, day, rows, cameras), 2)
            log(f"retention bench: filled {partition} with {rows:,} rows in {fill[partition]} s")
        counts = {p: int(await conn.fetchval(f'SELECT count(*) FROM "{p}"'))
                  for p in (drop_part, delete_part)}  # fmt: skip
        if set(counts.values()) != {rows}:
            raise RuntimeError(f"expected {rows} rows in each partition, counted {counts}")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        await partition_of(conn, today)
        writer = None
        if writer_interval_s is not None:
            writer = Writer(url, today + timedelta(hours=12), writer_interval_s)
        results: dict[str, Any] = {"partition_rows": rows, "fill_s": fill,
                                   "partition_bytes": await _size(conn, drop_part)}  # fmt: skip
        async with writing(writer):
            await _baseline(writer, baseline_s)
            results["detach_drop"] = await detach_drop(conn, drop_part, writer)
            log(f"retention bench: detach + drop {results['detach_drop']['seconds']} s")
            results["delete"] = await delete_day(conn, delete_part, DELETE_DAY, writer)
            log(f"retention bench: delete {results['delete']['seconds']} s")
            results["vacuum"] = await vacuum(conn, delete_part, writer)
            log(f"retention bench: vacuum after delete {results['vacuum']['seconds']} s")
        if results["delete"]["rows_deleted"] != rows:
            raise RuntimeError(f"DELETE removed {results['delete']['rows_deleted']}, not {rows}")
        results["writer"] = writer.summary() if writer is not None else None
        return results
    finally:
        await conn.close()


async def _baseline(writer: Writer | None, seconds: float) -> None:
    """The writer's latency with no expiry running, for ``seconds``."""
    if writer is None:
        return
    writer.enter("baseline")
    await asyncio.sleep(seconds)
    writer.enter("idle")
