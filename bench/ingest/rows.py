"""PostgreSQL side of the ingest benchmark: cameras, row counts, and the two baselines.

The baselines load *the rows the ingest stored* back into the same table: ``psql \\copy`` of
all of them (the server's COPY ceiling) and one ``INSERT`` + commit per row for a subset
(:func:`bench.copy_writer.measure_naive_insert`, the naive way).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.copy_writer import NAIVE_ROWS, measure_naive_insert
from bench.harness.counting import count_keys
from bench.harness.stack import psql
from vigil_schema.tables import CAMERA_EVENTS, HEALTH_LOGS, HEALTH_METRICS, INGEST_REJECTS

DEDUP_KEY = ("camera_id", "event_type", "frame_number", "ts")
"""camera_events' unique dedup key (ARCHITECTURE §3, index camera_events_dedup_key)."""

_INGEST_TABLES = (CAMERA_EVENTS.name, HEALTH_METRICS.name, HEALTH_LOGS.name, INGEST_REJECTS.name)
_COLUMNS = ",".join(CAMERA_EVENTS.column_names)


async def register_cameras(pool: asyncpg.Pool, camera_ids: list[str]) -> None:
    """Insert the simulated cameras (active) so the ingest's registry accepts them."""
    await pool.executemany(
        "INSERT INTO cameras (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        [(camera_id, f"benchmark {camera_id}") for camera_id in camera_ids],
    )


async def reset_tables(pool: asyncpg.Pool) -> None:
    """Empty the tables the ingest writes (cameras stay)."""
    await pool.execute(f"TRUNCATE {', '.join(_INGEST_TABLES)}")


async def verify_rows(pool: asyncpg.Pool, acknowledged: int) -> dict[str, Any]:
    """Count camera_events against the events the broker acknowledged to the publisher.

    ``lost`` are acknowledged events without a row; ``duplicated`` are rows beyond one per
    dedup key (the unique index forbids them, this checks it independently). ``extra``
    would be rows nobody published.
    """
    rows, keys = await count_keys(pool, CAMERA_EVENTS.name, DEDUP_KEY)
    rejects = await pool.fetchval("SELECT count(*) FROM ingest_rejects")
    return {
        "acknowledged_events": acknowledged,
        "rows": rows,
        "distinct_keys": keys,
        "lost": max(0, acknowledged - keys),
        "duplicated": rows - keys,
        "extra": max(0, keys - acknowledged),
        "rejects": int(rejects),
        "ok": rows == keys == acknowledged and rejects == 0,
    }


async def measure_psql_copy(url: str, pool: asyncpg.Pool, workdir: Path) -> dict[str, Any]:
    """Export camera_events to CSV, empty it, and time ``psql \\copy`` loading it back."""
    csv_path = workdir / "camera_events.csv"
    await psql(url, f"\\copy (SELECT {_COLUMNS} FROM camera_events) TO '{csv_path}' (FORMAT csv)")
    expected = int(await pool.fetchval("SELECT count(*) FROM camera_events"))
    await pool.execute("TRUNCATE camera_events")
    started = time.perf_counter()
    await psql(url, f"\\copy camera_events ({_COLUMNS}) FROM '{csv_path}' (FORMAT csv)")
    elapsed = time.perf_counter() - started
    csv_path.unlink()
    stored = int(await pool.fetchval("SELECT count(*) FROM camera_events"))
    if stored != expected:
        raise AssertionError(f"psql \\copy stored {stored} rows of {expected}")
    return _rate(expected, elapsed)


async def measure_naive(url: str, pool: asyncpg.Pool) -> dict[str, Any]:
    """Time one INSERT + commit per row for :data:`NAIVE_ROWS` of the stored rows."""
    records = await pool.fetch(f"SELECT {_COLUMNS} FROM camera_events LIMIT {NAIVE_ROWS}")
    rows = [tuple(record.values()) for record in records]
    await pool.execute("TRUNCATE camera_events")
    elapsed = await measure_naive_insert(url, pool, rows)
    stored = int(await pool.fetchval("SELECT count(*) FROM camera_events"))
    if stored != len(rows):
        raise AssertionError(f"naive INSERT stored {stored} rows of {len(rows)}")
    return _rate(len(rows), elapsed)


def _rate(rows: int, seconds: float) -> dict[str, Any]:
    return {"rows": rows, "seconds": round(seconds, 3), "events_per_s": round(rows / seconds)}
