"""Aggregation groups in PostgreSQL (``alert_groups``, ``alert_group_members``).

A group row is Alertmanager's aggregation group: ``group_key`` (route key + group labels),
the receiver, ``next_flush_at`` (``created_at + group_wait`` for a new group, at once when
an alert joining a never-flushed group started more than ``group_wait`` ago; then every
``group_interval``), and the last notification (``notified_at``, ``notified_firing``,
``notified_resolved``: Alertmanager's notification log). A flush locks one due group with
``FOR UPDATE SKIP LOCKED`` (:func:`lock_due_group`, or a batch of them with
:func:`lock_due_groups`) so that each flush happens on one replica; the caller's transaction
then records it (:func:`record_flush` / :func:`record_flushes`), drops resolved members
(:func:`remove_members` / :func:`remove_member_pairs`) and deletes the group once empty
(:func:`delete_if_empty` / :func:`delete_empty`). The batch forms take one statement for a
whole flush pass.
Times are parameters, never SQL ``now()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

__all__ = [
    "FlushRecord",
    "GroupRow",
    "add_member_pairs",
    "add_members",
    "delete_empty",
    "delete_if_empty",
    "lock_due_group",
    "lock_due_groups",
    "record_flush",
    "record_flushes",
    "remove_member_pairs",
    "remove_members",
    "upsert_group",
    "upsert_groups",
]

_UPSERT_SQL: Final = """
INSERT INTO alert_groups AS g (
    group_key, route_key, receiver, group_labels, created_at, next_flush_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $5)
ON CONFLICT (group_key) DO UPDATE SET
    receiver = EXCLUDED.receiver,
    next_flush_at = CASE WHEN g.flushed_at IS NULL AND $7
                         THEN least(g.next_flush_at, EXCLUDED.created_at)
                         ELSE g.next_flush_at END
"""

_LOCK_DUE_SQL: Final = """
SELECT group_key, route_key, receiver, group_labels, created_at, next_flush_at, flushed_at,
       notified_at, notified_firing, notified_resolved
  FROM alert_groups
 WHERE next_flush_at <= $1
 ORDER BY next_flush_at
 LIMIT $2
   FOR UPDATE SKIP LOCKED
"""

_RECORD_SQL: Final = """
UPDATE alert_groups SET flushed_at = $2, next_flush_at = $3, updated_at = $2
 WHERE group_key = $1
"""

_RECORD_NOTIFIED_SQL: Final = """
UPDATE alert_groups SET flushed_at = $2, next_flush_at = $3, updated_at = $2,
       notified_at = $2, notified_firing = $4, notified_resolved = $5
 WHERE group_key = $1
"""


@dataclass(frozen=True, slots=True)
class FlushRecord:
    """One group's flush: its next flush and, when notified, the (firing, resolved)
    fingerprints of the notification (else ``None``)."""

    group_key: str
    next_flush_at: datetime
    notified: tuple[Sequence[str], Sequence[str]] | None


@dataclass(frozen=True, slots=True)
class GroupRow:
    """A locked, due group."""

    group_key: str
    route_key: str
    receiver: str
    group_labels: dict[str, str]
    created_at: datetime
    next_flush_at: datetime
    flushed_at: datetime | None
    notified_at: datetime | None
    notified_firing: frozenset[str]
    notified_resolved: frozenset[str]


async def upsert_group(
    conn: asyncpg.Connection,
    *,
    group_key: str,
    route_key: str,
    receiver: str,
    group_labels: Mapping[str, str],
    now: datetime,
    first_flush_at: datetime,
) -> None:
    """Create the group (first flush at ``first_flush_at``) or, when ``first_flush_at`` is
    ``now`` and the group never flushed, bring its first flush forward to ``now``."""
    immediate = first_flush_at <= now
    await conn.execute(
        _UPSERT_SQL, group_key, route_key, receiver, dict(group_labels), now,
        max(first_flush_at, now), immediate,
    )  # fmt: skip


async def upsert_groups(
    conn: asyncpg.Connection,
    groups: Sequence[tuple[str, str, str, Mapping[str, str], datetime]],
    now: datetime,
) -> None:
    """:func:`upsert_group` for every ``(group_key, route_key, receiver, group_labels,
    first_flush_at)``, in the given order, pipelined."""
    await conn.executemany(
        _UPSERT_SQL,
        [
            (key, route, receiver, dict(labels), now, max(first, now), first <= now)
            for key, route, receiver, labels, first in groups
        ],
    )


async def add_member_pairs(conn: asyncpg.Connection, pairs: Sequence[tuple[str, int]]) -> None:
    """:func:`add_members` for every ``(group_key, alert_id)``, in one statement."""
    if pairs:
        ordered = sorted(set(pairs))
        await conn.execute(
            "INSERT INTO alert_group_members (group_key, alert_id)"
            " SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING",
            [key for key, _ in ordered],
            [alert_id for _, alert_id in ordered],
        )


async def add_members(conn: asyncpg.Connection, group_key: str, alert_ids: Sequence[int]) -> None:
    """Put the alerts in the group (those already there stay as they are)."""
    await conn.execute(
        "INSERT INTO alert_group_members (group_key, alert_id)"
        " SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING",
        group_key,
        sorted(set(alert_ids)),
    )


async def lock_due_group(conn: asyncpg.Connection, now: datetime) -> GroupRow | None:
    """Lock the most overdue group not locked by another flusher (inside a transaction)."""
    rows = await lock_due_groups(conn, now, 1)
    return rows[0] if rows else None


async def lock_due_groups(conn: asyncpg.Connection, now: datetime, limit: int) -> list[GroupRow]:
    """Lock up to ``limit`` due groups not locked by another flusher, most overdue first
    (inside a transaction)."""
    return [_group_row(row) for row in await conn.fetch(_LOCK_DUE_SQL, now, limit)]


def _group_row(row: asyncpg.Record) -> GroupRow:
    return GroupRow(
        group_key=row["group_key"], route_key=row["route_key"], receiver=row["receiver"],
        group_labels=dict(row["group_labels"]), created_at=row["created_at"],
        next_flush_at=row["next_flush_at"], flushed_at=row["flushed_at"],
        notified_at=row["notified_at"], notified_firing=frozenset(row["notified_firing"]),
        notified_resolved=frozenset(row["notified_resolved"]),
    )  # fmt: skip


async def record_flush(
    conn: asyncpg.Connection,
    group_key: str,
    *,
    now: datetime,
    next_flush_at: datetime,
    notified: tuple[Sequence[str], Sequence[str]] | None,
) -> None:
    """Record a flush at ``now``; ``notified`` = (firing, resolved) fingerprints when a
    notification was queued (the notification log), ``None`` when not."""
    if notified is None:
        await conn.execute(_RECORD_SQL, group_key, now, next_flush_at)
        return
    firing, resolved = notified
    await conn.execute(
        _RECORD_NOTIFIED_SQL, group_key, now, next_flush_at, sorted(firing), sorted(resolved)
    )


async def remove_members(
    conn: asyncpg.Connection, group_key: str, alert_ids: Sequence[int]
) -> None:
    """Take these alerts out of the group."""
    if alert_ids:
        await conn.execute(
            "DELETE FROM alert_group_members WHERE group_key = $1 AND alert_id = ANY($2::bigint[])",
            group_key,
            list(alert_ids),
        )


async def delete_if_empty(conn: asyncpg.Connection, group_key: str) -> bool:
    """Delete the group if it has no member left; whether it did."""
    status = await conn.execute(
        "DELETE FROM alert_groups g WHERE g.group_key = $1 AND NOT EXISTS"
        " (SELECT 1 FROM alert_group_members m WHERE m.group_key = $1)",
        group_key,
    )
    return bool(status.endswith(" 1"))


async def record_flushes(
    conn: asyncpg.Connection, now: datetime, records: Sequence[FlushRecord]
) -> None:
    """:func:`record_flush` for many groups (two statements at most)."""
    plain = [(r.group_key, now, r.next_flush_at) for r in records if r.notified is None]
    notified = [
        (r.group_key, now, r.next_flush_at, sorted(r.notified[0]), sorted(r.notified[1]))
        for r in records
        if r.notified is not None
    ]
    if plain:
        await conn.executemany(_RECORD_SQL, plain)
    if notified:
        await conn.executemany(_RECORD_NOTIFIED_SQL, notified)


async def remove_member_pairs(conn: asyncpg.Connection, pairs: Sequence[tuple[str, int]]) -> None:
    """Take each ``(group_key, alert_id)`` membership out, in one statement."""
    if pairs:
        await conn.execute(
            "DELETE FROM alert_group_members m USING unnest($1::text[], $2::bigint[])"
            " AS t(group_key, alert_id)"
            " WHERE m.group_key = t.group_key AND m.alert_id = t.alert_id",
            [key for key, _ in pairs],
            [alert_id for _, alert_id in pairs],
        )


async def delete_empty(conn: asyncpg.Connection, group_keys: Sequence[str]) -> int:
    """Delete those of ``group_keys`` that have no member left; how many."""
    if not group_keys:
        return 0
    status = await conn.execute(
        "DELETE FROM alert_groups g WHERE g.group_key = ANY($1::text[]) AND NOT EXISTS"
        " (SELECT 1 FROM alert_group_members m WHERE m.group_key = g.group_key)",
        list(group_keys),
    )
    return int(status.rsplit(" ", 1)[-1])
