"""What a retention run reads before it plans: policies, rollups, partitions, archive files.

- :func:`read_policies`: ``retention_policies``, by table name.
- :func:`read_rollups`: ``rollup_state``, by rollup name.
- :func:`read_partitions`: every partition-shaped table of a policy table, by table and start:

  * attached or detach-pending partitions of the parent in ``public`` (``pg_inherits``), their
    range read from ``pg_get_expr(relpartbound)`` (session TimeZone UTC), whatever their name;
  * detached tables left in ``public`` and archived ones in ``vigil_archive``, recognised by the
    naming ``<table>_p<YYYYMM[DD[HH]]>``; their range is recomputed by
    ``vigil_partition_bounds(table, <suffix as UTC time>)`` when that gives the same name back,
    else read from a CHECK constraint ``col >= '...' AND col < '...'`` (``DETACH ...
    CONCURRENTLY`` leaves one), else the table is skipped with a warning.

  Sizes are ``pg_total_relation_size`` (heap, indexes, TOAST). Works as ``vigil_retention``:
  it reads only the system catalogs, ``retention_policies`` and ``vigil_partition_bounds``.
- :func:`read_archive_files`: the exports ``<archive_dir>/<table>/<partition>.sql.gz``, their
  range from the sidecar ``<partition>.json`` (``range: [start, end]``) or, without one, from
  the name's suffix. Temporary and hidden files are ignored.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from vigil_retention.models import (
    ARCHIVE_SCHEMA,
    ArchiveFile,
    Partition,
    PartitionState,
    Policy,
    RollupState,
)
from vigil_runtime.logging import get_logger
from vigil_schema.enums import ExpireAction, Granularity

__all__ = [
    "ARCHIVE_SUFFIX",
    "read_archive_files",
    "read_partitions",
    "read_policies",
    "read_rollups",
    "suffix_time",
]

ARCHIVE_SUFFIX = ".sql.gz"
"""Extension of an export; its manifest is ``<partition>.json`` beside it."""

log = get_logger("vigil_retention.catalog")

_POLICIES_SQL = """
SELECT table_name, granularity, retention_days, premake, expire_action, archive_keep_days,
       min_retention_days
  FROM public.retention_policies ORDER BY table_name
"""
_ROLLUPS_SQL = """
SELECT rollup_name, source_tables, bucket_width, lateness, keep_days, finalized_through,
       refreshed_through
  FROM public.rollup_state ORDER BY rollup_name
"""
_ATTACHED_SQL = r"""
SELECT rp.table_name, child.relname::text AS name, i.inhdetachpending AS pending,
       b.m[1]::timestamptz AS range_start, b.m[2]::timestamptz AS range_end,
       b.bound, pg_total_relation_size(child.oid) AS size_bytes
  FROM public.retention_policies rp
  JOIN pg_class parent ON parent.relname = rp.table_name AND parent.relkind = 'p'
       AND parent.relnamespace = 'public'::regnamespace
  JOIN pg_inherits i ON i.inhparent = parent.oid
  JOIN pg_class child ON child.oid = i.inhrelid
  CROSS JOIN LATERAL (
        SELECT e.bound,
               regexp_match(e.bound, $re$^FOR VALUES FROM \('([^']+)'\) TO \('([^']+)'\)$$re$) AS m
          FROM (SELECT pg_get_expr(child.relpartbound, child.oid) AS bound) e) b
"""
_UNATTACHED_SQL = r"""
SELECT rp.table_name, c.relname::text AS name, n.nspname::text AS schema,
       pg_total_relation_size(c.oid) AS size_bytes,
       coalesce((SELECT array_agg(pg_get_constraintdef(k.oid) ORDER BY k.conname)
                   FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'c'),
                '{}') AS checks
  FROM public.retention_policies rp
  JOIN pg_class c ON c.relkind = 'r' AND NOT c.relispartition
       AND c.relname ~ ('^' || rp.table_name || '_p[0-9]{6}([0-9]{2}){0,2}$')
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname IN ('public', $1)
"""
_BOUNDS_SQL = (
    "SELECT partition_name, range_start, range_end"
    " FROM public.vigil_partition_bounds($1::text, $2::timestamptz)"
)
_CHECK_RE = re.compile(r">= '([^']+)'::timestamp with time zone\).*< '([^']+)'::timestamp")
_SUFFIX_FORMATS = {6: "%Y%m", 8: "%Y%m%d", 10: "%Y%m%d%H"}


async def read_policies(conn: asyncpg.Connection) -> list[Policy]:
    """Every ``retention_policies`` row, by table name."""
    return [
        Policy(
            table=r["table_name"],
            granularity=Granularity(r["granularity"]),
            retention_days=r["retention_days"],
            premake=r["premake"],
            expire_action=ExpireAction(r["expire_action"]),
            archive_keep_days=r["archive_keep_days"],
            min_retention_days=r["min_retention_days"],
        )
        for r in await conn.fetch(_POLICIES_SQL)
    ]


async def read_rollups(conn: asyncpg.Connection) -> list[RollupState]:
    """Every ``rollup_state`` row, by rollup name."""
    return [
        RollupState(
            name=r["rollup_name"],
            source_tables=tuple(r["source_tables"]),
            bucket_width=r["bucket_width"],
            lateness=r["lateness"],
            keep_days=r["keep_days"],
            finalized_through=r["finalized_through"],
            refreshed_through=r["refreshed_through"],
        )
        for r in await conn.fetch(_ROLLUPS_SQL)
    ]


async def read_partitions(conn: asyncpg.Connection) -> list[Partition]:
    """Every partition-shaped table of the policy tables, by (table, start, name).

    Reads in a transaction of its own (a savepoint inside the caller's, whose TimeZone then
    stays UTC until it ends) with ``SET LOCAL TimeZone = 'UTC'``.
    """
    async with conn.transaction():
        await conn.execute("SET LOCAL TimeZone = 'UTC'")
        live = [_live_partition(r) for r in await conn.fetch(_ATTACHED_SQL)]
        loose = [
            await _loose_partition(conn, r)
            for r in await conn.fetch(_UNATTACHED_SQL, ARCHIVE_SCHEMA)
        ]
    found = [p for p in [*live, *loose] if p is not None]
    return sorted(found, key=lambda p: (p.table, p.start, p.name))


def _live_partition(row: asyncpg.Record) -> Partition | None:
    """An attached or detach-pending partition, or None (a DEFAULT or unbounded one)."""
    if row["range_start"] is None or row["range_end"] is None:
        log.warning(
            "partition without a time range skipped",
            table=row["table_name"],
            partition=row["name"],
            bound=row["bound"],
        )
        return None
    state = PartitionState.DETACH_PENDING if row["pending"] else PartitionState.ATTACHED
    return Partition(
        table=row["table_name"],
        name=row["name"],
        start=row["range_start"],
        end=row["range_end"],
        state=state,
        size_bytes=row["size_bytes"],
    )


async def _loose_partition(conn: asyncpg.Connection, row: asyncpg.Record) -> Partition | None:
    """A detached (public) or archived (vigil_archive) table, or None if its range is unknown."""
    table, name = row["table_name"], row["name"]
    bounds = await _bounds_from_name(conn, table, name) or await _bounds_from_checks(
        conn, row["checks"]
    )
    if bounds is None:
        log.warning("detached table with no known range skipped", table=table, partition=name)
        return None
    archived = row["schema"] == ARCHIVE_SCHEMA
    return Partition(
        table=table,
        name=name,
        start=bounds[0],
        end=bounds[1],
        state=PartitionState.ARCHIVED if archived else PartitionState.DETACHED,
        size_bytes=row["size_bytes"],
    )


async def _bounds_from_name(
    conn: asyncpg.Connection, table: str, name: str
) -> tuple[datetime, datetime] | None:
    """vigil_partition_bounds of the name's suffix, if it names the same partition."""
    start = suffix_time(name)
    if start is None:
        return None
    row = await conn.fetchrow(_BOUNDS_SQL, table, start)
    if row is None or row["partition_name"] != name:
        return None
    return row["range_start"], row["range_end"]


async def _bounds_from_checks(
    conn: asyncpg.Connection, checks: list[str]
) -> tuple[datetime, datetime] | None:
    """The range of a CHECK ``(col >= 'a'::timestamptz) AND (col < 'b'::timestamptz)``."""
    for check in checks:
        match = _CHECK_RE.search(check)
        if match is None:
            continue
        lo, hi = await conn.fetchrow(
            "SELECT $1::text::timestamptz, $2::text::timestamptz", match[1], match[2]
        )
        if lo < hi:
            return lo, hi
    return None


def suffix_time(name: str) -> datetime | None:
    """UTC start encoded in ``<table>_pYYYYMM[DD[HH]]``, or None."""
    suffix = name.rpartition("_p")[2]
    fmt = _SUFFIX_FORMATS.get(len(suffix))
    if fmt is None or not suffix.isdigit():
        return None
    try:
        return datetime.strptime(suffix, fmt).replace(tzinfo=UTC)
    except ValueError:
        return None


def _suffix_range(name: str) -> tuple[datetime, datetime] | None:
    """The period ``[start, end)`` the name's suffix encodes (month, day or hour), or None."""
    start = suffix_time(name)
    if start is None:
        return None
    width = len(name.rpartition("_p")[2])
    if width == 10:
        return start, start + timedelta(hours=1)
    if width == 8:
        return start, start + timedelta(days=1)
    months = start.year * 12 + start.month
    return start, start.replace(year=months // 12, month=months % 12 + 1)


def read_archive_files(archive_dir: Path) -> list[ArchiveFile]:
    """The exports under ``archive_dir`` (``<table>/<partition>.sql.gz``), by (table, start)."""
    if not archive_dir.is_dir():
        return []
    found: list[ArchiveFile] = []
    for table_dir in sorted(p for p in archive_dir.iterdir() if p.is_dir()):
        for path in sorted(table_dir.glob(f"*{ARCHIVE_SUFFIX}")):
            partition = path.name[: -len(ARCHIVE_SUFFIX)]
            if partition.startswith(".") or not path.is_file():
                continue
            bounds = _manifest_range(path.with_name(partition + ".json")) or _suffix_range(
                partition
            )
            if bounds is None:
                log.warning("archive file with no known range skipped", path=str(path))
                continue
            found.append(
                ArchiveFile(
                    table=table_dir.name,
                    partition=partition,
                    path=path,
                    start=bounds[0],
                    end=bounds[1],
                )
            )
    return sorted(found, key=lambda f: (f.table, f.start, f.partition))


def _manifest_range(manifest: Path) -> tuple[datetime, datetime] | None:
    """``range: [start, end]`` (ISO 8601) of an export's JSON manifest, or None."""
    try:
        data: Any = json.loads(manifest.read_text(encoding="utf-8"))
        start, end = (datetime.fromisoformat(v) for v in data["range"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        return None
    return start.astimezone(UTC), end.astimezone(UTC)
