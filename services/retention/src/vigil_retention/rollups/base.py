"""What a rollup is: a target table, its source tables and one recompute statement.

A :class:`Rollup` is plain data. Its ``upsert_sql`` recomputes every bucket of the half-open
range ``[$1, $2)`` (bucket-aligned ``timestamptz`` bounds) with buckets of width ``$3``
(``interval``, from ``rollup_state.bucket_width``) and upserts them into ``table``:

- it reads each source table once, filtered by ``ts >= $1 AND ts < $2`` on the partition
  key, so only the partitions of the range are scanned;
- it groups by ``date_bin($3, ts, BUCKET_ORIGIN)`` (buckets are aligned to the Unix epoch
  in UTC, whatever the session's time zone);
- ``INSERT ... SELECT ... GROUP BY ... ON CONFLICT DO UPDATE``: re-running it over the same
  range rewrites the same rows with the same values (idempotent).

The statement's command tag counts the rows written. Groups are only ever added or
updated: raw tables only grow, so a group never disappears from a bucket that is not final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["BUCKET_ORIGIN", "BUCKET_SQL", "Rollup", "ceil_bucket", "floor_bucket"]

BUCKET_ORIGIN = datetime(1970, 1, 1, tzinfo=UTC)
"""Where buckets are aligned (the Unix epoch, UTC)."""

BUCKET_SQL = "date_bin($3::interval, ts, timestamptz '1970-01-01 00:00:00+00')"
"""The bucket of a source row, in SQL (the same alignment as :func:`floor_bucket`)."""


@dataclass(frozen=True, slots=True)
class Rollup:
    """One rollup: ``name`` is its ``rollup_state.rollup_name`` and also its table's name."""

    name: str
    source_tables: tuple[str, ...]
    upsert_sql: str
    description: str = ""

    @property
    def table(self) -> str:
        """The rollup table (``public``); the same as the name."""
        return self.name


def floor_bucket(ts: datetime, width: timedelta) -> datetime:
    """Start of the bucket holding ``ts`` (UTC, aligned to :data:`BUCKET_ORIGIN`)."""
    return BUCKET_ORIGIN + ((ts - BUCKET_ORIGIN) // width) * width


def ceil_bucket(ts: datetime, width: timedelta) -> datetime:
    """``ts`` if it is a bucket boundary, else the end of its bucket."""
    start = floor_bucket(ts, width)
    return start if start == ts else start + width
