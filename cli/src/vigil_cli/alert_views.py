"""Alerts as the CLI lists them and an alert's history, read with psycopg as ``vigil_cli``.

:func:`list_alerts` filters ``alerts`` (lifecycle status or ``open``, camera, severity, only
firing) newest first; :func:`alert_history` returns one alert's row and its timeline: the
``audit_log`` entries of the alert (who acknowledged, resolved ... and their notes) and the
``notifications`` that carried it (receiver, channel, kind, delivery status), oldest first.
"""

from __future__ import annotations

from typing import Any, Final

from vigil_cli.db import Connection
from vigil_schema.enums import AlertStatus

OPEN: Final = "open"
STATUS_CHOICES: Final = (OPEN, *(s.value for s in AlertStatus))
LIST_COLUMNS: Final = (
    "id", "status", "source_state", "severity", "camera_id", "alertname", "title",
    "first_seen_at", "occurrences", "acknowledged_by",
)  # fmt: skip
OPEN_STATUSES: Final = [s.value for s in AlertStatus if s.is_open]

_LIST_SQL: Final = """
SELECT id, status, CASE WHEN active THEN 'firing' ELSE 'resolved' END AS source_state,
       severity, camera_id, coalesce(labels->>'alertname', rule) AS alertname, title,
       first_seen_at, last_seen_at, occurrences, acknowledged_by, labels, annotations
  FROM alerts
 WHERE (%(statuses)s::text[] IS NULL OR status = ANY(%(statuses)s::text[]))
   AND (%(camera)s::text IS NULL OR camera_id = %(camera)s)
   AND (%(severity)s::text IS NULL OR severity = %(severity)s)
   AND (NOT %(firing)s OR active)
 ORDER BY first_seen_at DESC, id DESC
 LIMIT %(limit)s
"""
_AUDIT_SQL: Final = """
SELECT ts AS at, action AS event, actor AS who, details->>'notes' AS detail
  FROM audit_log WHERE entity_type = 'alert' AND entity_id = %s
"""
_NOTIFICATIONS_SQL: Final = """
SELECT created_at AS at, 'notification.' || kind AS event, receiver || ' ' || channel AS who,
       status || CASE WHEN sent_at IS NOT NULL THEN ' at ' || sent_at::text ELSE '' END
       || ' (' || attempts || ' attempt' || CASE WHEN attempts = 1 THEN '' ELSE 's' END || ')'
       || coalesce(': ' || last_error, '') AS detail
  FROM notifications WHERE alert_id = %(id)s OR alert_ids @> ARRAY[%(id)s]::bigint[]
"""
HISTORY_COLUMNS: Final = ("at", "event", "who", "detail")


def list_alerts(
    conn: Connection,
    *,
    status: str | None,
    camera_id: str | None,
    severity: str | None,
    firing: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """The alerts matching the filters, newest first."""
    statuses = OPEN_STATUSES if status == OPEN else [status] if status else None
    params = {"statuses": statuses, "camera": camera_id, "severity": severity,
              "firing": firing, "limit": limit}  # fmt: skip
    return list(conn.execute(_LIST_SQL, params).fetchall())


def alert_history(conn: Connection, alert_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The alert's row and its timeline (audit entries and notifications, oldest first).

    ``LookupError`` when there is no such alert.
    """
    alert = conn.execute("SELECT * FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    if alert is None:
        raise LookupError(f"no alert {alert_id}")
    events = [
        *conn.execute(_AUDIT_SQL, (str(alert_id),)).fetchall(),
        *conn.execute(_NOTIFICATIONS_SQL, {"id": alert_id}).fetchall(),
    ]
    opened = {"at": alert["first_seen_at"], "event": "alert.fired", "who": alert["source"]
              or "-", "detail": alert["title"]}  # fmt: skip
    timeline = sorted([opened, *events], key=lambda e: e["at"])
    if not alert["active"] and alert["ends_at"] is not None:
        timeline.append({"at": alert["ends_at"], "event": "alert.source_resolved",
                         "who": alert["source"] or "-", "detail": ""})  # fmt: skip
        timeline.sort(key=lambda e: e["at"])
    return dict(alert), [dict(e) for e in timeline]
