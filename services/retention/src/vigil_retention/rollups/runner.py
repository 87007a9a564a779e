"""Run the rollups: recompute every non-final bucket up to ``now`` and advance the watermarks.

Per rollup (a ``rollup_state`` row with its :data:`~vigil_retention.rollups.ROLLUPS` entry):

- the window starts at ``finalized_through`` or, when that is NULL (never run), at the bucket
  of the start of the oldest attached partition of its source tables (nothing to do when
  there is none); it ends at ``now`` rounded up to a bucket boundary, so the current partial
  bucket is included;
- the window is cut into chunks of ``chunk_buckets`` buckets; each chunk is one transaction:
  the rollup's upsert over ``[chunk start, chunk end)``, then ``rollup_state``:
  ``finalized_through = max(old, min(chunk end, floor_bucket(now - lateness)))``,
  ``refreshed_through = chunk end``, ``last_run_at = now``, ``last_rows`` = rows written
  so far this run. A run stopped between chunks resumes from the last committed watermark;
- buckets before ``finalized_through`` are never recomputed, so they survive the expiry of
  their raw partitions.

``now`` is always passed in (the caller's clock); nothing here reads the wall clock. The
caller holds the one-runner lock. ``dry_run`` reads the state and reports the windows
without writing anything or counting metrics.

A rollup that fails (a database error, a lost connection, a timeout) does not stop the
others: its :class:`RollupResult` carries the ``error`` (its committed chunks stay) and the
caller marks the run failed (:func:`failed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import asyncpg

from vigil_retention.catalog import read_partitions, read_rollups
from vigil_retention.metrics import ROLLUP_FINALIZED, ROLLUP_ROWS
from vigil_retention.models import PartitionState, RollupState
from vigil_retention.rollups import ROLLUPS
from vigil_retention.rollups.base import Rollup, ceil_bucket, floor_bucket
from vigil_runtime.logging import get_logger

__all__ = [
    "RollupResult",
    "Window",
    "failed",
    "oldest_partition_start",
    "rollup_lag",
    "rollup_window",
    "run_rollups",
]

log = get_logger(__name__)

DEFAULT_TIMEOUT_S: Final = 3600.0
"""Client-side bound of one chunk's statement (a chunk of a full fleet takes a while)."""

_ERRORS: Final = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
"""What fails one rollup without stopping the others."""

_CUSTOM_PLAN_SQL: Final = "SET LOCAL plan_cache_mode = force_custom_plan"
"""The chunk's bounds are known when it is planned: partitions pruned at plan time, and the
aggregate sized by the partitions' statistics (not a generic plan's guesses)."""

_ADVANCE_SQL: Final = """
UPDATE rollup_state
   SET finalized_through = greatest(coalesce(finalized_through, $2::timestamptz),
                                    least($3::timestamptz, $4::timestamptz)),
       refreshed_through = $3, last_run_at = $5, last_rows = $6
 WHERE rollup_name = $1
RETURNING finalized_through
"""


@dataclass(frozen=True, slots=True)
class Window:
    """What one run of a rollup recomputes: ``[start, end)``; final through ``final_limit``."""

    start: datetime
    end: datetime
    final_limit: datetime
    width: timedelta

    def chunks(self, chunk_buckets: int) -> list[tuple[datetime, datetime]]:
        """``[start, end)`` cut into ranges of at most ``chunk_buckets`` buckets."""
        step = self.width * max(1, chunk_buckets)
        out: list[tuple[datetime, datetime]] = []
        lo = self.start
        while lo < self.end:
            hi = min(lo + step, self.end)
            out.append((lo, hi))
            lo = hi
        return out


@dataclass(frozen=True, slots=True)
class RollupResult:
    """What a run did (or, dry, would do) to one rollup."""

    name: str
    start: datetime | None
    end: datetime | None
    chunks: int
    rows: int
    finalized_through: datetime | None
    dry_run: bool = False
    error: str | None = None

    def describe(self) -> dict[str, Any]:
        """JSON-able form, for ``retention_runs.actions`` and logs."""
        return {
            "kind": "rollup",
            "rollup": self.name,
            "range": None
            if self.start is None or self.end is None
            else [self.start.isoformat(), self.end.isoformat()],
            "chunks": self.chunks,
            "rows": self.rows,
            "finalized_through": self.finalized_through and self.finalized_through.isoformat(),
            "dry_run": self.dry_run,
            **({"error": self.error} if self.error else {}),
        }


def rollup_window(now: datetime, state: RollupState, oldest: datetime | None) -> Window | None:
    """The window of a run at ``now`` (``oldest``: start of the sources' oldest partition)."""
    width = state.bucket_width
    start = state.finalized_through
    if start is None:
        if oldest is None:
            return None
        start = floor_bucket(oldest, width)
    end = ceil_bucket(now, width)
    if start >= end:
        return None
    return Window(start, end, floor_bucket(now - state.lateness, width), width)


def rollup_lag(now: datetime, state: RollupState) -> timedelta | None:
    """How far behind ``now`` the final buckets end (None: nothing final yet).

    At steady state it is between ``lateness`` and ``lateness + bucket_width``.
    """
    if state.finalized_through is None:
        return None
    return now - state.finalized_through


async def oldest_partition_start(
    conn: asyncpg.Connection, tables: Sequence[str]
) -> datetime | None:
    """Start of the oldest partition attached to any of ``tables`` (None: no partition)."""
    starts = [
        part.start
        for part in await read_partitions(conn)
        if part.table in tables and part.state is PartitionState.ATTACHED
    ]
    return min(starts, default=None)


async def run_rollups(
    pool: asyncpg.Pool,
    now: datetime,
    *,
    chunk_buckets: int,
    dry_run: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[RollupResult]:
    """Run every rollup of ``rollup_state`` that has a definition, in name order."""
    async with pool.acquire() as conn:
        states = await read_rollups(conn)
    results: list[RollupResult] = []
    for state in states:
        rollup = ROLLUPS.get(state.name)
        if rollup is None:
            log.warning("rollup_unknown", rollup=state.name)
            continue
        try:
            result = await run_rollup(
                pool, rollup, state, now,
                chunk_buckets=chunk_buckets, dry_run=dry_run, timeout_s=timeout_s,
            )  # fmt: skip
        except _ERRORS as exc:
            log.error("rollup_failed", rollup=state.name, error=repr(exc))
            result = RollupResult(state.name, None, None, 0, 0, None, dry_run, error=repr(exc))
        results.append(result)
    return results


def failed(results: Sequence[RollupResult]) -> list[RollupResult]:
    """The results of rollups that failed."""
    return [r for r in results if r.error is not None]


async def run_rollup(
    pool: asyncpg.Pool,
    rollup: Rollup,
    state: RollupState,
    now: datetime,
    *,
    chunk_buckets: int,
    dry_run: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RollupResult:
    """One rollup's run (see the module docstring)."""
    async with pool.acquire() as conn:
        oldest = await oldest_partition_start(conn, state.source_tables)
    window = rollup_window(now, state, oldest)
    if window is None:
        _set_finalized(state.name, state.finalized_through, dry_run)
        return RollupResult(state.name, None, None, 0, 0, state.finalized_through, dry_run)
    chunks = window.chunks(chunk_buckets)
    if dry_run:
        planned = max(window.start, min(window.end, window.final_limit))
        return RollupResult(state.name, window.start, window.end, len(chunks), 0, planned, True)
    rows, final = 0, state.finalized_through
    for lo, hi in chunks:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(_CUSTOM_PLAN_SQL)
            written = _count(
                await conn.execute(rollup.upsert_sql, lo, hi, window.width, timeout=timeout_s)
            )
            rows += written
            final = await conn.fetchval(
                _ADVANCE_SQL, state.name, window.start, hi, window.final_limit, now, rows
            )
        ROLLUP_ROWS.labels(state.name).inc(written)
    _set_finalized(state.name, final, dry_run)
    log.info(
        "rollup_run",
        rollup=state.name,
        start=window.start.isoformat(),
        end=window.end.isoformat(),
        chunks=len(chunks),
        rows=rows,
        finalized_through=final and final.isoformat(),
    )
    return RollupResult(state.name, window.start, window.end, len(chunks), rows, final)


def _count(status: str) -> int:
    """Rows of an ``INSERT 0 <n>`` command tag."""
    return int(status.rsplit(" ", 1)[-1])


def _set_finalized(name: str, final: datetime | None, dry_run: bool) -> None:
    if final is not None and not dry_run:
        ROLLUP_FINALIZED.labels(name).set(final.timestamp())
