"""Is a failed write the fault of one row, or of the infrastructure?

Every writer (PostgreSQL COPY batches, Redis fan-out) must tell the two apart: a bad row is
kept aside (``ingest_rejects``, ``vigil:dlq``) and the rest goes on, while an infrastructure
fault (a revoked privilege, a partition that cannot be created, a full disk, a lost
connection, a missing table) is no row's fault, so nothing may be set aside for it: the
writer keeps its rows, stops acknowledging, reports the fault (readiness) and retries with
backoff until the cause goes away.

:func:`classify_pg_error` decides by SQLSTATE:

* ``23505`` (unique violation) where the writer handles duplicates → :attr:`PgFault.CONFLICT`;
* ``23514`` "no partition of relation ... found for row" → :attr:`PgFault.MISSING_PARTITION`
  (the writer creates the partition; if it cannot, that is an infrastructure fault);
* any other class ``22`` (data exception) or ``23`` (integrity constraint) error, and the
  driver's refusal to encode a value (``ValueError``, ``TypeError``, ``OverflowError``) →
  :attr:`PgFault.ROW` — the only kind that may become a reject;
* connection loss, timeouts, serialization failures, deadlocks, class ``53`` (disk full, out
  of memory) → :attr:`PgFault.TRANSIENT`;
* everything else (``42501`` insufficient privilege, ``42P01`` undefined table, ``25006``
  read-only transaction, ...) → :attr:`PgFault.INFRASTRUCTURE`.

:func:`is_transient_redis_error` does the same for Redis: connection loss, timeouts and the
server states that pass (``BUSY``, ``LOADING``, ``OOM``, ``READONLY``, ``NOPERM``, ...) are
retried as they are; any other error reply (``WRONGTYPE``, a script error) may be the fault
of the entries sent, so the caller may split its batch to find them.
"""

from __future__ import annotations

from enum import StrEnum

import asyncpg
from redis.exceptions import (
    ClusterDownError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)

from vigil_runtime.db import is_transient_error
from vigil_runtime.partitions import is_missing_partition_error
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS

__all__ = [
    "PgFault",
    "classify_pg_error",
    "describe_error",
    "is_transient_redis_error",
    "sqlstate",
]

_UNIQUE_VIOLATION = "23505"
_ROW_CLASSES = ("22", "23")
_CLIENT_ROW_ERRORS: tuple[type[BaseException], ...] = (
    # asyncpg's DataError (it could not encode a value) is a ValueError, so a row fault,
    # checked before db's transient InterfaceError, which it also is.
    ValueError,
    TypeError,
    OverflowError,
)
_REDIS_TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *REDIS_CONNECTION_ERRORS,  # with LOADING (BusyLoadingError) and AuthenticationError
    OutOfMemoryError,
    ReadOnlyError,
    NoPermissionError,
    ClusterDownError,  # with MASTERDOWN (MasterDownError)
    TryAgainError,
    NoScriptError,
)
"""redis-py's classes for the server's (or the network's) state, not the data sent."""
_REDIS_TRANSIENT_REPLIES = ("BUSY", "MISCONF", "NOREPLICAS", "UNBLOCKED")
"""Error reply prefixes of that kind that redis-py leaves as a plain ``ResponseError``."""
_PIPELINE_MARKER = " caused error: "
"""redis-py prefixes a pipeline command's error with ``Command # n (...) of pipeline``."""


class PgFault(StrEnum):
    """What a failed PostgreSQL write means for the rows that were sent."""

    ROW = "row"
    """Some row is bad (the batch may be bisected to find it; it becomes a reject)."""
    CONFLICT = "conflict"
    """A duplicate of a stored row, which the writer's ``ON CONFLICT`` path handles."""
    MISSING_PARTITION = "missing_partition"
    """The rows need a partition that does not exist yet."""
    TRANSIENT = "transient"
    """The connection or the server is unavailable for now: retry."""
    INFRASTRUCTURE = "infrastructure"
    """Not a row's fault and not known to pass: keep the rows, report, retry with backoff."""


def sqlstate(exc: BaseException) -> str | None:
    """The error's SQLSTATE when PostgreSQL sent one."""
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def classify_pg_error(exc: BaseException, *, conflict_handled: bool = False) -> PgFault:
    """Classify a failed write (see the module docstring)."""
    state = sqlstate(exc) if isinstance(exc, asyncpg.PostgresError) else None
    if state is not None:
        if is_missing_partition_error(exc):
            return PgFault.MISSING_PARTITION
        if state == _UNIQUE_VIOLATION and conflict_handled:
            return PgFault.CONFLICT
        if state[:2] in _ROW_CLASSES:
            return PgFault.ROW
    elif isinstance(exc, _CLIENT_ROW_ERRORS):
        return PgFault.ROW
    if is_transient_error(exc):
        return PgFault.TRANSIENT
    return PgFault.INFRASTRUCTURE


def describe_error(exc: BaseException) -> str:
    """``"<SQLSTATE> <Type>: message"`` (no SQLSTATE for non-PostgreSQL errors), one line."""
    state = sqlstate(exc)
    text = " ".join(str(exc).split()) or "(no message)"
    prefix = f"{state} " if state else ""
    return f"{prefix}{type(exc).__name__}: {text}"[:500]


def is_transient_redis_error(exc: BaseException) -> bool:
    """Whether a Redis error is the server's or the network's state, not the data's."""
    if isinstance(exc, _REDIS_TRANSIENT_ERRORS):
        return True
    if isinstance(exc, ResponseError):
        reply = str(exc).rpartition(_PIPELINE_MARKER)[2].lstrip()
        return reply.split(" ", 1)[0].upper() in _REDIS_TRANSIENT_REPLIES
    return False
