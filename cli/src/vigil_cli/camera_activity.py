"""Per-camera activity for `vigil status`: event and reject rates, last-seen ages, fleet total.

Where each number comes from, and why it stays right with several ingest replicas:

* **events in the last minute**: counted in PostgreSQL, the one place every replica's rows
  end up (no replica sees a whole camera's traffic on a shared subscription, and the Redis
  live state holds no counters). The window is on the event time ``ts``, bounded by the
  database's clock on both sides, so each camera's count is an index range scan of
  ``camera_events_dedup_key (camera_id, ts, ...)`` inside the newest partition. A camera
  whose clock runs more than a minute behind therefore shows no rate: its ``last_seen``
  (arrival time, below) still shows it alive.
* **rejects in the last minute**: ``ingest_rejects`` by arrival time ``received_at``, through
  ``ingest_rejects_camera_idx (camera_id, received_at DESC)``; the fleet total also counts
  rejects that name no camera (unsupported topics, unparseable payloads).
* **status and last_seen**: the shared live-state hash ``vigil:camera:{id}:state`` that every
  replica's fan-out updates (``last_seen`` = arrival time of the camera's latest message) and
  the elected liveness sweeper marks ``online``/``offline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import asyncpg

WINDOW_S: Final = 60
"""Width of the activity window, in seconds."""

CAMERAS_SQL: Final = """
SELECT c.id, c.name, c.desired_state,
       (SELECT count(*) FROM camera_events e
         WHERE e.camera_id = c.id
           AND e.ts > now() - make_interval(secs => $1) AND e.ts <= now()) AS events_1m,
       (SELECT count(*) FROM ingest_rejects r
         WHERE r.camera_id = c.id
           AND r.received_at > now() - make_interval(secs => $1)) AS rejects_1m
  FROM cameras c
 ORDER BY c.id
"""

ALL_REJECTS_SQL: Final = """
SELECT count(*) FROM ingest_rejects WHERE received_at > now() - make_interval(secs => $1)
"""


async def fetch_cameras(conn: asyncpg.Connection, timeout_s: float) -> list[dict[str, Any]]:
    """Registered cameras with their event and reject counts over the last `WINDOW_S`."""
    rows = await conn.fetch(CAMERAS_SQL, float(WINDOW_S), timeout=timeout_s)
    return [{**dict(row), "events_per_s": round(row["events_1m"] / WINDOW_S, 2)} for row in rows]


async def fetch_all_rejects(conn: asyncpg.Connection, timeout_s: float) -> int:
    """Every reject of the last `WINDOW_S`, those that name no camera included."""
    return int(await conn.fetchval(ALL_REJECTS_SQL, float(WINDOW_S), timeout=timeout_s))


def age_seconds(last_seen: str | None, now: datetime) -> float | None:
    """Seconds from an RFC 3339 `last_seen` to `now`; None when missing or unreadable."""
    if not last_seen:
        return None
    try:
        seen = datetime.fromisoformat(last_seen)
    except ValueError:
        return None
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    return round(max((now - seen).total_seconds(), 0.0), 1)


def format_age(seconds: float | None) -> str | None:
    """`2s ago`, `5m ago`, `3h ago`, `2d ago` (the largest whole unit); None stays None."""
    if seconds is None:
        return None
    whole = int(seconds)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit} ago"
    return f"{whole}s ago"


def fleet_summary(cameras: Sequence[dict[str, Any]], rejects_1m: int | None) -> dict[str, Any]:
    """Totals over the cameras: how many, how many online/offline, events and rejects."""
    events = sum(int(camera.get("events_1m") or 0) for camera in cameras)
    statuses = [camera.get("status") for camera in cameras]
    return {
        "cameras": len(cameras),
        "online": statuses.count("online"),
        "offline": statuses.count("offline"),
        "events_1m": events,
        "events_per_s": round(events / WINDOW_S, 2),
        "rejects_1m": rejects_1m,
        "window_s": WINDOW_S,
    }


def render_fleet_line(fleet: dict[str, Any]) -> str:
    """One line: `fleet: 8 cameras, 8 online, 0 offline, 960 events/min (16.0/s), 3 rejects/min`."""
    rejects = "-" if fleet["rejects_1m"] is None else fleet["rejects_1m"]
    return (
        f"fleet: {fleet['cameras']} cameras, {fleet['online']} online, "
        f"{fleet['offline']} offline, {fleet['events_1m']} events/min "
        f"({fleet['events_per_s']}/s), {rejects} rejects/min"
    )
