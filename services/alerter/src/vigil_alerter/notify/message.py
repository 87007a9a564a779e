"""Alertmanager's webhook body (``version: "4"``) for one aggregation group, plus Vigil's ids.

:func:`webhook_body` renders what Alertmanager 0.25's webhook notifier posts
(``receiver``, ``status``, ``alerts``, ``groupLabels``, ``commonLabels``,
``commonAnnotations``, ``externalURL``, ``version``, ``groupKey``, ``truncatedAlerts``) for
all the group's firing and resolved alerts, each alert with a ``vigil`` object (alert id,
operator status, frame and history links) and the body with ``vigil: {alertIds, kind}``.
Integrations filter it at send time (``send_resolved``, ``max_alerts``); the body stored in
the outbox is always the whole group. Alerts are ordered as Alertmanager sorts them
(``job``, then ``instance``, then fingerprint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from vigil_schema.enums import NotificationKind

__all__ = ["ZERO_TIME", "NotifiedAlert", "go_time", "webhook_body"]

ZERO_TIME: Final = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time``, what Alertmanager writes for an unset ``endsAt``."""


@dataclass(frozen=True, slots=True)
class NotifiedAlert:
    """One alert as a notification shows it (a row of ``alerts`` at flush time)."""

    alert_id: int
    fingerprint: str
    firing: bool
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str | None
    status: str
    """The operator lifecycle status (``alerts.status``)."""
    frame_url: str | None = None


def go_time(value: datetime | None) -> str:
    """RFC 3339 in UTC with ``Z`` as Go marshals ``time.Time``; ``None`` is the zero time."""
    if value is None:
        return ZERO_TIME
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sort_key(alert: NotifiedAlert) -> tuple[str, str, str]:
    return (alert.labels.get("job", ""), alert.labels.get("instance", ""), alert.fingerprint)


def _common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    common = dict(maps[0])
    for other in maps[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    return common


def _alert_json(alert: NotifiedAlert, external_url: str) -> dict[str, Any]:
    return {
        "status": "firing" if alert.firing else "resolved",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": go_time(alert.starts_at),
        "endsAt": go_time(alert.ends_at),
        "generatorURL": alert.generator_url or "",
        "fingerprint": alert.fingerprint,
        "vigil": {
            "alertId": alert.alert_id,
            "status": alert.status,
            "frameURL": alert.frame_url,
            "historyURL": f"{external_url}/api/vigil/v1/alerts/{alert.alert_id}/history",
        },
    }


def webhook_body(
    *,
    receiver: str,
    group_key: str,
    group_labels: Mapping[str, str],
    alerts: Sequence[NotifiedAlert],
    external_url: str,
    kind: NotificationKind | None = None,
) -> dict[str, Any]:
    """The v4 body for ``alerts`` (firing and resolved) of one group sent to ``receiver``.

    ``status`` is ``firing`` when any alert fires, else ``resolved``; ``kind`` defaults to
    the same (pass ``escalation`` for an escalation).
    """
    ordered = sorted(alerts, key=_sort_key)
    firing = any(a.firing for a in ordered)
    status = "firing" if firing else "resolved"
    base = external_url.rstrip("/")
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "receiver": receiver,
        "status": status,
        "alerts": [_alert_json(a, base) for a in ordered],
        "groupLabels": dict(group_labels),
        "commonLabels": _common([a.labels for a in ordered]),
        "commonAnnotations": _common([a.annotations for a in ordered]),
        "externalURL": base,
        "vigil": {
            "alertIds": [a.alert_id for a in ordered],
            "kind": str(kind or NotificationKind(status)),
        },
    }
