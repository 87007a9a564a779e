"""The alerter's state for `vigil status`: open alerts and deliveries per receiver.

Read from PostgreSQL, where every alerter replica writes (``alerts``, the ``notifications``
outbox): open alerts (active, status new/acknowledged/investigating) by severity, and per
receiver over the last 24 hours how many notifications were sent, are pending (waiting for a
retry or their first attempt), failed after the retry cap, or were suppressed, with the time
of the last one sent. ``make demo`` routes every alert to a local webhook sink, so its row
shows that the alerts went out.
"""

from __future__ import annotations

from typing import Any, Final

import asyncpg

WINDOW_H: Final = 24

OPEN_ALERTS_SQL: Final = """
SELECT severity, count(*) AS open
  FROM alerts
 WHERE active AND status IN ('new', 'acknowledged', 'investigating')
 GROUP BY severity ORDER BY severity
"""

DELIVERIES_SQL: Final = """
SELECT receiver,
       count(*) FILTER (WHERE status = 'sent')       AS sent,
       count(*) FILTER (WHERE status = 'pending')    AS pending,
       count(*) FILTER (WHERE status = 'failed')     AS failed,
       count(*) FILTER (WHERE status = 'suppressed') AS suppressed,
       max(sent_at)                                  AS last_sent_at
  FROM notifications
 WHERE created_at > now() - make_interval(hours => $1)
 GROUP BY receiver ORDER BY receiver
"""


async def fetch_alerting(conn: asyncpg.Connection, timeout_s: float) -> dict[str, Any]:
    """``{"open_alerts": {severity: n}, "receivers": [{receiver, sent, pending, ...}]}``."""
    open_rows = await conn.fetch(OPEN_ALERTS_SQL, timeout=timeout_s)
    deliveries = await conn.fetch(DELIVERIES_SQL, WINDOW_H, timeout=timeout_s)
    return {
        "open_alerts": {row["severity"]: row["open"] for row in open_rows},
        "receivers": [
            {
                **dict(row),
                "last_sent_at": row["last_sent_at"].isoformat() if row["last_sent_at"] else None,
            }
            for row in deliveries
        ],
    }
