"""Retention's state for ``vigil status``: partitions per policy table, the last run, rollups.

Read from PostgreSQL as ``vigil_cli`` (the catalogs, ``retention_policies``,
``retention_runs``, ``rollup_state``), at a given ``now``:

- per policy table: its attached partitions (detach-pending ones excluded) from
  ``pg_inherits`` with their range start parsed from the partition bound; how many start
  after ``now`` (made ahead); the oldest one's name and start; ``pg_total_relation_size``
  summed over them (data, indexes, TOAST). A table without partitions shows 0 / None / 0.
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

from vigil_runtime.settings import redact_text

TABLES_SQL: Final = r"""
WITH parts AS (
    SELECT rp.table_name, c.relname AS partition, pg_total_relation_size(c.oid) AS bytes,
           substring(pg_get_expr(c.relpartbound, c.oid) FROM 'FROM \(''([^'']+)''\)')::timestamptz
               AS range_start
      FROM retention_policies rp
      JOIN pg_inherits i ON i.inhparent = to_regclass(format('public.%I', rp.table_name))
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE NOT i.inhdetachpending
)
SELECT rp.table_name AS "table", rp.granularity, rp.retention_days, rp.expire_action,
       count(p.partition)                                   AS partitions,
       count(p.partition) FILTER (WHERE p.range_start > $1) AS ahead,
       (array_agg(p.partition ORDER BY p.range_start, p.partition))[1] AS oldest_partition,
       min(p.range_start)                                   AS oldest_start,
       coalesce(sum(p.bytes), 0)::bigint                    AS total_bytes
  FROM retention_policies rp
  LEFT JOIN parts p USING (table_name)
 GROUP BY rp.table_name, rp.granularity, rp.retention_days, rp.expire_action
 ORDER BY rp.table_name
"""

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
    tables = await conn.fetch(TABLES_SQL, now, timeout=timeout_s)
    run = await conn.fetchrow(LAST_RUN_SQL, timeout=timeout_s)
    rollups = await conn.fetch(ROLLUPS_SQL, now, timeout=timeout_s)
    return {
        "tables": [dict(row) for row in tables],
        "last_run": dict(run) if run is not None else None,
        "rollups": [dict(row) for row in rollups],
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
