"""Create missing time partitions on demand.

Vigil's time-series tables have no default partition: a writer that meets
``no partition of relation ... found for row`` creates the partition and
retries. Partition names and bounds are decided by exactly one
implementation, the SQL function ``vigil_ensure_partition(parent, ts)``
installed by the migrations (granularity per table from
``retention_policies``); this module only decides *which* timestamps to pass
to it.

:func:`write_creating_partitions` is that rule for one write on a connection: run it in a
savepoint; on a missing partition, create the partitions of the given timestamps and run it
once more.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg

__all__ = [
    "PartitionHelper",
    "is_missing_partition_error",
    "partition_probe_timestamps",
    "write_creating_partitions",
]

T = TypeVar("T")

MISSING_PARTITION_MARKER = "no partition of relation"
_CHECK_VIOLATION = "23514"

_ENSURE_ONE_SQL = "SELECT vigil_ensure_partition($1::text, $2::timestamptz)"
_ENSURE_NOW_OR_AT_SQL = "SELECT vigil_ensure_partition($1::text, coalesce($2::timestamptz, now()))"
_ENSURE_MANY_SQL = (
    "SELECT DISTINCT vigil_ensure_partition($1::text, t)"
    " FROM unnest($2::timestamptz[]) AS t ORDER BY 1"
)


def is_missing_partition_error(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL's "no partition ... found for row" error."""
    return (
        isinstance(exc, asyncpg.PostgresError)
        and getattr(exc, "sqlstate", None) == _CHECK_VIOLATION
        and MISSING_PARTITION_MARKER in str(exc)
    )


async def write_creating_partitions(
    conn: asyncpg.Connection,
    table: str,
    timestamps: Iterable[datetime | None],
    write: Callable[[], Awaitable[T]],
) -> T:
    """``write()`` in a savepoint (or a transaction of its own); when it fails because a row
    of ``table`` has no partition, create the partitions of ``timestamps`` (``None``: the
    database's ``now()``) and run it once more. Any other error is raised."""
    try:
        async with conn.transaction():
            return await write()
    except asyncpg.CheckViolationError as exc:
        if not is_missing_partition_error(exc):
            raise
    async with conn.transaction():
        for ts in sorted(set(timestamps), key=lambda t: (t is not None, t)):
            await conn.fetchval(_ENSURE_NOW_OR_AT_SQL, table, ts)
        return await write()


def partition_probe_timestamps(timestamps: Iterable[datetime | None]) -> list[datetime]:
    """Reduce a batch's timestamps to the few that reach every partition it needs.

    Timestamps are grouped by UTC hour and the earliest and latest of each
    group are kept. Partitions are contiguous ranges at least an hour long
    (hourly, daily or monthly), so at most one partition boundary can fall
    between a group's earliest and latest value, and every row of the group
    lands in the partition of one of those two. This holds whatever the
    boundaries' time zone, and needs no knowledge of the table's granularity.
    ``None`` values are ignored (the column's NOT NULL constraint rejects them).
    """
    bounds: dict[datetime, tuple[datetime, datetime]] = {}
    for ts in timestamps:
        if ts is None:
            continue
        utc = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
        hour = utc.replace(minute=0, second=0, microsecond=0)
        low_high = bounds.get(hour)
        if low_high is None:
            bounds[hour] = (utc, utc)
        elif utc < low_high[0]:
            bounds[hour] = (utc, low_high[1])
        elif utc > low_high[1]:
            bounds[hour] = (low_high[0], utc)
    probes: set[datetime] = set()
    for low, high in bounds.values():
        probes.add(low)
        probes.add(high)
    return sorted(probes)


class PartitionHelper:
    """Calls ``vigil_ensure_partition`` for single timestamps, ranges and batches."""

    def __init__(self, pool: asyncpg.Pool, *, timeout: float = 30.0) -> None:
        self._pool = pool
        self._timeout = timeout

    async def ensure(self, table: str, ts: datetime) -> str:
        """Create (if missing) the partition of ``table`` holding ``ts``; return its name."""
        async with self._pool.acquire() as conn:
            name: str = await conn.fetchval(_ENSURE_ONE_SQL, table, ts, timeout=self._timeout)
        return name

    async def ensure_for(self, table: str, timestamps: Iterable[datetime | None]) -> list[str]:
        """Create every partition that rows with these timestamps need.

        One round trip; the SQL function is called only for the probe
        timestamps of :func:`partition_probe_timestamps`, never once per row.
        Returns the distinct partition names, sorted.
        """
        probes = partition_probe_timestamps(timestamps)
        if not probes:
            return []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_ENSURE_MANY_SQL, table, probes, timeout=self._timeout)
        return [row[0] for row in rows]

    async def ensure_range(self, table: str, start: datetime, end: datetime) -> list[str]:
        """Create the partitions covering ``[start, end)``.

        The range is probed every hour (the finest granularity), so a month
        of daily partitions costs ~720 cheap function calls in one round trip.
        """
        step = timedelta(hours=1)
        if end <= start:
            return []
        probes: list[datetime | None] = []
        ts = start
        while ts < end:
            probes.append(ts)
            ts += step
        probes.append(end - timedelta(microseconds=1))
        return await self.ensure_for(table, probes)
