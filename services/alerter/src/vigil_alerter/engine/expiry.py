"""Expiry: active alerts whose ``ends_at`` passed are resolved (Alertmanager's resolve timeout).

An API alert carries an ``endsAt`` (the sender's, or now + ``resolve_timeout``); when no
refresh moved it and the clock passes it, :func:`expire_alerts` resolves the alert as its
source would have: ``active = false`` and, while open, ``status = 'resolved'`` by
``source``, audited (``alert.resolved``) and counted. Its groups send the resolved
notification at their next flush. Batches of ``batch`` rows, each in its own transaction
(``FOR UPDATE SKIP LOCKED``, so replicas share the work).
"""

from __future__ import annotations

import asyncpg

from vigil_alerter.clock import Clock
from vigil_alerter.engine.intake import ACTOR
from vigil_alerter.metrics import ALERTS
from vigil_alerter.store.alerts import expire_due
from vigil_runtime.audit import write_audit

__all__ = ["expire_alerts"]


async def expire_alerts(pool: asyncpg.Pool, clock: Clock, *, batch: int = 500) -> int:
    """Resolve every active alert whose ``ends_at`` is not after now; how many."""
    now = clock()
    total = 0
    async with pool.acquire() as conn:
        while True:
            async with conn.transaction():
                expired = await expire_due(conn, now, batch)
                for alert in expired:
                    await write_audit(
                        conn, actor=ACTOR, action="alert.resolved", entity_type="alert",
                        entity_id=str(alert.alert_id), ts=now, service=ACTOR,
                        details={"by": "source", "reason": "ends_at passed",
                                 "closed": alert.closed},
                    )  # fmt: skip
            ALERTS.labels("resolved").inc(len(expired))
            total += len(expired)
            if len(expired) < batch:
                return total
