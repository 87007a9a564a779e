"""Retention's state for ``vigil status``: partitions per policy table, the last run, rollups.

Read from PostgreSQL as ``vigil_cli`` (the catalogs, ``retention_policies``,
``retention_runs``, ``rollup_state``), at a given ``now``:

- per policy table: vigil-retention's own reading of the catalog
  (:func:`vigil_retention.status_report.build_status` over
  :func:`vigil_retention.catalog.read_partitions`): attached partitions (detach-pending ones
  excluded), how many start after ``now`` (made ahead), the oldest one's name and start, their
  total size (data, indexes, TOAST). A table without partitions shows 0 / None / 0.
- the last retention run: the newest ``retention_runs`` row (started, finished, status,
  dry run, action count, error), or None when there has been none.
- per rollup: ``finalized_through``, its lag behind ``now`` in seconds (None while nothing
  is final), ``refreshed_through`` and ``last_run_at``.

:func:`collect_retention` connects, reads and never raises: an unmigrated database or a
failed query becomes ``{"error": ...}``; an unreachable server ``None`` (the Dependencies
section already says so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_retention.catalog import read_partitions, read_policies
from vigil_retention.models import Policy
from vigil_retention.status_report import TableStatus, build_status
from vigil_runtime.settings import redact_text

LAST_RUN_SQL: Final = """
SELECT id, started_at, finished_at, instance, dry_run, status,
       jsonb_array_length(actions) AS action_count, error
  FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT 1
"""

ROLLUPS_SQL: Final = """
SELECT rollup_name AS rollup, finalized_through,
       extract(epoch FROM $1::timestamptz - finalized_through)::float8 AS lag_s,
       refreshed_through, last_run_at
  FROM rollup_state ORDER BY rollup_name
"""


async def fetch_retention(
    conn: asyncpg.Connection, now: datetime, timeout_s: float
) -> dict[str, Any]:
    """``{"tables": [...], "last_run": {...} | None, "rollups": [...]}`` as of ``now``."""
    policies = await read_policies(conn)
    statuses = build_status(now, policies, await read_partitions(conn))
    by_table = {policy.table: policy for policy in policies}
    run = await conn.fetchrow(LAST_RUN_SQL, timeout=timeout_s)
    rollups = await conn.fetch(ROLLUPS_SQL, now, timeout=timeout_s)
    return {
        "tables": [_table(status, by_table[status.table]) for status in statuses],
        "last_run": dict(run) if run is not None else None,
        "rollups": [dict(row) for row in rollups],
    }


def _table(status: TableStatus, policy: Policy) -> dict[str, Any]:
    return {
        "table": status.table,
        "granularity": policy.granularity.value,
        "retention_days": policy.retention_days,
        "expire_action": policy.expire_action.value,
        "partitions": status.attached,
        "ahead": status.ahead,
        "oldest_partition": status.oldest_partition,
        "oldest_start": status.oldest_start,
        "total_bytes": status.size_bytes,
    }


async def collect_retention(url: str, now: datetime, timeout_s: float) -> dict[str, Any] | None:
    """:func:`fetch_retention` on a connection of its own; errors as ``{"error": ...}``."""
    try:
        conn = await asyncpg.connect(url, timeout=timeout_s)
    except Exception:
        return None
    try:
        return await fetch_retention(conn, now, timeout_s)
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        return {"error": "retention tables missing or old: run `vigil migrate`"}
    except Exception as exc:
        detail = str(exc).strip()
        return {"error": redact_text(f"{type(exc).__name__}: {detail}" if detail else repr(exc))}
    finally:
        await conn.close(timeout=timeout_s)
