"""Escalation: notify a route's ``escalations`` receivers when an alert stays unacknowledged.

A route's ``escalations`` steps (``after``, ``receiver``) apply to the alerts of its
aggregation groups (``alert_groups.route_key`` = the route's key). :func:`escalate_due`, run
periodically by any replica, finds the alerts that are active (the source still fires) and
still ``status='new'`` (nobody acknowledged them) whose step ``i`` is due
(``first_seen_at + after <= now``) and not yet reached (``escalation_level < i + 1``). For
each it queues one outbox notification per due step (kind ``escalation``, the Alertmanager
v4 body of that alert, to the step's receiver; :func:`vigil_alerter.store.outbox.
queue_notification`), sets ``escalated``, ``escalated_at`` and ``escalation_level`` (the
highest step reached), writes an ``alert.escalated`` audit row and counts ``ESCALATIONS``.
Steps missed while no alerter ran are all sent, once each. An alert that is silenced or
inhibited now, or whose route is muted now (``mute_time_intervals``, outside its
``active_time_intervals``: quiet hours), is not escalated yet: its steps wait until that
ends (as its notifications do), then go if it is still ``new``.

Replicas: the alerts are locked with ``FOR UPDATE SKIP LOCKED`` in the transaction that
queues and records the escalation, and the level is read from the locked row, so two
replicas never escalate the same alert to the same level twice. An acknowledged (or
otherwise handled) alert is no longer ``new``: it is never escalated. Times come from the
clock, never from SQL ``now()``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import asyncpg

from vigil_alerter.clock import Clock
from vigil_alerter.config.holder import LoadedConfig
from vigil_alerter.config.models import AlerterConfig, EscalationStep
from vigil_alerter.metrics import ESCALATIONS
from vigil_alerter.notify.message import NotifiedAlert, webhook_body
from vigil_alerter.routing.silences import SilenceRule, first_muting
from vigil_alerter.routing.tree import Route
from vigil_alerter.store.alerts import firing_label_sets
from vigil_alerter.store.outbox import queue_notification
from vigil_alerter.store.silence_rows import active_silences
from vigil_runtime.audit import write_audit
from vigil_runtime.logging import get_logger
from vigil_schema.enums import NotificationKind

__all__ = ["ACTOR", "ConfigSource", "escalate_due"]

ACTOR = "alerter"
"""The audit actor of escalations."""

_log = get_logger(__name__)

_DUE_SQL = """
WITH due AS (
    SELECT a.id, a.fingerprint, a.labels, a.annotations, a.first_seen_at, a.ends_at,
           a.generator_url, a.status, a.escalation_level
    FROM alerts a
    WHERE a.active AND a.status = 'new'
      AND a.first_seen_at <= $2
      AND a.escalation_level < $3
      AND EXISTS (
          SELECT 1 FROM alert_group_members m
          JOIN alert_groups g ON g.group_key = m.group_key
          WHERE m.alert_id = a.id AND g.route_key = ANY($1::text[]))
    ORDER BY a.first_seen_at, a.id
    LIMIT $4
    FOR UPDATE OF a SKIP LOCKED
)
SELECT due.*, g.group_key, g.route_key, g.group_labels
FROM due
JOIN alert_group_members m ON m.alert_id = due.id
JOIN alert_groups g ON g.group_key = m.group_key
WHERE g.route_key = ANY($1::text[])
ORDER BY due.first_seen_at, due.id, g.group_key
"""
_MARK_SQL = """
UPDATE alerts SET escalated = true, escalated_at = $2, escalation_level = $3, updated_at = $2
WHERE id = $1
"""


class ConfigSource(Protocol):
    """The configuration in force (:class:`~vigil_alerter.config.holder.ConfigHolder`)."""

    @property
    def current(self) -> LoadedConfig: ...


@dataclass(frozen=True, slots=True)
class _DueStep:
    level: int
    """The step's index + 1."""
    step: EscalationStep
    group_key: str
    group_labels: Mapping[str, str]


async def escalate_due(
    pool: asyncpg.Pool,
    holder: ConfigSource,
    clock: Clock,
    *,
    external_url: str = "",
    max_total: timedelta = timedelta(hours=1),
    limit: int = 200,
) -> int:
    """Escalate the alerts whose next step is due; how many notifications were queued.

    ``external_url`` is used unless the configuration's ``global.external_url`` is set;
    ``max_total`` is the delivery deadline of the queued notifications.
    """
    loaded = holder.current
    routes = {route.key: route for route in loaded.tree.routes() if route.escalations}
    if not routes:
        return 0
    now = clock()
    first = min(step.after for route in routes.values() for step in route.escalations)
    most = max(len(route.escalations) for route in routes.values())
    url = loaded.config.global_.external_url or external_url
    queued: list[str] = []
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_DUE_SQL, list(routes), now - first, most, limit)
        if not rows:
            return 0
        muted = await _Mutes.load(conn, loaded, now)
        for alert_rows in _by_alert(rows):
            if muted.alert(_json(alert_rows[0]["labels"])):
                continue
            live = {key: route for key, route in routes.items() if not muted.route(route)}
            due = _due_steps(alert_rows, live, now)
            if due:
                queued += await _escalate(conn, alert_rows[0], due, loaded.config, url, now,
                                          now + max_total)  # fmt: skip
    for receiver in queued:
        ESCALATIONS.labels(receiver=receiver).inc()
    return len(queued)


@dataclass(frozen=True, slots=True)
class _Mutes:
    """What holds an escalation back now: silences, inhibition, the route's time intervals."""

    loaded: LoadedConfig
    silences: Sequence[SilenceRule]
    firing: Sequence[Mapping[str, str]]
    now: datetime

    @classmethod
    async def load(cls, conn: asyncpg.Connection, loaded: LoadedConfig, now: datetime) -> _Mutes:
        silences = await active_silences(conn, now)
        return cls(loaded, silences, await firing_label_sets(conn, now), now)

    def alert(self, labels: Mapping[str, str]) -> bool:
        """Whether the alert is silenced or inhibited."""
        if first_muting(self.silences, labels, self.now) is not None:
            return True
        return self.loaded.inhibitor.inhibits(labels, self.firing)

    def route(self, route: Route) -> bool:
        """Whether the route is muted (mute interval, or outside its active intervals)."""
        intervals = self.loaded.intervals
        if any(intervals.contains(name, self.now) for name in route.mute_time_intervals):
            return True
        active = route.active_time_intervals
        return bool(active) and not any(intervals.contains(n, self.now) for n in active)


def _by_alert(rows: Sequence[asyncpg.Record]) -> list[list[asyncpg.Record]]:
    """The rows (one per group the alert is in) of each alert, in order."""
    grouped: dict[int, list[asyncpg.Record]] = {}
    for row in rows:
        grouped.setdefault(row["id"], []).append(row)
    return list(grouped.values())


def _due_steps(
    rows: Sequence[asyncpg.Record], routes: Mapping[str, Route], now: datetime
) -> list[_DueStep]:
    """The steps of the alert's routes that are due and above its level, once per step."""
    found: dict[tuple[int, str], _DueStep] = {}
    for row in rows:
        route = routes.get(row["route_key"])
        for index, step in enumerate(route.escalations if route else ()):
            level = index + 1
            if level > row["escalation_level"] and row["first_seen_at"] + step.after <= now:
                found.setdefault((level, step.receiver), _DueStep(
                    level, step, row["group_key"], _json(row["group_labels"])))  # fmt: skip
    return sorted(found.values(), key=lambda due: due.level)


async def _escalate(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    due: Sequence[_DueStep],
    config: AlerterConfig,
    external_url: str,
    now: datetime,
    deadline: datetime,
) -> list[str]:
    """Queue the due steps' notifications and record the escalation; each row's receiver."""
    alert = _notified(row)
    receivers: list[str] = []
    for step in due:
        payload = webhook_body(
            receiver=step.step.receiver, group_key=step.group_key, group_labels=step.group_labels,
            alerts=[alert], external_url=external_url, kind=NotificationKind.ESCALATION,
        )  # fmt: skip
        payload["vigil"]["escalationLevel"] = step.level
        ids = await queue_notification(
            conn, group_key=step.group_key, receiver=config.receiver(step.step.receiver),
            kind=NotificationKind.ESCALATION, alert_ids=[alert.alert_id], payload=payload,
            now=now, deadline=deadline,
        )  # fmt: skip
        receivers += [step.step.receiver] * len(ids)
    level = max(step.level for step in due)
    await conn.execute(_MARK_SQL, alert.alert_id, now, level)
    await write_audit(
        conn, actor=ACTOR, action="alert.escalated", entity_type="alert",
        entity_id=str(alert.alert_id), ts=now, service="alerter",
        details={"level": level, "fingerprint": alert.fingerprint,
                 "steps": [{"level": d.level, "receiver": d.step.receiver} for d in due]},
    )  # fmt: skip
    _log.info("alert_escalated", alert_id=alert.alert_id, level=level,
              receivers=[d.step.receiver for d in due])  # fmt: skip
    return receivers


def _notified(row: asyncpg.Record) -> NotifiedAlert:
    return NotifiedAlert(
        alert_id=row["id"],
        fingerprint=row["fingerprint"],
        firing=True,
        labels=_json(row["labels"]),
        annotations=_json(row["annotations"]),
        starts_at=row["first_seen_at"],
        ends_at=row["ends_at"],
        generator_url=row["generator_url"],
        status=row["status"],
    )


def _json(value: Any) -> dict[str, str]:
    """A jsonb object as a dict (asyncpg returns text unless a codec is set)."""
    decoded = json.loads(value) if isinstance(value, str) else value
    return {str(k): str(v) for k, v in (decoded or {}).items()}
