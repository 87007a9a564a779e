"""The runtime's batched COPY writer against raw COPY and naive INSERTs, side by side.

One local stack (durable: fsync on), one migrated database, camera_events rows. Measured in
the same run, each repeated and the median kept:

* ``psql_copy``: ``\\copy camera_events FROM file.csv`` through psql (the server's ceiling);
* ``asyncpg_copy``: one binary ``copy_records_to_table`` call with every row (the client's
  ceiling);
* ``copy_writer``: :class:`vigil_runtime.copy_writer.CopyWriter` fed row by row with ``add``,
  as the ingest does, batches of 5,000, dedup conflict handling on;
* ``naive_insert``: one ``INSERT`` and commit per row (on fewer rows; it is slow).

Rows are counted after each measurement, so a lost or duplicated row fails the benchmark.
Each run writes bench/results/copy_writer/<UTC time>.json (``python -m bench.run
copy_writer``); :func:`render` makes the COPY writer block of docs/benchmarks.md from it.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.harness.results import relative
from bench.harness.stack import private_stack, psql
from vigil_runtime.copy_writer import CopyWriter
from vigil_runtime.db import create_pool
from vigil_runtime.partitions import PartitionHelper
from vigil_schema.tables import CAMERA_EVENTS

CAMERA = "bench-cam"
NAIVE_ROWS = 5_000
Row = tuple[Any, ...]


def make_rows(count: int, offset: int) -> list[Row]:
    """``count`` distinct camera_events rows in today's partition, in COPY column order."""
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    now = datetime.now(UTC)
    rows = []
    for i in range(offset, offset + count):
        values: dict[str, Any] = {
            "camera_id": CAMERA,
            "event_type": "motion",
            "ts": start + timedelta(microseconds=i * 100),
            "frame_number": i,
            "received_at": now,
            "motion_score": 0.5,
            "fps_actual": 29.97,
            "source": "camera",
            "object_count": 0,
        }
        rows.append(tuple(values.get(name) for name in CAMERA_EVENTS.column_names))
    return rows


async def _count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM camera_events"))


async def _reset(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE camera_events")


async def measure_psql_copy(url: str, pool: asyncpg.Pool, rows: list[Row]) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(
                ["" if v is None else v.isoformat() if isinstance(v, datetime) else v for v in row]
            )
    columns = ",".join(CAMERA_EVENTS.column_names)
    command = f"\\copy camera_events ({columns}) FROM '{handle.name}' WITH (FORMAT csv)"
    started = time.perf_counter()
    await psql(url, command)
    elapsed = time.perf_counter() - started
    os.unlink(handle.name)
    return elapsed


async def measure_asyncpg_copy(url: str, pool: asyncpg.Pool, rows: list[Row]) -> float:
    started = time.perf_counter()
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "camera_events", records=rows, columns=list(CAMERA_EVENTS.column_names)
        )
    return time.perf_counter() - started


async def measure_copy_writer(url: str, pool: asyncpg.Pool, rows: list[Row]) -> float:
    started = time.perf_counter()
    writer = CopyWriter(
        pool, CAMERA_EVENTS, max_rows=5000, partitions=PartitionHelper(pool), conflict=True
    )
    async with writer:
        for row in rows:
            await writer.add(row)
    return time.perf_counter() - started


async def measure_naive_insert(url: str, pool: asyncpg.Pool, rows: list[Row]) -> float:
    columns = ",".join(CAMERA_EVENTS.column_names)
    params = ",".join(f"${i + 1}" for i in range(len(CAMERA_EVENTS.column_names)))
    sql = f"INSERT INTO camera_events ({columns}) VALUES ({params})"
    started = time.perf_counter()
    async with pool.acquire() as conn:
        for row in rows:
            await conn.execute(sql, *row)  # autocommit: one transaction per row
    return time.perf_counter() - started


Measure = Callable[[str, asyncpg.Pool, list[Row]], Awaitable[float]]


async def _median_rate(
    measure: Measure, url: str, pool: asyncpg.Pool, rows: list[Row], repeat: int
) -> dict[str, Any]:
    times = []
    for _ in range(repeat):
        await _reset(pool)
        times.append(await measure(url, pool, rows))
        stored = await _count(pool)
        if stored != len(rows):
            raise AssertionError(f"{measure.__name__}: {stored} rows stored, {len(rows)} sent")
    median = statistics.median(times)
    return {"rows": len(rows), "seconds": times, "rows_per_s": round(len(rows) / median)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every method on a private durable stack; the result (``bench.run`` API)."""
    async with private_stack("copy-writer") as (info, _):
        return await _run_on(info.database_url, args)


async def _run_on(url: str, args: argparse.Namespace) -> dict[str, Any]:
    pool = await create_pool(url, min_size=1, max_size=4)
    try:
        await pool.execute("INSERT INTO cameras (id, name) VALUES ($1, 'benchmark camera')", CAMERA)
        rows = make_rows(args.rows, 0)
        results = {
            "psql_copy": await _median_rate(measure_psql_copy, url, pool, rows, args.repeat),
            "asyncpg_copy": await _median_rate(measure_asyncpg_copy, url, pool, rows, args.repeat),
            "copy_writer": await _median_rate(measure_copy_writer, url, pool, rows, args.repeat),
            "naive_insert": await _median_rate(
                measure_naive_insert, url, pool, rows[:NAIVE_ROWS], args.repeat
            ),
        }
    finally:
        await pool.close()
    writer = results["copy_writer"]["rows_per_s"]
    summary = {name: r["rows_per_s"] for name, r in results.items()} | {
        "copy_writer_vs_psql_copy": round(writer / results["psql_copy"]["rows_per_s"], 3),
        "copy_writer_vs_asyncpg_copy": round(writer / results["asyncpg_copy"]["rows_per_s"], 3),
        "copy_writer_vs_naive_insert": round(writer / results["naive_insert"]["rows_per_s"], 1),
    }
    return {"results": results, "summary": summary}


_METHODS = {
    "psql_copy": "psql `\\copy`",
    "asyncpg_copy": "asyncpg `copy_records_to_table`",
    "copy_writer": "`CopyWriter`",
    "naive_insert": "naive INSERT + commit per row",
}


def render(result: dict[str, Any], path: Path) -> str:
    """The docs' COPY writer block for the results file ``path`` (``result``)."""
    results, summary = result["results"], result["summary"]
    rows, repeat = results["copy_writer"]["rows"], len(results["copy_writer"]["seconds"])
    machine = result.get("machine", {})
    when = datetime.fromisoformat(result["at"])
    source = relative(path)
    lines = [
        f"Last run: [`{source}`](../{source}), {when:%Y-%m-%d %H:%M} UTC, {rows:,} rows, "
        f"{'one repetition' if repeat == 1 else f'median of {repeat} repetitions'}, "
        f"{machine.get('cpus', '?')} cores:",
        "",
        "| method | rows/s | COPY writer relative to it |",
        "|---|--:|--:|",
    ]
    for name, label in _METHODS.items():
        if name == "copy_writer":
            relative_cell = "1"
        elif name == "naive_insert":
            relative_cell = f"{summary['copy_writer_vs_naive_insert']} × faster"
        else:
            relative_cell = str(summary[f"copy_writer_vs_{name}"])
        lines.append(f"| {label} | {results[name]['rows_per_s']:,} | {relative_cell} |")
    return "\n".join(lines)
