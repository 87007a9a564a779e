"""`RunLock`: at most one retention run at a time, across replicas, CronJobs and operators.

The lock is PostgreSQL's ``pg_try_advisory_xact_lock`` taken in a transaction that a dedicated
connection keeps open for the whole run, so it is released however the run ends: the
transaction rolls back on exit, and if the process dies or loses the connection, PostgreSQL
ends the session and frees the lock with it. A second runner's ``try`` answers false at once
and that runner does nothing.

The holding transaction takes no snapshot and no lock on any table (``READ COMMITTED``: the
statement's snapshot ends with the statement), so it does not hold back vacuum and does not
delay a ``DETACH PARTITION ... CONCURRENTLY`` of the same run, which waits only for sessions
locking the parent. ``idle_in_transaction_session_timeout`` is switched off for it alone.

`still_held()` checks the connection between actions: a run whose lock connection broke must
stop (another runner may have started), since the lock no longer fences it.
"""

from __future__ import annotations

import types
from typing import Any, Final, Self

import asyncpg

from vigil_runtime.logging import get_logger

__all__ = ["LOCK_SQL", "RunLock"]

_log = get_logger(__name__)

LOCK_SQL: Final = "SELECT pg_try_advisory_xact_lock(hashtext('vigil_retention'), 0)"
"""The one lock key every retention runner tries."""


class RunLock:
    """Async context manager: ``async with RunLock(url) as lock: if lock.held: ...``."""

    def __init__(self, database_url: str, *, connect_timeout_s: float = 10.0) -> None:
        self._url = database_url
        self._connect_timeout_s = connect_timeout_s
        self._conn: Any = None
        self._transaction: Any = None
        self.held = False

    async def __aenter__(self) -> Self:
        self._conn = await asyncpg.connect(
            self._url,
            timeout=self._connect_timeout_s,
            server_settings={"application_name": "vigil-retention-lock"},
        )
        try:
            self._transaction = self._conn.transaction()
            await self._transaction.start()
            await self._conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            self.held = bool(await self._conn.fetchval(LOCK_SQL))
        except BaseException:
            await self._conn.close()
            raise
        return self

    async def still_held(self) -> bool:
        """Whether the lock's connection still answers (so the lock is still held)."""
        if not self.held or self._conn is None or self._conn.is_closed():
            return False
        try:
            await self._conn.fetchval("SELECT 1", timeout=10)
        except (asyncpg.PostgresError, OSError, TimeoutError) as exc:
            _log.warning("retention lock connection lost", error=str(exc))
            return False
        return True

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        conn, self._conn, self.held = self._conn, None, False
        if conn is None:
            return
        try:
            if self._transaction is not None and not conn.is_closed():
                await self._transaction.rollback()
        except (asyncpg.PostgresError, OSError) as error:
            _log.warning("retention lock rollback failed", error=str(error))
        finally:
            await conn.close()
