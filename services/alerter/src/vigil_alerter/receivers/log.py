"""The log integration (``log_configs``): one structured log line per notification.

The default receiver of a fresh install. The line (event ``alert_notification``) carries the
receiver, status, group key, idempotency key and each alert's labels and status; it is always
"accepted" (``SENT``) unless the filter left nothing (``SUPPRESSED``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigil_alerter.config.models import LogConfig
from vigil_alerter.receivers.base import SendOutcome, filter_payload
from vigil_runtime.logging import get_logger

__all__ = ["LogIntegration"]

_log = get_logger(__name__)


class LogIntegration:
    """Writes the notification to the service log."""

    def __init__(self, config: LogConfig) -> None:
        self._config = config

    async def send(self, payload: Mapping[str, Any], idempotency_key: str) -> SendOutcome:
        body = filter_payload(payload, send_resolved=self._config.send_resolved)
        if body is None:
            return SendOutcome.SUPPRESSED
        _log.info(
            "alert_notification",
            receiver=body.get("receiver"),
            status=body.get("status"),
            group_key=body.get("groupKey"),
            idempotency_key=idempotency_key,
            kind=(body.get("vigil") or {}).get("kind"),
            alerts=[
                {"status": alert.get("status"), "labels": alert.get("labels", {})}
                for alert in body["alerts"]
            ],
            truncated_alerts=body.get("truncatedAlerts", 0),
        )
        return SendOutcome.SENT
