"""The ``alerts`` rows the engine writes and reads: upsert, source resolve, flush snapshots.

- :func:`upsert_alert`: a firing alert; ``INSERT ... ON CONFLICT`` on the partial unique
  index of active fingerprints (``alerts_active_fingerprint_key``): a new row (status
  ``new``), or the active row updated (``occurrences + 1``, ``last_seen_at``, ``ends_at``,
  annotations, texts). ``camera_id`` is kept only when that camera exists (foreign key).
  :func:`upsert_alerts` does the same for a batch, one statement per round of distinct
  fingerprints (a fingerprint's n-th alert of the batch goes in round n, as if in order).
- :func:`resolve_alert`: the source resolved it: ``active = false``, ``ends_at`` and, while
  its status is open, ``status = 'resolved', resolved_by = 'source'``. ``None`` when no
  active alert has that fingerprint.
- :func:`expire_due`: the same for active alerts whose ``ends_at`` passed (API alerts).
- :func:`group_alerts`: the member alerts of a group, for a flush; :func:`groups_alerts`
  those of several groups in one query (a flush pass).
- :func:`firing_label_sets`: the label sets of every firing alert (inhibition sources).
- :func:`camera_states`: ``desired_state`` of the given cameras (maintenance is ignored).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_alerter.engine.incoming import IncomingAlert
from vigil_schema.enums import AlertStatus

__all__ = [
    "OPEN_STATUSES",
    "AlertRow",
    "ResolvedAlert",
    "camera_states",
    "count_open_by_severity",
    "expire_due",
    "firing_label_sets",
    "group_alerts",
    "groups_alerts",
    "resolve_alert",
    "upsert_alert",
    "upsert_alerts",
]

OPEN_STATUSES: Final = [str(s) for s in AlertStatus if s.is_open]

_UPSERT_MANY_SQL: Final = """
INSERT INTO alerts AS a (
    fingerprint, rule, severity, status, camera_id, title, description, labels, annotations,
    data, source, generator_url, active, ends_at, occurrences, first_seen_at, last_seen_at,
    created_at, updated_at)
SELECT t.fp, t.rule, t.severity, 'new', (SELECT c.id FROM cameras c WHERE c.id = t.camera),
       t.title, t.description, t.labels::jsonb, t.annotations::jsonb, t.data::jsonb, t.source,
       t.generator_url, true, t.ends_at, 1, t.starts_at, $14, $14, $14
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
              $12::timestamptz[], $13::timestamptz[])
       AS t(fp, rule, severity, camera, title, description, labels, annotations, data, source,
            generator_url, ends_at, starts_at)
 ORDER BY t.fp
ON CONFLICT (fingerprint) WHERE active DO UPDATE SET
    occurrences = a.occurrences + 1,
    last_seen_at = EXCLUDED.last_seen_at,
    ends_at = EXCLUDED.ends_at,
    annotations = EXCLUDED.annotations,
    title = EXCLUDED.title,
    description = EXCLUDED.description,
    generator_url = coalesce(EXCLUDED.generator_url, a.generator_url)
RETURNING id, fingerprint, (xmax = 0) AS created
"""

_RESOLVE_SET: Final = """
    active = false,
    ends_at = $2,
    status = CASE WHEN status = ANY($3::text[]) THEN 'resolved' ELSE status END,
    resolved_by = CASE WHEN status = ANY($3::text[]) THEN 'source' ELSE resolved_by END,
    resolved_at = CASE WHEN status = ANY($3::text[]) THEN $2 ELSE resolved_at END
"""

_RESOLVE_SQL: Final = f"""
UPDATE alerts SET {_RESOLVE_SET}, last_seen_at = $4
 WHERE fingerprint = $1 AND active
RETURNING id, severity, labels, (status = 'resolved' AND resolved_by = 'source') AS closed
"""

_EXPIRE_SQL: Final = """
UPDATE alerts SET
    active = false,
    status = CASE WHEN status = ANY($2::text[]) THEN 'resolved' ELSE status END,
    resolved_by = CASE WHEN status = ANY($2::text[]) THEN 'source' ELSE resolved_by END,
    resolved_at = CASE WHEN status = ANY($2::text[]) THEN ends_at ELSE resolved_at END
 WHERE id IN (SELECT id FROM alerts WHERE active AND ends_at IS NOT NULL AND ends_at <= $1
              ORDER BY ends_at LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING id, severity, labels, (status = 'resolved' AND resolved_by = 'source') AS closed
"""

_GROUP_ALERTS_SQL: Final = """
SELECT a.id, a.fingerprint, a.labels, a.annotations, a.first_seen_at, a.ends_at, a.active,
       a.generator_url, a.status, a.resolved_by, a.severity, a.data
  FROM alert_group_members m JOIN alerts a ON a.id = m.alert_id
 WHERE m.group_key = $1
 ORDER BY a.id
"""

_GROUPS_ALERTS_SQL: Final = """
SELECT m.group_key, a.id, a.fingerprint, a.labels, a.annotations, a.first_seen_at, a.ends_at,
       a.active, a.generator_url, a.status, a.resolved_by, a.severity, a.data
  FROM alert_group_members m JOIN alerts a ON a.id = m.alert_id
 WHERE m.group_key = ANY($1::text[])
 ORDER BY m.group_key, a.id
"""

_FIRING_SQL: Final = """
SELECT labels FROM alerts
 WHERE active AND (ends_at IS NULL OR ends_at > $1) AND status = ANY($2::text[])
"""


@dataclass(frozen=True, slots=True)
class ResolvedAlert:
    """An alert the source resolved: its id, severity, labels, whether this closed it."""

    alert_id: int
    severity: str
    labels: dict[str, str]
    closed: bool


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert as a flush sees it."""

    alert_id: int
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    active: bool
    generator_url: str | None
    status: AlertStatus
    resolved_by: str | None
    severity: str
    data: dict[str, Any]

    def firing(self, now: datetime) -> bool:
        """Active and not past its ``ends_at`` (Alertmanager's ``!Resolved()``)."""
        return self.active and (self.ends_at is None or self.ends_at > now)

    @property
    def closed_by_operator(self) -> bool:
        """False positive, dismissed, or resolved by someone other than the source."""
        if self.status in (AlertStatus.FALSE_POSITIVE, AlertStatus.DISMISSED):
            return True
        return self.status is AlertStatus.RESOLVED and self.resolved_by != "source"

    @property
    def acknowledged(self) -> bool:
        """An operator took it (acknowledged or investigating)."""
        return self.status in (AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING)


async def upsert_alert(
    conn: asyncpg.Connection, alert: IncomingAlert, now: datetime
) -> tuple[int, bool]:
    """Insert or refresh the active alert of ``alert.fingerprint``: ``(id, created)``."""
    return (await upsert_alerts(conn, [alert], now))[0]


async def upsert_alerts(
    conn: asyncpg.Connection, alerts: Sequence[IncomingAlert], now: datetime
) -> list[tuple[int, bool]]:
    """:func:`upsert_alert` for every alert, in order: ``(id, created)`` of each."""
    rounds: list[list[int]] = []  # indexes into alerts; distinct fingerprints in each
    seen: dict[str, int] = {}
    for index, alert in enumerate(alerts):
        n = seen[alert.fingerprint] = seen.get(alert.fingerprint, -1) + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(index)
    results: list[tuple[int, bool]] = [(0, False)] * len(alerts)
    for indexes in rounds:
        batch = [alerts[i] for i in indexes]
        columns = _upsert_columns(batch)
        rows = {r["fingerprint"]: r for r in await conn.fetch(_UPSERT_MANY_SQL, *columns, now)}
        for i in indexes:
            row = rows[alerts[i].fingerprint]
            results[i] = (int(row["id"]), bool(row["created"]))
    return results


def _upsert_columns(alerts: Sequence[IncomingAlert]) -> list[list[Any]]:
    def text(value: Mapping[str, Any]) -> str:
        return json.dumps(dict(value), separators=(",", ":"))

    return [
        [a.fingerprint for a in alerts],
        [a.alertname or a.source for a in alerts],
        [str(a.severity) for a in alerts],
        [a.camera_id for a in alerts],
        [a.title for a in alerts],
        [a.description for a in alerts],
        [text(a.labels) for a in alerts],
        [text(a.annotations) for a in alerts],
        [text(a.data) for a in alerts],
        [a.source for a in alerts],
        [a.generator_url for a in alerts],
        [a.ends_at for a in alerts],
        [a.starts_at for a in alerts],
    ]


async def resolve_alert(
    conn: asyncpg.Connection, fingerprint: str, ends_at: datetime, now: datetime
) -> ResolvedAlert | None:
    """Resolve the active alert of ``fingerprint`` (``None``: there is none)."""
    row = await conn.fetchrow(_RESOLVE_SQL, fingerprint, ends_at, OPEN_STATUSES, now)
    return None if row is None else _resolved(row)


async def expire_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[ResolvedAlert]:
    """Resolve up to ``limit`` active alerts whose ``ends_at`` is not after ``now``."""
    rows = await conn.fetch(_EXPIRE_SQL, now, OPEN_STATUSES, limit)
    return [_resolved(row) for row in rows]


def _resolved(row: asyncpg.Record) -> ResolvedAlert:
    return ResolvedAlert(int(row["id"]), row["severity"], dict(row["labels"]), row["closed"])


async def group_alerts(conn: asyncpg.Connection, group_key: str) -> list[AlertRow]:
    """The alerts of the group ``group_key``, by id."""
    return [_alert_row(r) for r in await conn.fetch(_GROUP_ALERTS_SQL, group_key)]


async def groups_alerts(
    conn: asyncpg.Connection, group_keys: Sequence[str]
) -> dict[str, list[AlertRow]]:
    """The alerts of each of ``group_keys`` (by id; a group without members is absent)."""
    members: dict[str, list[AlertRow]] = {}
    for r in await conn.fetch(_GROUPS_ALERTS_SQL, list(group_keys)):
        members.setdefault(r["group_key"], []).append(_alert_row(r))
    return members


def _alert_row(r: asyncpg.Record) -> AlertRow:
    return AlertRow(
        alert_id=int(r["id"]),
        fingerprint=r["fingerprint"],
        labels=dict(r["labels"]),
        annotations=dict(r["annotations"]),
        starts_at=r["first_seen_at"],
        ends_at=r["ends_at"],
        active=r["active"],
        generator_url=r["generator_url"],
        status=AlertStatus(r["status"]),
        resolved_by=r["resolved_by"],
        severity=r["severity"],
        data=dict(r["data"]),
    )


async def firing_label_sets(conn: asyncpg.Connection, now: datetime) -> list[dict[str, str]]:
    """Labels of every firing alert an operator has not closed (inhibition sources)."""
    rows = await conn.fetch(_FIRING_SQL, now, OPEN_STATUSES)
    return [dict(r["labels"]) for r in rows]


async def camera_states(conn: asyncpg.Connection, camera_ids: Sequence[str]) -> dict[str, str]:
    """``{camera_id: desired_state}`` for those of ``camera_ids`` that exist."""
    if not camera_ids:
        return {}
    rows = await conn.fetch(
        "SELECT id, desired_state FROM cameras WHERE id = ANY($1::text[])", list(camera_ids)
    )
    return {r["id"]: r["desired_state"] for r in rows}


async def count_open_by_severity(conn: asyncpg.Connection) -> Mapping[str, int]:
    """Active alerts whose status is open, by severity (the OPEN_ALERTS gauge)."""
    rows = await conn.fetch(
        "SELECT severity, count(*) AS n FROM alerts WHERE active AND status = ANY($1::text[])"
        " GROUP BY severity",
        OPEN_STATUSES,
    )
    return {r["severity"]: int(r["n"]) for r in rows}
