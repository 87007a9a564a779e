"""The integration contract: what a receiver's webhook/apprise/log entry is to the dispatcher.

An :class:`Integration` sends one outbox payload (Alertmanager's v4 webhook body for a group,
see ``vigil_alerter.notify.message``) with the row's idempotency key and returns a
:class:`SendOutcome`: ``SENT`` (the receiver accepted it) or ``SUPPRESSED`` (after the
integration's own filter nothing was left to send). A failure raises :class:`DeliveryError`;
``retryable=False`` means retrying cannot help (a 4xx answer, an invalid URL, a missing
secret) and the row fails at once.

:func:`filter_payload` is the per-integration filter of Alertmanager: ``send_resolved=false``
drops resolved alerts, ``max_alerts`` keeps the first n and counts the rest in
``truncatedAlerts``; ``None`` when nothing is left.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["DeliveryError", "Integration", "SendOutcome", "filter_payload"]


class SendOutcome(enum.StrEnum):
    """How a send ended when it did not raise."""

    SENT = "sent"
    SUPPRESSED = "suppressed"


class DeliveryError(Exception):
    """A send failed; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Integration(Protocol):
    """One entry of a receiver's ``*_configs`` (a channel ``"<kind>:<index>"``)."""

    async def send(self, payload: Mapping[str, Any], idempotency_key: str) -> SendOutcome:
        """Deliver ``payload``; raise :class:`DeliveryError` on failure."""
        ...


def filter_payload(
    payload: Mapping[str, Any], *, send_resolved: bool, max_alerts: int = 0
) -> dict[str, Any] | None:
    """The body this integration sends, or ``None`` when no alert is left to send."""
    alerts = [dict(alert) for alert in payload.get("alerts", [])]
    if not send_resolved:
        alerts = [alert for alert in alerts if alert.get("status") != "resolved"]
    if not alerts:
        return None
    truncated = int(payload.get("truncatedAlerts", 0) or 0)
    if max_alerts > 0 and len(alerts) > max_alerts:
        truncated += len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    body = dict(payload)
    body["alerts"] = alerts
    body["truncatedAlerts"] = truncated
    if any(alert.get("status") == "firing" for alert in alerts):
        body["status"] = "firing"
    else:
        body["status"] = "resolved"
    return body
