"""The outbox ledger: every SQL statement delivery runs on ``notifications``.

A row's delivery: :func:`lease_next` takes the oldest due pending row of a receiver (``FOR
UPDATE SKIP LOCKED``, so replicas never take the same row) and commits ``lease_owner``,
``lease_until`` and ``attempts + 1`` before anything is sent; :func:`lease_batch` takes up to
``limit`` of them in one statement. The sender then ends the attempt
with exactly one of :func:`mark_sent` (:func:`mark_sent_many` for several rows in one
statement), :func:`mark_suppressed`, :func:`mark_failed`,
:func:`schedule_retry` or :func:`defer` (rate limited: the attempt is given back).

Guarantees: only ``pending`` rows are leased or marked, so a row marked ``sent`` (or failed,
suppressed) is never sent again. A row whose lease ran out unmarked (its dispatcher crashed
between send and mark) is due again: at-least-once, with the same ``idempotency_key``.
Retry/defer only apply while the caller still holds the lease (owner and attempt match), so a
stale sender cannot reschedule a row another one has taken since. Times are parameters (the
alerter's clock), never SQL ``now()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

__all__ = [
    "OutboxRow",
    "defer",
    "due_receivers",
    "lease_batch",
    "lease_next",
    "mark_failed",
    "mark_sent",
    "mark_sent_many",
    "mark_suppressed",
    "pending_counts",
    "schedule_retry",
]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A leased outbox row (``attempts`` includes the attempt this lease is for)."""

    id: int
    created_at: datetime
    receiver: str
    channel: str
    kind: str
    attempts: int
    idempotency_key: str | None
    payload: Mapping[str, Any] | None
    group_key: str | None
    alert_ids: tuple[int, ...]
    deadline_at: datetime | None
    lease_owner: str


_DUE_RECEIVERS = """
SELECT DISTINCT receiver FROM notifications
WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
ORDER BY receiver
"""

_LEASE = """
UPDATE notifications AS n
SET lease_owner = $2, lease_until = $4, attempts = n.attempts + 1
FROM (
    SELECT id, created_at FROM notifications
    WHERE status = 'pending' AND receiver = $1 AND next_attempt_at <= $3
      AND (lease_until IS NULL OR lease_until <= $3)
    ORDER BY next_attempt_at, id
    LIMIT $5
    FOR UPDATE SKIP LOCKED
) AS due
WHERE n.id = due.id AND n.created_at = due.created_at
RETURNING n.id, n.created_at, n.receiver, n.channel, n.kind, n.attempts, n.idempotency_key,
          n.payload, n.group_key, n.alert_ids, n.deadline_at, n.lease_owner
"""

_END = """
UPDATE notifications SET status = $3, sent_at = $4, last_error = $5,
    lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND created_at = $2 AND status = 'pending'
"""

_END_SENT_MANY = """
UPDATE notifications AS n SET status = 'sent', sent_at = $3, last_error = NULL,
    lease_owner = NULL, lease_until = NULL
FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, created_at)
WHERE n.id = t.id AND n.created_at = t.created_at AND n.status = 'pending'
RETURNING n.id
"""

_RESCHEDULE = """
UPDATE notifications SET next_attempt_at = $5, last_error = coalesce($6, last_error),
    attempts = attempts - $7, lease_owner = NULL, lease_until = NULL
WHERE id = $1 AND created_at = $2 AND status = 'pending' AND lease_owner = $3 AND attempts = $4
"""

_PENDING_COUNTS = """
SELECT receiver, count(*) AS n FROM notifications WHERE status = 'pending' GROUP BY receiver
"""


async def due_receivers(conn: asyncpg.Connection, now: datetime) -> list[str]:
    """Receivers with at least one pending row due at ``now`` and not leased."""
    return [record["receiver"] for record in await conn.fetch(_DUE_RECEIVERS, now)]


async def lease_next(
    conn: asyncpg.Connection, *, receiver: str, owner: str, now: datetime, lease_until: datetime
) -> OutboxRow | None:
    """Lease the oldest due row of ``receiver`` (committed on return), or ``None``."""
    rows = await lease_batch(
        conn, receiver=receiver, owner=owner, now=now, lease_until=lease_until, limit=1
    )
    return rows[0] if rows else None


async def lease_batch(
    conn: asyncpg.Connection,
    *,
    receiver: str,
    owner: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
) -> list[OutboxRow]:
    """Lease up to ``limit`` of the oldest due rows of ``receiver`` in one statement
    (committed on return), by id."""
    records = await conn.fetch(_LEASE, receiver, owner, now, lease_until, limit)
    return sorted((_outbox_row(record) for record in records), key=lambda row: row.id)


def _outbox_row(record: asyncpg.Record) -> OutboxRow:
    return OutboxRow(
        id=record["id"],
        created_at=record["created_at"],
        receiver=record["receiver"],
        channel=record["channel"],
        kind=record["kind"],
        attempts=record["attempts"],
        idempotency_key=record["idempotency_key"],
        payload=record["payload"],
        group_key=record["group_key"],
        alert_ids=tuple(record["alert_ids"] or ()),
        deadline_at=record["deadline_at"],
        lease_owner=record["lease_owner"],
    )


async def _end(
    conn: asyncpg.Connection, row: OutboxRow, status: str, sent_at: datetime | None, error: str
) -> bool:
    result = await conn.execute(_END, row.id, row.created_at, status, sent_at, error or None)
    return bool(result == "UPDATE 1")


async def mark_sent(conn: asyncpg.Connection, row: OutboxRow, now: datetime) -> bool:
    """``sent`` at ``now`` (whoever holds the lease: it was delivered); whether it changed."""
    return await _end(conn, row, "sent", now, "")


async def mark_sent_many(
    conn: asyncpg.Connection, rows: Sequence[OutboxRow], now: datetime
) -> set[int]:
    """:func:`mark_sent` for every row, in one statement; the ids of the rows it changed."""
    if not rows:
        return set()
    records = await conn.fetch(
        _END_SENT_MANY, [r.id for r in rows], [r.created_at for r in rows], now
    )
    return {int(record["id"]) for record in records}


async def mark_suppressed(conn: asyncpg.Connection, row: OutboxRow, reason: str) -> bool:
    """``suppressed``: the integration had nothing to send (e.g. resolved, no send_resolved)."""
    return await _end(conn, row, "suppressed", None, reason)


async def mark_failed(conn: asyncpg.Connection, row: OutboxRow, error: str) -> bool:
    """``failed`` with ``last_error``: no further attempt."""
    return await _end(conn, row, "failed", None, error)


async def schedule_retry(
    conn: asyncpg.Connection, row: OutboxRow, *, at: datetime, error: str
) -> bool:
    """Release the lease; the row is due again at ``at``, ``last_error`` = ``error``."""
    result = await conn.execute(
        _RESCHEDULE, row.id, row.created_at, row.lease_owner, row.attempts, at, error, 0
    )
    return bool(result == "UPDATE 1")


async def defer(conn: asyncpg.Connection, row: OutboxRow, *, until: datetime) -> bool:
    """Release the lease without counting the attempt (rate limited): due again at ``until``."""
    result = await conn.execute(
        _RESCHEDULE, row.id, row.created_at, row.lease_owner, row.attempts, until, None, 1
    )
    return bool(result == "UPDATE 1")


async def pending_counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Pending rows per receiver (the ``notifications_pending`` gauge)."""
    records: Sequence[asyncpg.Record] = await conn.fetch(_PENDING_COUNTS)
    return {record["receiver"]: int(record["n"]) for record in records}
