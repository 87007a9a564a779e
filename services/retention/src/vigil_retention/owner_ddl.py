"""The owner's partition DDL, run by vigil-retention on one connection under ``SET ROLE``.

vigil-retention logs in as ``vigil_retention``, a NOINHERIT member of ``vigil_owner``
(migration 0008): it holds none of the owner's rights until it runs ``SET ROLE vigil_owner``.
:func:`owner_session` does exactly that around the partition DDL, with ``lock_timeout`` set,
and ``RESET``s both on the way out (also on errors), so the connection goes back to its pool
as the service's own role. :class:`OwnerDDL` is that session's statements:

- :meth:`~OwnerDDL.state`: where a partition-shaped table stands now (attached, detach
  pending, detached in ``public``, archived in ``vigil_archive``, or gone: ``None``);
- :meth:`~OwnerDDL.detach_concurrently`: ``ALTER TABLE parent DETACH PARTITION p
  CONCURRENTLY``, sent on its own (it cannot run in a transaction block). Interrupted in its
  second transaction (lock timeout, cancel, a killed backend) it leaves the partition detach
  pending: :meth:`~OwnerDDL.finalize_detach` (``... FINALIZE``) finishes it;
- :meth:`~OwnerDDL.pending`: the parent's detach-pending partition (at most one: another
  ``DETACH ... CONCURRENTLY`` on that parent fails until it is finalized);
- :meth:`~OwnerDDL.drop`, :meth:`~OwnerDDL.move_to_archive`: ``DROP TABLE IF EXISTS`` and
  ``ALTER TABLE IF EXISTS ... SET SCHEMA vigil_archive``, so a repeat is a no-op.

A statement that waits longer than ``lock_timeout`` for its lock fails with
``LockNotAvailableError`` and changes nothing (a busy table is retried on the next run).
Names are always quoted as identifiers; none is ever spliced into SQL unquoted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from vigil_retention.models import ARCHIVE_SCHEMA, PartitionState

__all__ = ["OwnerDDL", "owner_session", "qualified", "quote_ident"]

MIN_TIMEOUT_S = 120.0
"""Client-side timeout of one DDL statement, at least (3 × lock_timeout when longer)."""

_STATE_SQL = """
SELECT n.nspname AS schema, i.inhdetachpending AS pending, i.inhparent IS NOT NULL AS attached
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_inherits i
    ON i.inhrelid = c.oid AND i.inhparent = to_regclass(format('public.%I', $1::text))
 WHERE c.relname = $2 AND c.relkind IN ('r', 'p') AND n.nspname IN ('public', $3)
 ORDER BY n.nspname = 'public' DESC
 LIMIT 1
"""

_PENDING_SQL = """
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass(format('public.%I', $1::text)) AND i.inhdetachpending
 ORDER BY c.relname
"""


def quote_ident(name: str) -> str:
    """``name`` as a PostgreSQL identifier (double quotes, inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


@asynccontextmanager
async def owner_session(
    conn: asyncpg.Connection, role: str, lock_timeout_s: float
) -> AsyncIterator[OwnerDDL]:
    """``SET ROLE role`` and ``lock_timeout`` on ``conn`` for the block; both reset after."""
    if conn.is_in_transaction():
        raise RuntimeError("owner_session needs a connection outside any transaction")
    await conn.execute(f"SET ROLE {quote_ident(role)}")
    try:
        await conn.execute("SELECT set_config('lock_timeout', $1, false)", _ms(lock_timeout_s))
        yield OwnerDDL(conn, timeout_s=max(MIN_TIMEOUT_S, 3 * lock_timeout_s))
    finally:
        if not conn.is_closed():
            await conn.execute("RESET lock_timeout")
            await conn.execute("RESET ROLE")


def _ms(seconds: float) -> str:
    return f"{max(1, round(seconds * 1000))}ms"


class OwnerDDL:
    """The DDL statements of an :func:`owner_session` (see the module docstring)."""

    def __init__(self, conn: asyncpg.Connection, timeout_s: float = MIN_TIMEOUT_S) -> None:
        self.conn = conn
        self.timeout_s = timeout_s

    async def _ddl(self, sql: str) -> None:
        """One DDL statement, with a client timeout over the pool's command timeout: a
        concurrent detach may wait ``lock_timeout`` for each of several lockers."""
        await self.conn.execute(sql, timeout=self.timeout_s)

    async def state(self, table: str, partition: str) -> PartitionState | None:
        """Where ``partition`` of ``table`` stands now; ``None`` when no such table exists."""
        row = await self.conn.fetchrow(_STATE_SQL, table, partition, ARCHIVE_SCHEMA)
        if row is None:
            return None
        if row["schema"] == ARCHIVE_SCHEMA:
            return PartitionState.ARCHIVED
        if not row["attached"]:
            return PartitionState.DETACHED
        return PartitionState.DETACH_PENDING if row["pending"] else PartitionState.ATTACHED

    async def exists(self, schema: str, name: str) -> bool:
        """Whether the table ``schema.name`` exists."""
        found = await self.conn.fetchval(
            "SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL", schema, name
        )
        return bool(found)

    async def pending(self, table: str) -> list[str]:
        """Partitions of ``table`` left detach pending (PostgreSQL allows one at a time)."""
        rows = await self.conn.fetch(_PENDING_SQL, table)
        return [str(r["relname"]) for r in rows]

    async def detach_concurrently(self, table: str, partition: str) -> None:
        """``DETACH PARTITION ... CONCURRENTLY``: readers and writers of ``table`` carry on."""
        await self._ddl(
            f"ALTER TABLE {qualified('public', table)} "
            f"DETACH PARTITION {qualified('public', partition)} CONCURRENTLY"
        )

    async def finalize_detach(self, table: str, partition: str) -> None:
        """``DETACH PARTITION ... FINALIZE``: finish an interrupted concurrent detach."""
        await self._ddl(
            f"ALTER TABLE {qualified('public', table)} "
            f"DETACH PARTITION {qualified('public', partition)} FINALIZE"
        )

    async def drop(self, schema: str, name: str) -> None:
        """``DROP TABLE IF EXISTS schema.name``."""
        await self._ddl(f"DROP TABLE IF EXISTS {qualified(schema, name)}")

    async def move_to_archive(self, name: str) -> None:
        """``ALTER TABLE IF EXISTS public.name SET SCHEMA vigil_archive``."""
        await self._ddl(
            f"ALTER TABLE IF EXISTS {qualified('public', name)} "
            f"SET SCHEMA {quote_ident(ARCHIVE_SCHEMA)}"
        )
