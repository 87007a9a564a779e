"""An alert's operator lifecycle (``alerts.status``): the allowed transitions, audited.

:func:`transition_alert` moves one alert from its status to another inside a transaction
holding the row's lock, so two operators racing on the same alert are serialised and the
second sees the first's result. Allowed moves (seed 001's lifecycle)::

    new           -> acknowledged | investigating | resolved | false_positive | dismissed
    acknowledged  -> investigating | resolved | false_positive | dismissed
    investigating -> resolved | false_positive | dismissed

The closed states (``resolved``, ``false_positive``, ``dismissed``) are final: moving out of
one, or to the status an alert already has, raises :class:`InvalidTransitionError` whose
message says why. An unknown id raises :class:`AlertNotFoundError`.

What a move records (times come from the caller's clock, never SQL ``now()``):

- leaving ``new`` (to acknowledged or investigating) sets ``acknowledged_by``/``_at`` and
  observes ``TIME_TO_ACK`` (first seen -> now) by severity; closing straight from ``new``
  is not an acknowledgement;
- a closed state sets ``resolved_by``, ``resolved_at`` and ``resolution_notes``;
- every move writes one ``audit_log`` row (``alert.<status>``, entity ``alert``) in the
  same transaction, with the previous status and the notes.

The operator's lifecycle is independent of the source's ``active`` flag: an acknowledged
alert keeps firing until its source resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import asyncpg

from vigil_alerter.metrics import TIME_TO_ACK
from vigil_runtime.audit import write_audit
from vigil_schema.enums import AlertStatus

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CLOSED_STATUSES",
    "AlertNotFoundError",
    "InvalidTransitionError",
    "check_transition",
    "transition_alert",
]

CLOSED_STATUSES: Final = frozenset(
    {AlertStatus.RESOLVED, AlertStatus.FALSE_POSITIVE, AlertStatus.DISMISSED}
)
"""The final states: nothing leaves them."""

ALLOWED_TRANSITIONS: Final[Mapping[AlertStatus, frozenset[AlertStatus]]] = {
    AlertStatus.NEW: frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING})
    | CLOSED_STATUSES,
    AlertStatus.ACKNOWLEDGED: frozenset({AlertStatus.INVESTIGATING}) | CLOSED_STATUSES,
    AlertStatus.INVESTIGATING: CLOSED_STATUSES,
    AlertStatus.RESOLVED: frozenset(),
    AlertStatus.FALSE_POSITIVE: frozenset(),
    AlertStatus.DISMISSED: frozenset(),
}
_ACKNOWLEDGING: Final = frozenset({AlertStatus.ACKNOWLEDGED, AlertStatus.INVESTIGATING})
_SERVICE: Final = "vigil-alerter"

_SELECT_SQL: Final = (
    "SELECT id, status, severity, first_seen_at FROM alerts WHERE id = $1 FOR UPDATE"
)
_UPDATE_SQL: Final = """
UPDATE alerts SET
    status = $2,
    acknowledged_by = CASE WHEN $3 THEN $4 ELSE acknowledged_by END,
    acknowledged_at = CASE WHEN $3 THEN $5 ELSE acknowledged_at END,
    resolved_by = CASE WHEN $6 THEN $4 ELSE resolved_by END,
    resolved_at = CASE WHEN $6 THEN $5 ELSE resolved_at END,
    resolution_notes = CASE WHEN $6 THEN $7 ELSE resolution_notes END
WHERE id = $1
RETURNING *
"""


class AlertNotFoundError(LookupError):
    """No alert has this id."""

    def __init__(self, alert_id: int) -> None:
        super().__init__(f"no alert {alert_id}")
        self.alert_id = alert_id


class InvalidTransitionError(ValueError):
    """The lifecycle does not allow this move (closed alerts are final)."""

    def __init__(self, alert_id: int, current: AlertStatus, target: AlertStatus) -> None:
        if current == target:
            reason = f"alert {alert_id} is already {current.value}"
        elif current in CLOSED_STATUSES:
            reason = (
                f"alert {alert_id} is {current.value}, a closed state: "
                f"it cannot become {target.value}"
            )
        else:
            allowed = ", ".join(sorted(s.value for s in ALLOWED_TRANSITIONS[current]))
            reason = (
                f"alert {alert_id} is {current.value}: it cannot become {target.value} "
                f"(allowed: {allowed})"
            )
        super().__init__(reason)
        self.alert_id = alert_id
        self.current = current
        self.target = target


def check_transition(alert_id: int, current: AlertStatus, target: AlertStatus) -> None:
    """Raise :class:`InvalidTransitionError` unless ``current -> target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise InvalidTransitionError(alert_id, current, target)


async def transition_alert(
    conn: asyncpg.Connection,
    alert_id: int,
    to: AlertStatus,
    actor: str,
    notes: str | None,
    now: datetime,
    *,
    service: str = _SERVICE,
) -> dict[str, Any]:
    """Move alert ``alert_id`` to ``to`` as ``actor``; returns the updated row as a dict.

    Runs in a transaction of its own, or a savepoint of the caller's. ``service`` is the
    audit row's service (the CLI passes its own name).
    """
    target = AlertStatus(to)
    async with conn.transaction():
        row = await conn.fetchrow(_SELECT_SQL, alert_id)
        if row is None:
            raise AlertNotFoundError(alert_id)
        current = AlertStatus(row["status"])
        check_transition(alert_id, current, target)
        acknowledges = current == AlertStatus.NEW and target in _ACKNOWLEDGING
        closes = target in CLOSED_STATUSES
        updated = await conn.fetchrow(
            _UPDATE_SQL, alert_id, target.value, acknowledges, actor, now, closes, notes
        )
        await write_audit(
            conn,
            actor=actor,
            action=f"alert.{target.value}",
            entity_type="alert",
            entity_id=str(alert_id),
            details={"from": current.value, "to": target.value, "notes": notes},
            ts=now,
            service=service,
        )
    if acknowledges:
        waited = (now - row["first_seen_at"]).total_seconds()
        TIME_TO_ACK.labels(severity=row["severity"]).observe(max(waited, 0.0))
    assert updated is not None  # the row is locked: it cannot have vanished
    return dict(updated)
