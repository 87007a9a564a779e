"""Expiry: API alerts resolve when their endsAt passes, and their group says so."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.expiry import expire_alerts
from vigil_alerter.engine.flusher import Flusher
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.engine.intake import ConfigSource, Intake

CONFIG = """
global:
  resolve_timeout: 5m
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 10s
  group_interval: 1m
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:9/hook
"""


def posted(clock: ManualClock, instance: str) -> IncomingAlert:
    return IncomingAlert.from_postable(
        {"labels": {"alertname": "Down", "instance": instance}}, clock(), timedelta(minutes=5)
    )


async def test_alerts_past_their_end_are_resolved_and_notified(
    alerter_pool: Any, config_source: Callable[[str], ConfigSource], clock: ManualClock
) -> None:
    source = config_source(CONFIG)
    intake, flusher = Intake(alerter_pool, source, clock), Flusher(alerter_pool, source, clock, "")
    await intake.ingest([posted(clock, "a"), posted(clock, "b")])
    clock.advance(120)
    await intake.ingest([posted(clock, "b")])  # refreshed: ends 5 m from now
    await flusher.flush_due()
    assert await expire_alerts(alerter_pool, clock) == 0

    clock.advance(200)  # a's endsAt passed, b's not
    assert await expire_alerts(alerter_pool, clock) == 1

    rows = await alerter_pool.fetch(
        "SELECT labels->>'instance' AS i, active, status, resolved_by FROM alerts ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("a", False, "resolved", "source"),
        ("b", True, "new", None),
    ]
    await flusher.flush_due()
    last = await alerter_pool.fetchrow("SELECT payload FROM notifications ORDER BY id DESC LIMIT 1")
    statuses = {a["labels"]["instance"]: a["status"] for a in last["payload"]["alerts"]}
    assert statuses == {"a": "resolved", "b": "firing"}
