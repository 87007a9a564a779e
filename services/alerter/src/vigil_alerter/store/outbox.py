"""The notification outbox: :func:`queue_notification` inserts the rows the dispatcher sends.

One ``notifications`` row per integration of the receiver (``channel`` =
``"<kind>:<index>"``, kind ``webhook``, ``apprise`` or ``log``, index in the receiver's
``<kind>_configs``), all ``pending`` with the same payload, ``alert_id`` = the first of
``alert_ids``, ``next_attempt_at`` = ``created_at`` = ``now``, ``deadline_at`` = ``deadline``.
``idempotency_key`` = sha256 hex of ``group_key``, receiver, channel and ``now`` (ISO): the
same flush always gives the same key, which receivers get as ``Idempotency-Key``. An
escalation (no group) keys on its alert ids instead. A receiver without integrations (a
blackhole, as in Alertmanager) gets no row. Runs inside the caller's transaction; a missing
monthly partition is created (``vigil_ensure_partition``) and the insert retried.
:func:`queue_notifications` queues many (a flush pass) in one pipelined ``executemany``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_alerter.config.models import Receiver
from vigil_runtime.partitions import write_creating_partitions
from vigil_schema.enums import NotificationKind

__all__ = [
    "QueuedNotification",
    "channels",
    "idempotency_key",
    "queue_notification",
    "queue_notifications",
]

_INSERT_SQL: Final = """
INSERT INTO notifications (
    alert_id, receiver, channel, status, attempts, group_key, alert_ids, kind,
    idempotency_key, payload, next_attempt_at, deadline_at, created_at, updated_at)
SELECT $1, $2, ch, 'pending', 0, $3, $4::bigint[], $5, key, $6, $7, $8, $7, $7
  FROM unnest($9::text[], $10::text[]) AS t(ch, key)
RETURNING id
"""


@dataclass(frozen=True, slots=True)
class QueuedNotification:
    """The arguments of one :func:`queue_notification`, for :func:`queue_notifications`."""

    group_key: str | None
    receiver: Receiver
    kind: NotificationKind
    alert_ids: Sequence[int]
    payload: Mapping[str, Any]
    now: datetime
    deadline: datetime


def channels(receiver: Receiver) -> list[str]:
    """The receiver's integrations as channel names, in configuration order."""
    return [
        *(f"webhook:{i}" for i in range(len(receiver.webhook_configs))),
        *(f"apprise:{i}" for i in range(len(receiver.apprise_configs))),
        *(f"log:{i}" for i in range(len(receiver.log_configs))),
    ]


def idempotency_key(group_key: str, receiver: str, channel: str, at: datetime) -> str:
    """sha256 hex of the group, receiver, channel and flush time."""
    text = "\x1f".join((group_key, receiver, channel, at.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()


async def queue_notification(
    conn: asyncpg.Connection,
    *,
    group_key: str | None,
    receiver: Receiver,
    kind: NotificationKind,
    alert_ids: Sequence[int],
    payload: Mapping[str, Any],
    now: datetime,
    deadline: datetime,
) -> list[int]:
    """Queue ``payload`` to every integration of ``receiver``; the new rows' ids."""
    item = QueuedNotification(group_key, receiver, kind, alert_ids, payload, now, deadline)
    args = _insert_args(item)
    if args is None:
        return []
    rows = await write_creating_partitions(
        conn, "notifications", [now], lambda: conn.fetch(_INSERT_SQL, *args)
    )
    return [int(r["id"]) for r in rows]


async def queue_notifications(
    conn: asyncpg.Connection, items: Sequence[QueuedNotification]
) -> None:
    """:func:`queue_notification` for every item, pipelined (ids not returned)."""
    args = [a for a in map(_insert_args, items) if a is not None]
    if not args:
        return
    await write_creating_partitions(
        conn, "notifications", (item.now for item in items),
        lambda: conn.executemany(_INSERT_SQL, args),
    )  # fmt: skip


def _insert_args(item: QueuedNotification) -> tuple[Any, ...] | None:
    """The insert's parameters (``None``: a receiver without integrations)."""
    if not item.alert_ids:
        raise ValueError("a notification needs at least one alert")
    names = channels(item.receiver)
    if not names:
        return None
    ids = item.alert_ids
    scope = item.group_key if item.group_key is not None else "alerts:" + ",".join(map(str, ids))
    keys = [idempotency_key(scope, item.receiver.name, name, item.now) for name in names]
    return (
        ids[0], item.receiver.name, item.group_key, list(ids), str(item.kind),
        dict(item.payload), item.now, item.deadline, names, keys,
    )  # fmt: skip
