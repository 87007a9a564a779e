"""PostgreSQL's cost per stored event with camera_events' indexes before and after 0003.

``python -m bench.camera_events_indexes [--events 200000] [--rounds 3]``

Migration 0003 replaced the separate ``(camera_id, ts DESC)`` index by ordering the dedup
key's unique index ``(camera_id, ts, event_type, frame_number)``. This measures what that
saves where it matters, on one private durable stack: the same ``camera_events`` rows (camsim
events decoded by the ingest's decoder, batches of 50 per message) are COPY'd in
transactions of 5,000 rows, as the ingest's writer does, alternately at revision 0002 and at
0003 (the real migrations, down and up), ``--rounds`` times. For each load it reports
PostgreSQL's CPU per row (all its processes, :mod:`bench.harness.cpu`), this client's CPU per
row, and rows per second; then the medians per layout. Each run writes
bench/results/camera_events_indexes/<UTC time>.json (``--results-dir`` elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.decode_micro import CAMERAS, Registry, build_messages
from bench.harness.cpu import stack_cpu_seconds
from bench.harness.results import add_results_argument, write_result
from bench.harness.stack import private_stack, server_pids
from vigil_ingest.decode import decode
from vigil_migrations import downgrade, upgrade
from vigil_runtime.db import create_pool
from vigil_schema.tables import CAMERA_EVENTS

LAYOUTS = {"0002 (dedup key + camera_ts index)": "0002", "0003 (dedup key leads)": "0003"}
BATCH_ROWS = 5000


def event_rows(events: int) -> list[tuple[Any, ...]]:
    """``camera_events`` rows of ``events`` simulated events, as the ingest builds them."""
    registry = Registry([f"cam-{index:03d}" for index in range(CAMERAS)])
    now = datetime.now(UTC)
    rows: list[tuple[Any, ...]] = []
    for message in build_messages(50, events):
        decoded = decode(message, registry, now)
        rows += decoded.rows[CAMERA_EVENTS.name]  # type: ignore[union-attr]
    return rows


async def _copy(pool: asyncpg.Pool, rows: Sequence[tuple[Any, ...]]) -> None:
    async with pool.acquire() as conn:
        for start in range(0, len(rows), BATCH_ROWS):
            async with conn.transaction():
                await conn.copy_records_to_table(
                    CAMERA_EVENTS.name,
                    records=rows[start : start + BATCH_ROWS],
                    columns=CAMERA_EVENTS.column_names,
                )


async def load_once(
    pool: asyncpg.Pool, rows: Sequence[tuple[Any, ...]], servers: dict[str, int]
) -> dict[str, float]:
    """Empty the table (partitions kept), checkpoint, load ``rows``; the costs per row."""
    async with pool.acquire() as conn:
        await conn.execute("TRUNCATE camera_events")
        await conn.execute("CHECKPOINT")
    pg_before, cpu_before = stack_cpu_seconds(servers)["postgres"], time.process_time()
    started = time.perf_counter()
    await _copy(pool, rows)
    elapsed = time.perf_counter() - started
    return {
        "postgres_us_per_row": (stack_cpu_seconds(servers)["postgres"] - pg_before)
        / len(rows)
        * 1e6,
        "client_us_per_row": (time.process_time() - cpu_before) / len(rows) * 1e6,
        "rows_per_s": len(rows) / elapsed,
    }


async def measure(
    url: str, rows: list[tuple[Any, ...]], rounds: int, servers: dict[str, int]
) -> dict[str, Any]:
    """Alternate the layouts ``rounds`` times; every load and the medians per layout."""
    loads: dict[str, list[dict[str, float]]] = {name: [] for name in LAYOUTS}
    for _ in range(rounds):
        for name, revision in LAYOUTS.items():
            downgrade(url, "0002")
            upgrade(url, revision)
            pool = await create_pool(url, min_size=1, max_size=1)
            try:
                async with pool.acquire() as conn:
                    await conn.execute("TRUNCATE camera_events")
                await _copy(pool, rows[:BATCH_ROWS])  # creates the partitions
                loads[name].append(await load_once(pool, rows, servers))
            finally:
                await pool.close()
    medians = {
        name: {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}
        for name, runs in loads.items()
    }
    return {"rows": len(rows), "loads": loads, "medians": medians}


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    rows = event_rows(args.events)
    async with private_stack("indexes") as (info, _):
        result = await measure(info.database_url, rows, args.rounds, server_pids(info))
    parameters = {"events": args.events, "rounds": args.rounds, "batch_rows": BATCH_ROWS}
    return {"parameters": parameters, **result, "summary": result["medians"]}


def main(argv: Sequence[str] | None = None) -> int:
    """Print every load and the medians per index layout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="rows per load")
    parser.add_argument("--rounds", type=int, default=3, help="loads per layout, alternated")
    add_results_argument(parser)
    args = parser.parse_args(argv)
    result = asyncio.run(_main(args))
    print(f"{result['rows']:,} rows per load; PostgreSQL µs/row and rows/s of each load:")
    for name, loads in result["loads"].items():
        each = ", ".join(
            f"{r['postgres_us_per_row']:.1f} µs {r['rows_per_s']:,.0f}/s" for r in loads
        )
        print(f"  {name}: {each}")
    print("medians:")
    for name, median in result["medians"].items():
        print(f"  {name}: {median}")
    path = write_result("camera_events_indexes", result, args.results_dir)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
