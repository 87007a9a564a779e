"""One apply per camera at a time, across replicas: :func:`camera_apply_lock`.

A PostgreSQL session-level advisory lock (``pg_try_advisory_lock`` on a 64-bit hash of
``vigil_apply:<camera id>``) held on one pooled connection for the whole apply, rather than a
Redis lease, because:

- an apply lasts as long as the camera takes (ONVIF timeouts and retries, a read back, maybe
  a rollback): a lease with a TTL would have to be renewed by a side task, and if it expired
  anyway a second replica could start writing the same camera mid-apply; an advisory lock has
  no TTL and lasts exactly as long as its holder's session;
- a replica that dies loses its connection and with it the lock, at once (a lease would block
  the camera until its TTL ran out);
- the rows it protects (``applied_configs``) live in the same database, written on the same
  connection.

The lock is released explicitly when the apply ends; should that fail, asyncpg's pool reset
(``pg_advisory_unlock_all()`` when a connection goes back to the pool) releases it anyway.

``pg_try_``: a second apply of a busy camera is refused at once (:class:`CameraBusyError`), it
does not queue behind the first: the caller decides whether to retry. The lock needs a
session: behind a transaction-pooling PgBouncer it would not hold (Vigil connects directly).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import asyncpg

__all__ = ["CameraBusyError", "camera_apply_lock"]

_KEY_SQL: Final = "hashtextextended('vigil_apply:' || $1::text, 0)"
_TRY_SQL: Final = f"SELECT pg_try_advisory_lock({_KEY_SQL})"
_UNLOCK_SQL: Final = f"SELECT pg_advisory_unlock({_KEY_SQL})"


class CameraBusyError(Exception):
    """Another apply of the same camera is running (on this or another replica)."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(f"camera {camera_id!r}: another apply is in progress")
        self.camera_id = camera_id


@contextlib.asynccontextmanager
async def camera_apply_lock(pool: asyncpg.Pool, camera_id: str) -> AsyncIterator[Any]:
    """Hold the camera's apply lock; yields the connection that holds it (use it for the
    apply's own statements). :class:`CameraBusyError` when another session holds it."""
    async with pool.acquire() as conn:
        if not await conn.fetchval(_TRY_SQL, camera_id):
            raise CameraBusyError(camera_id)
        try:
            yield conn
        finally:
            # A broken connection has lost the lock with its session already.
            with contextlib.suppress(asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
                await conn.fetchval(_UNLOCK_SQL, camera_id)
