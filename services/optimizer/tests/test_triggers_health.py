"""The degraded-health trigger against real Redis and PostgreSQL: samples published on
``vigil:health`` as the ingest publishes them, consumed in group ``optimizer`` by one or two
replicas, reviews counted by the scheduler's review callable."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, cast

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_optimizer.scheduler import FleetScheduler, Submitted
from vigil_optimizer.settings import OptimizerSettings
from vigil_optimizer.triggers.cameras import CameraDirectory
from vigil_optimizer.triggers.health import GROUP, HealthTrigger, cooldown_key, degraded_checks
from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.clock import utc_now
from vigil_schema.enums import HealthLevel
from vigil_schema.messages import CameraStatusMessage, DeadLetter, HealthMessage
from vigil_schema.mqtt import HealthSample
from vigil_schema.streams import DLQ, HEALTH, Envelope

Camera = tuple[str, str | None, str | None, str, float | None]
Entries = list[tuple[bytes, dict[bytes, bytes]]]

CAMERAS: list[Camera] = [  # id, site, ip, desired_state, main profile fps
    ("cam-a", "north", "10.0.0.1", "active", 25),
    ("cam-b", "north", None, "active", 25),
    ("cam-c", "south", "10.0.0.3", "disabled", 25),
    ("cam-d", None, "10.0.0.4", "active", None),
]


LOGIN = b"sealed login"
"""Stands for an encrypted ONVIF login: a camera without one is not reviewable."""


async def insert_cameras(pool: Any, cameras: list[Camera]) -> None:
    rows = [
        (cid, cid, site, ip, state, {"profiles": [{"token": "p0", "fps": fps}]}, LOGIN)
        for cid, site, ip, state, fps in cameras
    ]
    await pool.executemany(
        "INSERT INTO cameras (id, name, site, ip, desired_state, capabilities, "
        "credentials_encrypted) VALUES ($1, $2, $3, $4::inet, $5, $6::jsonb, $7)",
        rows,
    )


def settings(**overrides: Any) -> OptimizerSettings:
    values: dict[str, Any] = {"health_cooldown_s": 30.0, "consumer_name": "opt-1",
                              "claim_idle_ms": 200}  # fmt: skip
    values.update(overrides)
    return OptimizerSettings(**values)


class Reviews:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, camera_id: str, reason: str) -> None:
        self.calls.append((camera_id, reason))


def sample(**fields: Any) -> HealthSample:
    return HealthSample(ts=utc_now(), **fields)


async def publish(client: redis.asyncio.Redis, camera_id: str, **fields: Any) -> None:
    message = HealthMessage(camera_id=camera_id, sample=sample(**fields))
    await StreamProducer(client).publish(HEALTH, Envelope.wrap(message))


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class Replica:
    """One optimizer replica's health trigger and scheduler."""

    def __init__(self, client: redis.asyncio.Redis, directory: CameraDirectory,
                 config: OptimizerSettings) -> None:  # fmt: skip
        self.reviews = Reviews()
        self.scheduler = FleetScheduler(self.reviews, site_of=directory.site_of)
        self.trigger = HealthTrigger(client, self.scheduler, directory, config, block_ms=50)


@contextlib.asynccontextmanager
async def run(*replicas: Replica) -> AsyncIterator[None]:
    stop = asyncio.Event()
    for replica in replicas:
        await replica.trigger.consumer.ensure_group()
    tasks = [asyncio.create_task(r.trigger.run(stop)) for r in replicas]
    tasks += [asyncio.create_task(r.scheduler.run(stop)) for r in replicas]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


@pytest.fixture
async def directory(pg_pool: Any, pg_pool_as: Any) -> AsyncIterator[CameraDirectory]:
    await insert_cameras(pg_pool, CAMERAS)
    cameras = CameraDirectory(await pg_pool_as("vigil_optimizer"))
    await cameras.start()
    try:
        yield cameras
    finally:
        await cameras.close()


async def test_degraded_samples_give_one_review_per_cooldown(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory
) -> None:
    replica = Replica(redis_client, directory, settings(health_cooldown_s=1.0))
    async with run(replica):
        for _ in range(5):
            await publish(redis_client, "cam-a", brightness=10.0)  # too dark, every sample
        await eventually(lambda: len(replica.reviews.calls) == 1)
        await asyncio.sleep(0.3)
        assert replica.reviews.calls == [("cam-a", "degraded_health")]
        assert await redis_client.pttl(cooldown_key("cam-a")) > 0
        await asyncio.sleep(1.0)  # the cooldown ends: the next degraded sample counts again
        await publish(redis_client, "cam-a", fps_actual=10.0)  # below 70 % of 25 fps
        await eventually(lambda: len(replica.reviews.calls) == 2)
    pending = await redis_client.xpending(HEALTH, GROUP)
    assert pending["pending"] == 0


async def test_healthy_unreviewable_and_status_entries_schedule_nothing(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory
) -> None:
    replica = Replica(redis_client, directory, settings())
    async with run(replica):
        await publish(redis_client, "cam-a", brightness=120.0, fps_actual=25.0,
                      status=HealthLevel.OK, temperature_c=40.0)  # fmt: skip
        await publish(redis_client, "cam-b", brightness=5.0)  # no ONVIF address
        await publish(redis_client, "cam-c", brightness=5.0)  # disabled
        await publish(redis_client, "unknown-cam", brightness=5.0)
        await publish(redis_client, "cam-d", fps_actual=1.0)  # no known frame rate to compare
        status = CameraStatusMessage(camera_id="cam-a", status="offline", ts=utc_now())
        await StreamProducer(redis_client).publish(HEALTH, Envelope.wrap(status))
        await publish(redis_client, "cam-d", status=HealthLevel.CRITICAL)  # the marker
        await eventually(lambda: len(replica.reviews.calls) == 1)
    assert replica.reviews.calls == [("cam-d", "degraded_health")]
    assert await redis_client.exists(cooldown_key("cam-a")) == 0


async def test_two_replicas_share_the_cooldown(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory, redis_url: str
) -> None:
    second = redis.asyncio.Redis.from_url(redis_url)
    try:
        one = Replica(redis_client, directory, settings(consumer_name="opt-1"))
        two = Replica(second, directory, settings(consumer_name="opt-2"))
        judged = _judged()
        async with run(one, two):
            for _ in range(40):
                await publish(redis_client, "cam-a", temperature_c=90.0)
            await eventually(lambda: _judged() - judged == 40)
            await asyncio.sleep(0.2)
        assert len(one.reviews.calls) + len(two.reviews.calls) == 1
        one = Replica(redis_client, directory, settings(consumer_name="opt-1"))
        two = Replica(second, directory, settings(consumer_name="opt-2"))
        message = HealthMessage(camera_id="cam-d", sample=sample(latency_ms=9000.0))
        results = await asyncio.gather(
            *(r.trigger.on_sample(message) for _ in range(10) for r in (one, two))
        )
        assert results.count(Submitted.QUEUED) == 1
        assert results.count(None) == 19
    finally:
        await second.aclose()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _judged() -> float:
    return sum(metric("vigil_optimizer_health_samples_total", result=r)
               for r in ("degraded", "cooldown"))  # fmt: skip


async def test_unreadable_entry_is_dead_lettered_and_acknowledged(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory
) -> None:
    replica = Replica(redis_client, directory, settings())
    async with run(replica):
        await redis_client.xadd(HEALTH, {"v": "1", "type": "health", "data": "{not json"})
        await publish(redis_client, "cam-a", noise_level=40.0)
        await eventually(lambda: len(replica.reviews.calls) == 1)
    letters = cast(Entries, await redis_client.xrange(DLQ))
    assert len(letters) == 1
    letter = Envelope.from_fields(letters[0][1]).unwrap(DeadLetter)
    assert (letter.stream, letter.group, letter.consumer) == (HEALTH, GROUP, "opt-1")
    assert letter.fields["data"] == "{not json"
    assert (await redis_client.xpending(HEALTH, GROUP))["pending"] == 0


async def test_closed_scheduler_leaves_no_cooldown(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory
) -> None:
    replica = Replica(redis_client, directory, settings())
    stop = asyncio.Event()
    stop.set()
    await replica.scheduler.run(stop)  # stopped: it refuses work from now on
    message = HealthMessage(camera_id="cam-a", sample=sample(brightness=1.0))
    assert await replica.trigger.on_sample(message) is Submitted.CLOSED
    assert await redis_client.exists(cooldown_key("cam-a")) == 0


async def test_stale_samples_are_skipped(
    redis_client: redis.asyncio.Redis, directory: CameraDirectory
) -> None:
    replica = Replica(redis_client, directory, settings(health_cooldown_s=60.0))
    old = HealthMessage(camera_id="cam-a", sample=sample(brightness=1.0),
                        received_at=utc_now() - timedelta(minutes=5))  # fmt: skip
    assert await replica.trigger.on_sample(old) is None
    fresh = HealthMessage(camera_id="cam-a", sample=sample(brightness=1.0))
    assert await replica.trigger.on_sample(fresh) is Submitted.QUEUED


@pytest.mark.parametrize(
    ("fields", "expected_fps", "failed"),
    [
        ({"brightness": 120.0, "fps_actual": 24.0, "status": HealthLevel.OK}, 25.0, []),
        ({"status": HealthLevel.WARNING}, None, []),
        ({"status": HealthLevel.CRITICAL}, None, ["status"]),
        ({"fps_actual": 17.0}, 25.0, ["fps"]),
        ({"fps_actual": 18.0}, 25.0, []),
        ({"fps_actual": 1.0}, None, []),
        ({"frame_drops": 101}, None, ["frame_drops"]),
        ({"latency_ms": 2500.0, "cpu_percent": 99.0}, None, ["latency", "cpu"]),
        ({"temperature_c": 80.0}, None, ["temperature"]),
        ({"brightness": 39.0}, None, ["too_dark"]),
        ({"brightness": 230.0}, None, ["too_bright"]),
        ({"noise_level": 20.0, "blur_score": 10.0}, None, ["noise", "blur"]),
        ({"bitrate_mbps": 0.0}, None, []),
    ],
)
def test_degraded_checks_follow_the_default_thresholds(
    fields: dict[str, Any], expected_fps: float | None, failed: list[str]
) -> None:
    assert degraded_checks(sample(**fields), settings(), expected_fps) == failed


def test_thresholds_are_configurable_and_can_be_disabled() -> None:
    strict = settings(health_status_level="warning", health_min_bitrate_mbps=0.5)
    assert degraded_checks(sample(status=HealthLevel.WARNING, bitrate_mbps=0.1), strict) == [
        "status", "bitrate",
    ]  # fmt: skip
    off = settings(health_status_level=None, health_min_brightness=None)
    assert degraded_checks(sample(status=HealthLevel.CRITICAL, brightness=0.0), off) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"health_min_brightness": 200.0, "health_max_brightness": 100.0},
        {"health_min_fps_ratio": 1.5},
        {"health_cooldown_s": 0},
        {"global_concurrency": 2, "per_site_concurrency": 3},
        {"periodic_tick_s": 60.0, "periodic_lock_ttl_s": 30.0},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        settings(**bad)


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_HEALTH_MAX_NOISE", "off")
    monkeypatch.setenv("VIGIL_HEALTH_STATUS_LEVEL", "warning")
    monkeypatch.setenv("VIGIL_HEALTH_COOLDOWN_S", "600")
    config = OptimizerSettings()
    assert config.health_max_noise is None
    assert config.health_status_level is HealthLevel.WARNING
    assert config.health_cooldown_s == 600.0
    assert degraded_checks(sample(noise_level=500.0, status=HealthLevel.WARNING), config) == [
        "status"
    ]
