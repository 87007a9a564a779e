"""The Apprise integration (``apprise_configs``): one notification to every listed URL.

Apprise (Slack, ``mailto://``, ntfy, Telegram, PagerDuty, ``mqtt://`` ...) gets a title and a
plain-text body rendered from the group's v4 payload: the title is ``title_template``
(``str.format`` over ``status``, ``STATUS``, ``count``, ``alertname``, ``receiver``,
``severity``, ``group_key``) or Alertmanager's ``[FIRING:2] alertname``; the body lists each
alert (status, summary/description annotations, labels, links) and ends with the idempotency
key. The notify type is ``failure`` for firing critical alerts, ``warning`` for other firing
ones, ``success`` when all are resolved.

Apprise runs blocking plugins (SMTP, MQTT) in its executor, never on the event loop, and
gives up after 30 s. All URLs must accept it for ``SENT``; a failure is retryable (the error
quotes Apprise's log). A URL Apprise cannot parse fails the row at once (only its scheme is
quoted: URLs hold credentials). ``send_resolved=false`` drops resolved alerts; none left:
``SUPPRESSED``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import apprise

from vigil_alerter.config.models import AppriseConfig
from vigil_alerter.receivers.base import DeliveryError, SendOutcome, filter_payload

__all__ = ["AppriseIntegration", "render_body", "render_title"]

_ERROR_CHARS: Final = 1000
_TIMEOUT_S: Final = 30.0
"""Apprise stops waiting after this (well inside the dispatcher's lease); a plugin still
running in its thread may finish later: at-least-once, as every resend."""


def _title_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    alerts = body.get("alerts", [])
    common = body.get("commonLabels") or {}
    group = body.get("groupLabels") or {}
    status = str(body.get("status", "firing"))
    firing = [a for a in alerts if a.get("status") == "firing"]
    return {
        "status": status,
        "STATUS": status.upper(),
        "count": len(firing) if status == "firing" else len(alerts),
        "alertname": group.get("alertname") or common.get("alertname") or "alert",
        "receiver": body.get("receiver", ""),
        "severity": common.get("severity", ""),
        "group_key": body.get("groupKey", ""),
    }


def render_title(body: Mapping[str, Any], template: str | None) -> str:
    """The template applied to the group, or ``[FIRING:n] alertname`` (bad template too)."""
    fields = _title_fields(body)
    if template:
        try:
            return template.format(**fields)
        except (KeyError, IndexError, ValueError, AttributeError):
            pass
    return "[{STATUS}:{count}] {alertname}".format(**fields)


def render_body(body: Mapping[str, Any], idempotency_key: str) -> str:
    """Plain text: one paragraph per alert, then the links and the idempotency key."""
    lines: list[str] = []
    for alert in body.get("alerts", []):
        annotations = alert.get("annotations") or {}
        labels = alert.get("labels") or {}
        head = annotations.get("summary") or labels.get("alertname", "alert")
        lines.append(f"[{str(alert.get('status', '')).upper()}] {head}")
        if annotations.get("description"):
            lines.append(str(annotations["description"]))
        lines.append(", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
        lines.append(f"since {alert.get('startsAt', '?')}")
        vigil = alert.get("vigil") or {}
        for name in ("frameURL", "historyURL"):
            if vigil.get(name):
                lines.append(str(vigil[name]))
        lines.append("")
    if body.get("truncatedAlerts"):
        lines.append(f"... and {body['truncatedAlerts']} more")
    if body.get("externalURL"):
        lines.append(str(body["externalURL"]))
    lines.append(f"Idempotency-Key: {idempotency_key}")
    return "\n".join(lines)


def _notify_type(body: Mapping[str, Any]) -> apprise.NotifyType:
    if body.get("status") != "firing":
        return apprise.NotifyType.SUCCESS
    firing = [a for a in body.get("alerts", []) if a.get("status") == "firing"]
    if any((a.get("labels") or {}).get("severity") == "critical" for a in firing):
        return apprise.NotifyType.FAILURE
    return apprise.NotifyType.WARNING


class AppriseIntegration:
    """Sends through a fresh :class:`apprise.Apprise` holding ``config.urls``."""

    def __init__(self, config: AppriseConfig) -> None:
        self._config = config

    def _apprise(self) -> apprise.Apprise:
        notifier = apprise.Apprise()
        for url in self._config.urls:
            if not notifier.add(url):
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise DeliveryError(
                    f"apprise: unsupported or invalid URL ({scheme}://...)", retryable=False
                )
        return notifier

    async def send(self, payload: Mapping[str, Any], idempotency_key: str) -> SendOutcome:
        body = filter_payload(payload, send_resolved=self._config.send_resolved)
        if body is None:
            return SendOutcome.SUPPRESSED
        notifier = self._apprise()
        result = await notifier.async_notify(
            body=render_body(body, idempotency_key),
            title=render_title(body, self._config.title_template),
            notify_type=_notify_type(body),
            timeout=_TIMEOUT_S,
        )
        if result.status == apprise.AppriseResultStatus.SUCCESS:
            return SendOutcome.SENT
        messages = [entry.message for entry in result.logs() if entry.level in {"WARNING", "ERROR"}]
        detail = "; ".join(messages) or result.status.name
        raise DeliveryError(f"apprise: {detail}"[:_ERROR_CHARS])
