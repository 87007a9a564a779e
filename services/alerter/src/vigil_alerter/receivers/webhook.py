"""The webhook integration (``webhook_configs``): Alertmanager's v4 JSON body, POSTed.

Headers: ``Content-Type: application/json``, ``Idempotency-Key: <row key>`` (the same on
every attempt, so a receiver can drop the duplicate of an at-least-once resend) and, when
``hmac_secret_env`` is set, ``X-Vigil-Timestamp: <unix s>`` and ``X-Vigil-Signature:
sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`` over the exact body bytes sent.

The signature's timestamp is wall-clock time (the receiver checks it against its own clock
to refuse replays), not the alerter's clock. A 2xx answer is ``SENT``; 408, 425, 429 and
5xx, timeouts and connection errors are retryable; any other answer (a 4xx: the receiver
refuses this body) and a missing secret variable are not. The body is filtered first
(``send_resolved``, ``max_alerts``: see ``base``). Given ``session`` (the dispatcher's, kept
for its run), requests reuse its keep-alive connections; without, each send opens its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

import aiohttp

from vigil_alerter.config.models import WebhookConfig
from vigil_alerter.receivers.base import DeliveryError, SendOutcome, filter_payload

__all__ = ["WebhookIntegration", "sign"]

_RETRYABLE_STATUS: Final = frozenset({408, 425, 429})
_USER_AGENT: Final = "Vigil-Alerter/1"
_ERROR_BODY: Final = 200  # bytes of an error answer quoted in last_error


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class WebhookIntegration:
    """POSTs the body to ``config.url``; ``unix_time`` stamps the signature (tests fix it)."""

    def __init__(
        self,
        config: WebhookConfig,
        *,
        unix_time: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._config = config
        self._unix_time = unix_time
        self._session = session

    def _headers(self, body: bytes, idempotency_key: str) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": idempotency_key,
            "User-Agent": _USER_AGENT,
        }
        env = self._config.hmac_secret_env
        if env is not None:
            secret = os.environ.get(env)
            if not secret:
                raise DeliveryError(
                    f"webhook: environment variable {env} (hmac_secret_env) is not set",
                    retryable=False,
                )
            timestamp = str(int(self._unix_time()))
            headers["X-Vigil-Timestamp"] = timestamp
            headers["X-Vigil-Signature"] = sign(secret, timestamp, body)
        return headers

    async def send(self, payload: Mapping[str, Any], idempotency_key: str) -> SendOutcome:
        filtered = filter_payload(
            payload, send_resolved=self._config.send_resolved, max_alerts=self._config.max_alerts
        )
        if filtered is None:
            return SendOutcome.SUPPRESSED
        body = json.dumps(filtered, separators=(",", ":"), default=str).encode()
        headers = self._headers(body, idempotency_key)
        timeout = aiohttp.ClientTimeout(total=self._config.timeout.total_seconds())
        try:
            if self._session is not None:
                status, text = await self._post(self._session, body, headers, timeout)
            else:
                async with aiohttp.ClientSession(timeout=timeout) as session:
                    status, text = await self._post(session, body, headers, timeout)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {exc}") from exc
        if 200 <= status < 300:
            return SendOutcome.SENT
        retryable = status >= 500 or status in _RETRYABLE_STATUS
        raise DeliveryError(f"webhook: HTTP {status}: {text}", retryable=retryable)

    async def _post(
        self,
        session: aiohttp.ClientSession,
        body: bytes,
        headers: Mapping[str, str],
        limits: aiohttp.ClientTimeout,
    ) -> tuple[int, str]:
        """POST ``body``: the answer's status and the start of its text."""
        async with session.post(
            self._config.url, data=body, headers=headers, timeout=limits
        ) as response:
            text = (await response.content.read(_ERROR_BODY)).decode(errors="replace")
            return response.status, text
