"""Helpers of the delivery tests: a recording webhook server, an outbox arranger, payloads.

- :class:`WebhookServer`: aiohttp on 127.0.0.1 recording every request per path, checking
  the HMAC signature and the v4 body fields; it can fail the next n requests or hold them.
- :class:`Outbox`: inserts alerts and outbox rows the way the flusher does (the month's
  ``notifications`` partition created first) and reads rows back.
- :func:`holder_of`: a config source (``.current.config``) for an ``AlerterConfig`` dict.
- :func:`v4_payload`: a group's Alertmanager v4 webhook body, as the outbox stores it.
- :func:`until`, :func:`at`: wait for progress; move a manual clock to a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from vigil_alerter.clock import ManualClock
from vigil_alerter.config.models import AlerterConfig

V4_FIELDS = (
    "version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
    "commonLabels", "commonAnnotations", "externalURL", "alerts",
)  # fmt: skip
ALERT_FIELDS = (
    "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint",
)  # fmt: skip
HMAC_SECRET = "delivery-test-secret"


@dataclass(frozen=True)
class _Loaded:
    config: AlerterConfig


@dataclass
class _Holder:
    current: _Loaded


def holder_of(config: Mapping[str, Any]) -> _Holder:
    """A fixed configuration source for ``config`` (the YAML's structure, as a dict)."""
    return _Holder(_Loaded(AlerterConfig.model_validate(config)))


def v4_payload(
    receiver: str,
    *,
    firing: int = 1,
    resolved: int = 0,
    group_key: str = '{}:{alertname="Intrusion"}',
    severity: str = "warning",
) -> dict[str, Any]:
    """The v4 body of a group with ``firing`` then ``resolved`` alerts."""
    alerts: list[dict[str, Any]] = [
        {
            "status": status,
            "labels": {"alertname": "Intrusion", "camera_id": f"cam-{i}", "severity": severity},
            "annotations": {"summary": f"person in zone on cam-{i}"},
            "startsAt": "2026-01-06T11:59:00Z",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-01-06T12:00:00Z",
            "generatorURL": "http://vigil.test/alerts",
            "fingerprint": f"{i:016x}",
            "vigil": {"alertId": i + 1, "status": "new", "frameURL": None, "historyURL": None},
        }
        for i, status in enumerate(["firing"] * firing + ["resolved"] * resolved)
    ]
    return {
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {"alertname": "Intrusion"},
        "commonLabels": {"alertname": "Intrusion", "severity": severity},
        "commonAnnotations": {},
        "externalURL": "http://vigil.test",
        "alerts": alerts,
        "vigil": {"alertIds": list(range(1, len(alerts) + 1)), "kind": "firing"},
    }


@dataclass
class Received:
    """One request the webhook server answered 2xx."""

    body: dict[str, Any]
    idempotency_key: str
    headers: dict[str, str]


@dataclass
class WebhookServer:
    """Records requests per path; ``fail_next[path]`` answers that many with ``fail_status``;
    ``hold[path]`` (an event) keeps requests waiting until it is set."""

    url: str = ""
    received: dict[str, list[Received]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    fail_next: dict[str, int] = field(default_factory=dict)
    fail_status: int = 503
    hold: dict[str, asyncio.Event] = field(default_factory=dict)
    arrived: dict[str, asyncio.Event] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def endpoint(self, path: str) -> str:
        return f"{self.url}/{path}"

    def got(self, path: str) -> list[Received]:
        return self.received.get(path, [])

    def _check(self, request: web.Request, raw: bytes) -> dict[str, Any]:
        if request.headers.get("Content-Type") != "application/json":
            self.problems.append(f"content type {request.headers.get('Content-Type')}")
        signature = request.headers.get("X-Vigil-Signature")
        if signature is not None:
            timestamp = request.headers["X-Vigil-Timestamp"]
            mac = hmac.new(HMAC_SECRET.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
            if not hmac.compare_digest(signature, "sha256=" + mac.hexdigest()):
                self.problems.append("bad signature")
        body: dict[str, Any] = json.loads(raw)
        missing = [name for name in V4_FIELDS if name not in body]
        missing += [
            f"alerts[{i}].{name}"
            for i, alert in enumerate(body.get("alerts", []))
            for name in ALERT_FIELDS
            if name not in alert
        ]
        if missing or body.get("version") != "4":
            self.problems.append(f"not a v4 body: missing {missing}")
        return body

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        raw = await request.read()
        self.attempts[path] = self.attempts.get(path, 0) + 1
        self.arrived.setdefault(path, asyncio.Event()).set()
        held = self.hold.get(path)
        if held is not None:
            await held.wait()
        if self.fail_next.get(path, 0) > 0:
            self.fail_next[path] -= 1
            return web.Response(status=self.fail_status, text="down for the test")
        body = self._check(request, raw)
        key = request.headers.get("Idempotency-Key", "")
        self.received.setdefault(path, []).append(Received(body, key, dict(request.headers)))
        return web.json_response({"ok": True})


class Outbox:
    """Arranges alerts and outbox rows as the flusher writes them; reads rows back."""

    def __init__(self, pool: Any, clock: ManualClock) -> None:
        self._pool = pool
        self._clock = clock
        self._alerts = 0

    async def _alert(self) -> int:
        self._alerts += 1
        alert_id: int = await self._pool.fetchval(
            "INSERT INTO alerts (fingerprint, rule, severity, title, first_seen_at,"
            " last_seen_at) VALUES ($1, 'Intrusion', 'warning', 'Intrusion', $2, $2)"
            " RETURNING id",
            f"fp-{self._alerts:012d}",
            self._clock(),
        )
        return alert_id

    async def add(
        self,
        receiver: str,
        channel: str,
        payload: Mapping[str, Any] | None,
        *,
        max_total: timedelta = timedelta(hours=1),
        key: str | None = None,
    ) -> int:
        """A pending row due now (created ``now``, deadline ``now + max_total``)."""
        now = self._clock()
        await self._pool.execute("SELECT vigil_ensure_partition('notifications', $1)", now)
        alert_id = await self._alert()
        row_id: int = await self._pool.fetchval(
            "INSERT INTO notifications (alert_id, receiver, channel, status, group_key,"
            " alert_ids, kind, idempotency_key, payload, next_attempt_at, deadline_at,"
            " created_at, updated_at) VALUES ($1, $2, $3, 'pending', 'g', $4, 'firing', $5,"
            " $6, $7, $8, $7, $7) RETURNING id",
            alert_id,
            receiver,
            channel,
            [alert_id],
            key or f"key-{receiver}-{channel}-{self._alerts}",
            payload,
            now,
            now + max_total,
        )
        return row_id

    async def row(self, row_id: int) -> Mapping[str, Any]:
        record = await self._pool.fetchrow("SELECT * FROM notifications WHERE id = $1", row_id)
        assert record is not None
        return dict(record)

    async def statuses(self, ids: Sequence[int]) -> list[str]:
        return [str((await self.row(row_id))["status"]) for row_id in ids]


async def until(condition: Callable[[], bool], attempts: int = 2000) -> None:
    """Yield to the loop until ``condition()`` holds (progress, not a duration, is awaited)."""
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


def at(clock: ManualClock, when: datetime) -> None:
    """Move ``clock`` forward to ``when`` (never back)."""
    if when > clock():
        clock.advance(when - clock())
