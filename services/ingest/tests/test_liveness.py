"""Camera liveness against real PostgreSQL and Redis: silence, status topic, lock, restarts.

Cameras expect a message every second (``health_interval_s=1``) and are silent after 1.5 s
(``liveness_silence_factor=1.5``); the fan-out's part (``last_seen`` in the camera's state
hash) is written here directly, exactly as the fan-out writes it. The registry and the
trackers connect as the ingest's own role (``vigil_ingest``), as in the service; the rows
are arranged and checked as the superuser.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import pytest
import pytest_asyncio
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_ingest.liveness import LOCK_KEY, LOCK_NAME, LivenessTracker
from vigil_ingest.liveness_state import OFFLINE_SINCE_FIELD, PENDING_OFFLINE_FIELD
from vigil_ingest.registry import CameraRegistry
from vigil_ingest.settings import IngestSettings
from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import AlertCandidate
from vigil_schema.roles import service_role
from vigil_schema.streams import ACTIVE_CAMERAS_KEY, ALERTS, Envelope, camera_state_key

SILENT_AFTER_S = 1.5


def settings(instance: str) -> IngestSettings:
    """The service's settings with short intervals (1 s cameras, 0.1 s sweeps)."""
    return IngestSettings(
        instance=instance,
        liveness_silence_factor=SILENT_AFTER_S,
        liveness_sweep_s=0.1,
        liveness_lock_ttl_s=1.0,
    )


@pytest_asyncio.fixture
async def ingest_pool(pg_pool_as: Callable[[str], Awaitable[Any]]) -> asyncpg.Pool:
    """The test database as the ingest's role: what the service's liveness code gets."""
    pool: asyncpg.Pool = await pg_pool_as(service_role("ingest"))
    return pool


@pytest_asyncio.fixture
async def registry(pg_pool: asyncpg.Pool, ingest_pool: asyncpg.Pool) -> CameraRegistry:
    await pg_pool.executemany(
        "INSERT INTO cameras (id, name, health_interval_s, desired_state) VALUES ($1, $1, 1, $2)",
        [("cam-a", "active"), ("cam-b", "active"), ("cam-off", "disabled")],
    )
    cameras = CameraRegistry(ingest_pool)
    await cameras.refresh()
    return cameras


Factory = Callable[[str], LivenessTracker]


@pytest.fixture
def tracker_for(
    ingest_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis, registry: CameraRegistry
) -> Factory:
    def make(instance: str) -> LivenessTracker:
        return LivenessTracker(ingest_pool, redis_client, registry, settings(instance))

    return make


@pytest_asyncio.fixture
async def running(tracker_for: Factory) -> AsyncIterator[Callable[[str], LivenessTracker]]:
    """Start trackers with ``run(stop)``; all are stopped at the end of the test."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    def start(instance: str) -> LivenessTracker:
        tracker = tracker_for(instance)
        tasks.append(asyncio.create_task(tracker.run(stop)))
        return tracker

    yield start
    stop.set()
    await asyncio.gather(*tasks)


async def seen(client: redis.asyncio.Redis, camera_id: str, at: datetime | None = None) -> None:
    """What the fan-out does for each stored message of the camera."""
    at = at or datetime.now(UTC)
    await client.hset(camera_state_key(camera_id), "last_seen", at.isoformat())


async def health_logs(pool: asyncpg.Pool, camera_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT status, level, message, source, details, ts FROM health_logs"
        " WHERE camera_id = $1 ORDER BY received_at, id",
        camera_id,
    )
    return rows


async def alerts(client: redis.asyncio.Redis) -> list[AlertCandidate]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(ALERTS))
    return [Envelope.from_fields(fields).unwrap(AlertCandidate) for _, fields in entries]


async def eventually(check: Callable[[], Awaitable[bool]], attempts: int = 160) -> None:
    """Poll ``check`` every 50 ms (8 s by default) until it holds."""
    for _ in range(attempts):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


# --------------------------------------------------------------------------- silence


async def test_silence_fires_once_even_with_two_trackers(
    running: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    fired_before = _metric("vigil_ingest_offline_transitions_total", direction="offline")
    await seen(redis_client, "cam-a")
    first, second = running("replica-1"), running("replica-2")

    async def offline_logged() -> bool:
        return len(await health_logs(pg_pool, "cam-a")) > 0

    await eventually(offline_logged)
    await asyncio.sleep(1.0)  # ten more sweeps: nothing may fire twice
    assert [first.sweeping, second.sweeping].count(True) == 1
    # cam-a and cam-b (never seen, so after the startup grace): one transition each
    fired = _metric("vigil_ingest_offline_transitions_total", direction="offline")
    assert fired - fired_before == 2
    assert _metric("vigil_ingest_cameras_offline") == 2
    (row,) = await health_logs(pg_pool, "cam-a")
    assert (row["status"], row["level"], row["source"]) == ("offline", "warning", "ingest")
    assert row["message"].startswith("no message for ")
    assert row["details"]["reason"] == "silence"
    candidates = [c for c in await alerts(redis_client) if c.camera_id == "cam-a"]
    (candidate,) = candidates
    assert (candidate.alertname, candidate.status, candidate.severity) == (
        "camera_offline", CandidateStatus.FIRING, AlertSeverity.WARNING
    )  # fmt: skip
    assert candidate.fingerprint() == AlertCandidate(
        source="x", alertname="camera_offline", severity=AlertSeverity.WARNING, camera_id="cam-a"
    ).fingerprint()  # fmt: skip
    state = await redis_client.hgetall(camera_state_key("cam-a"))
    assert state[b"status"] == b"offline"
    assert OFFLINE_SINCE_FIELD.encode() in state
    assert PENDING_OFFLINE_FIELD.encode() not in state  # the row was written, so un-parked
    assert not await redis_client.sismember(ACTIVE_CAMERAS_KEY, "cam-a")


async def test_camera_heard_again_resolves(
    running: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    await seen(redis_client, "cam-a")
    running("replica-1")

    async def logged(count: int) -> bool:
        return len(await health_logs(pg_pool, "cam-a")) >= count

    await eventually(lambda: logged(1))
    await seen(redis_client, "cam-a")
    await eventually(lambda: logged(2))
    offline, online = await health_logs(pg_pool, "cam-a")
    assert (online["status"], online["level"], online["message"]) == (
        "online", "ok", "messages received again"
    )  # fmt: skip
    assert online["ts"] > offline["ts"]
    firing, resolved = [c for c in await alerts(redis_client) if c.camera_id == "cam-a"]
    assert (firing.status, resolved.status) == (CandidateStatus.FIRING, CandidateStatus.RESOLVED)
    assert resolved.fingerprint() == firing.fingerprint()
    assert resolved.starts_at == firing.starts_at
    assert resolved.ends_at is not None
    assert resolved.ends_at >= resolved.starts_at
    state = await redis_client.hgetall(camera_state_key("cam-a"))
    assert state[b"status"] == b"online"
    assert OFFLINE_SINCE_FIELD.encode() not in state
    assert await redis_client.sismember(ACTIVE_CAMERAS_KEY, "cam-a")


async def test_a_camera_that_keeps_talking_stays_online(
    running: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    running("replica-1")
    for _ in range(25):  # 2.5 s, well past the 1.5 s limit
        await seen(redis_client, "cam-a")
        await asyncio.sleep(0.1)
    assert await health_logs(pg_pool, "cam-a") == []
    assert [c.camera_id for c in await alerts(redis_client)].count("cam-a") == 0
    assert await redis_client.hget(camera_state_key("cam-a"), "status") == b"online"
    assert await redis_client.sismember(ACTIVE_CAMERAS_KEY, "cam-a")


# --------------------------------------------------------------------------- status topic


async def test_status_topic_offline_is_immediate_and_online_resolves(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    tracker = tracker_for("replica-1")
    await seen(redis_client, "cam-b")
    reported = datetime.now(UTC).replace(microsecond=0)
    await tracker.on_status("cam-b", "offline", reported)
    await tracker.on_status("cam-b", "offline", reported)  # retained, delivered again
    (row,) = await health_logs(pg_pool, "cam-b")
    assert (row["status"], row["level"], row["message"], row["ts"]) == (
        "offline", "critical", "status topic says offline", reported
    )  # fmt: skip
    (candidate,) = await alerts(redis_client)
    assert (candidate.camera_id, candidate.status) == ("cam-b", CandidateStatus.FIRING)

    await tracker.sweep()  # last_seen is older than the report: still offline
    assert len(await health_logs(pg_pool, "cam-b")) == 1

    await tracker.on_status("cam-b", "online", reported + timedelta(seconds=5))
    await tracker.on_status("cam-b", "online", reported + timedelta(seconds=5))
    _, online = await health_logs(pg_pool, "cam-b")
    assert (online["status"], online["message"]) == ("online", "status topic says online")
    assert [c.status for c in await alerts(redis_client)] == [
        CandidateStatus.FIRING, CandidateStatus.RESOLVED
    ]  # fmt: skip


async def test_retained_offline_delivered_again_does_not_bring_the_camera_back(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    """After an ingest restart the broker delivers the retained Last Will again; storing it
    updates ``last_seen``, but the camera has not been heard from."""
    tracker = tracker_for("replica-1")
    await tracker.on_status("cam-b", "offline", datetime.now(UTC))
    await seen(redis_client, "cam-b")  # the fan-out of the redelivered status message
    await tracker.on_status("cam-b", "offline", datetime.now(UTC))
    await tracker.sweep()
    assert [row["status"] for row in await health_logs(pg_pool, "cam-b")] == ["offline"]
    await seen(redis_client, "cam-b")  # a real message
    await tracker.sweep()
    assert [row["status"] for row in await health_logs(pg_pool, "cam-b")] == [
        "offline", "online"
    ]  # fmt: skip
    state = await redis_client.hgetall(camera_state_key("cam-b"))
    assert b"offline_confirmed" not in state


async def test_status_of_disabled_or_unknown_cameras_changes_nothing(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    tracker = tracker_for("replica-1")
    now = datetime.now(UTC)
    await tracker.on_status("cam-off", "offline", now)
    await tracker.on_status("nobody", "offline", now)
    await tracker.on_status("cam-a", "online", now)  # online without being offline
    await tracker.on_status("cam-a", "unknown", now)
    assert await pg_pool.fetchval("SELECT count(*) FROM health_logs") == 0
    assert await alerts(redis_client) == []
    assert await redis_client.hget(camera_state_key("cam-a"), "status") == b"online"
    assert not await redis_client.exists(camera_state_key("cam-off"))


# --------------------------------------------------------------------------- startup, restart


async def test_startup_grace_for_cameras_silent_before_the_start(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    await seen(redis_client, "cam-a", datetime.now(UTC) - timedelta(hours=1))
    tracker = tracker_for("replica-1")  # cam-b was never seen at all
    await tracker.sweep()
    assert await alerts(redis_client) == []
    await asyncio.sleep(SILENT_AFTER_S + 0.2)
    await tracker.sweep()
    assert sorted(c.camera_id or "" for c in await alerts(redis_client)) == ["cam-a", "cam-b"]
    (never_seen,) = await health_logs(pg_pool, "cam-b")
    assert never_seen["message"].endswith("s since the ingest started")
    (long_silent,) = await health_logs(pg_pool, "cam-a")
    assert long_silent["message"].startswith("no message for 36")  # about an hour


async def test_disabled_cameras_are_not_swept(
    tracker_for: Factory, redis_client: redis.asyncio.Redis
) -> None:
    tracker = tracker_for("replica-1")
    await asyncio.sleep(SILENT_AFTER_S + 0.2)
    await tracker.sweep()
    assert "cam-off" not in {c.camera_id for c in await alerts(redis_client)}


async def test_restarted_tracker_does_not_fire_again(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    first = tracker_for("replica-1")
    await first.on_status("cam-a", "offline", datetime.now(UTC))
    await asyncio.sleep(SILENT_AFTER_S + 0.2)
    await first.sweep()  # cam-b goes offline by silence
    before = len(await alerts(redis_client))
    restarted = tracker_for("replica-1")
    await asyncio.sleep(SILENT_AFTER_S + 0.2)  # past the restarted tracker's grace too
    await restarted.sweep()
    await restarted.on_status("cam-a", "offline", datetime.now(UTC))
    assert len(await alerts(redis_client)) == before == 2
    assert await pg_pool.fetchval("SELECT count(*) FROM health_logs") == 2


# --------------------------------------------------------------------------- crash recovery


async def test_parked_row_is_written_once_by_the_next_sweep(
    tracker_for: Factory, pg_pool: asyncpg.Pool, redis_client: redis.asyncio.Redis
) -> None:
    """A transition whose row was not inserted (crash, PostgreSQL down) is completed later;
    a row already inserted before the crash is not inserted twice."""
    now = datetime.now(UTC)
    row: dict[str, Any] = {
        "camera_id": "cam-a", "ts": now.isoformat(), "status": "offline", "level": "warning",
        "message": "no message for 200 s", "details": {"reason": "silence"},
        "received_at": now.isoformat(),
    }  # fmt: skip
    key = camera_state_key("cam-a")
    await seen(redis_client, "cam-a", now)
    await redis_client.hset(key, mapping={OFFLINE_SINCE_FIELD: now.isoformat(),
                                          PENDING_OFFLINE_FIELD: json.dumps(row)})  # fmt: skip
    tracker = tracker_for("replica-1")
    await tracker.sweep()
    assert not await redis_client.hexists(key, PENDING_OFFLINE_FIELD)
    await redis_client.hset(key, PENDING_OFFLINE_FIELD, json.dumps(row))  # crashed after insert
    await tracker.sweep()
    (stored,) = await health_logs(pg_pool, "cam-a")
    assert (stored["status"], stored["message"], stored["ts"]) == (
        "offline", "no message for 200 s", now
    )  # fmt: skip
    assert not await redis_client.hexists(key, PENDING_OFFLINE_FIELD)


# --------------------------------------------------------------------------- the lock


async def test_stopping_the_sweeper_hands_the_lock_over(
    tracker_for: Factory, redis_client: redis.asyncio.Redis
) -> None:
    stop = asyncio.Event()
    first = tracker_for("replica-1")
    task = asyncio.create_task(first.run(stop))
    await eventually(lambda: _true(first.sweeping))
    assert _metric("vigil_runtime_leader", lock=LOCK_NAME) == 1
    stop.set()
    await task
    assert not await redis_client.exists(LOCK_KEY)
    assert _metric("vigil_runtime_leader", lock=LOCK_NAME) == 0


def _metric(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def _true(value: bool) -> bool:
    return value
