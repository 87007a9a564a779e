"""Delete rollup rows past their rollup's ``keep_days`` (the plan's PRUNE_ROLLUP action).

- :func:`prune_rollup`: ``DELETE FROM <rollup table> WHERE bucket < before`` on the caller's
  connection, plus, when rows went, one ``retention.rollup_pruned`` audit row (entity_type
  ``rollup``, entity_id the rollup's name, details ``{"before", "rows"}``) in the same
  transaction; counts ``vigil_retention_rollup_rows_pruned_total``. Rollups are plain
  tables with a ``bucket`` index, so a DELETE by bucket is the right tool there.
- :func:`prune_rollups`: every rollup with a ``keep_days``, with ``before = now - keep_days``
  (what the planner's PRUNE_ROLLUP actions say too). ``dry_run`` counts instead of deleting.

Only names of :data:`~vigil_retention.rollups.ROLLUPS` are accepted (the table name goes into
the SQL text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import asyncpg

from vigil_retention.catalog import read_rollups
from vigil_retention.metrics import ROLLUP_ROWS_PRUNED
from vigil_retention.rollups import ROLLUPS
from vigil_runtime.audit import AuditEntry, write_audits
from vigil_runtime.logging import get_logger

__all__ = ["ACTOR", "AUDIT_ACTION", "PruneResult", "prune_rollup", "prune_rollups"]

log = get_logger(__name__)

ACTOR: Final = "vigil-retention"
AUDIT_ACTION: Final = "retention.rollup_pruned"


@dataclass(frozen=True, slots=True)
class PruneResult:
    """Rows of rollup ``name`` with a bucket before ``before``: deleted (or, dry, found)."""

    name: str
    before: datetime
    rows: int
    dry_run: bool = False


def _table(rollup_name: str) -> str:
    rollup = ROLLUPS.get(rollup_name)
    if rollup is None:
        raise ValueError(f"unknown rollup {rollup_name!r}")
    return rollup.table


async def prune_rollup(
    conn: asyncpg.Connection, rollup_name: str, before: datetime, *, now: datetime | None = None
) -> int:
    """Delete the rows of ``rollup_name`` with ``bucket < before``; audit; return the count.

    ``now`` (the run's clock) stamps the audit row; None: the database's ``now()``.
    """
    table = _table(rollup_name)
    async with conn.transaction():
        status = await conn.execute(f'DELETE FROM public."{table}" WHERE bucket < $1', before)
        rows = int(status.rsplit(" ", 1)[-1])
        if rows:
            details = {"before": before.isoformat(), "rows": rows, "table": table}
            entry = AuditEntry(
                ACTOR, AUDIT_ACTION, "rollup", rollup_name, details, ts=now, service=ACTOR
            )
            await write_audits(conn, [entry])
    if rows:
        ROLLUP_ROWS_PRUNED.labels(rollup_name).inc(rows)
        log.info("rollup_pruned", rollup=rollup_name, before=before.isoformat(), rows=rows)
    return rows


async def count_prunable(conn: asyncpg.Connection, rollup_name: str, before: datetime) -> int:
    """How many rows :func:`prune_rollup` would delete."""
    table = _table(rollup_name)
    count: int = await conn.fetchval(
        f'SELECT count(*) FROM public."{table}" WHERE bucket < $1', before
    )
    return count


async def prune_rollups(
    pool: asyncpg.Pool, now: datetime, *, dry_run: bool = False
) -> list[PruneResult]:
    """Prune every known rollup that has a ``keep_days``, at ``now``."""
    results: list[PruneResult] = []
    async with pool.acquire() as conn:
        for state in await read_rollups(conn):
            if state.keep_days is None or state.name not in ROLLUPS:
                continue
            before = now - timedelta(days=state.keep_days)
            if dry_run:
                rows = await count_prunable(conn, state.name, before)
            else:
                rows = await prune_rollup(conn, state.name, before, now=now)
            results.append(PruneResult(state.name, before, rows, dry_run))
    return results
