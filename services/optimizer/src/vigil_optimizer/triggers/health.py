"""Degraded health → a ``degraded_health`` review, at most once per camera per cooldown.

:class:`HealthTrigger` consumes ``vigil:health`` (the ingest's
:class:`~vigil_schema.messages.HealthMessage` entries, plus camera status changes, which it
ignores) in consumer group ``optimizer`` with the runtime's
:class:`~vigil_runtime.streams.StreamConsumer`. For each sample of a reviewable camera
(:class:`~vigil_optimizer.triggers.cameras.CameraDirectory`) :func:`degraded_checks` names
the thresholds it breaks (see :mod:`vigil_optimizer.settings` for the checks). A degraded
sample sets the camera's cooldown key ``vigil:optimizer:health:cooldown:{camera}``
(``SET NX EX health_cooldown_s``: one key in Redis, so every replica shares it, and exactly
one of them wins it) and only the winner submits the review to the
:class:`~vigil_optimizer.scheduler.FleetScheduler`. A persistently degraded camera is thus
reviewed once per cooldown, whatever the sample rate or the number of replicas; the cooldown
holds also when the review fails (a dead camera is not hammered). When the scheduler is
closing the key is deleted again, so the next sample retries.

Samples received longer than ``health_cooldown_s`` ago (a consumer catching up) are skipped:
they describe a camera as it was. Entries are acknowledged after handling; an unreadable one
is dead-lettered at once (:mod:`vigil_optimizer.triggers.entries`); a Redis error is left to
the consumer, which retries it in place.

Metrics: ``vigil_optimizer_health_samples_total{result}`` (``ok``, ``degraded``,
``cooldown``, ``not_reviewable``, ``stale``) and
``vigil_optimizer_health_degraded_checks_total{check}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final, Protocol

import redis.asyncio
from prometheus_client import Counter

from vigil_optimizer.scheduler import FleetScheduler, Reason, Submitted
from vigil_optimizer.triggers.cameras import CameraDirectory, CameraRef
from vigil_optimizer.triggers.stream_trigger import GROUP, ConsumerSettings, StreamTrigger
from vigil_runtime.logging import get_logger
from vigil_runtime.streams import StreamEntry
from vigil_schema.clock import utc_now
from vigil_schema.enums import HealthLevel
from vigil_schema.ids import validate_camera_id
from vigil_schema.messages import HealthMessage
from vigil_schema.mqtt import HealthSample
from vigil_schema.streams import HEALTH

__all__ = [
    "GROUP",
    "HealthThresholds",
    "HealthTrigger",
    "cooldown_key",
    "degraded_checks",
]

_log = get_logger(__name__)

_LEVEL_RANK: Final = {HealthLevel.OK: 0, HealthLevel.WARNING: 1, HealthLevel.CRITICAL: 2}

SAMPLES: Final = Counter(
    "vigil_optimizer_health_samples_total",
    "Health samples read from vigil:health, by what they led to",
    ["result"],
)
DEGRADED_CHECKS: Final = Counter(
    "vigil_optimizer_health_degraded_checks_total",
    "Health thresholds broken by samples of reviewable cameras",
    ["check"],
)


class HealthThresholds(Protocol):
    """The thresholds :func:`degraded_checks` applies (``OptimizerSettings`` has them)."""

    @property
    def health_status_level(self) -> HealthLevel | None: ...
    @property
    def health_min_fps_ratio(self) -> float | None: ...
    @property
    def health_max_frame_drops(self) -> int | None: ...
    @property
    def health_max_latency_ms(self) -> float | None: ...
    @property
    def health_max_cpu_percent(self) -> float | None: ...
    @property
    def health_max_temperature_c(self) -> float | None: ...
    @property
    def health_min_brightness(self) -> float | None: ...
    @property
    def health_max_brightness(self) -> float | None: ...
    @property
    def health_max_noise(self) -> float | None: ...
    @property
    def health_min_blur_score(self) -> float | None: ...
    @property
    def health_min_bitrate_mbps(self) -> float | None: ...


class HealthTriggerSettings(HealthThresholds, ConsumerSettings, Protocol):
    """What :class:`HealthTrigger` reads besides the thresholds and its consumer's."""

    @property
    def health_cooldown_s(self) -> float: ...


def cooldown_key(camera_id: str) -> str:
    """``vigil:optimizer:health:cooldown:{camera}``: set while the camera is cooling down."""
    return f"vigil:optimizer:health:cooldown:{validate_camera_id(camera_id)}"


def _above(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value > limit


def _below(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value < limit


def degraded_checks(
    sample: HealthSample, limits: HealthThresholds, expected_fps: float | None = None
) -> list[str]:
    """The names of the checks ``sample`` fails (empty: healthy); ``expected_fps`` is the
    camera's configured frame rate (no frame-rate check without it)."""
    level = limits.health_status_level
    ratio = limits.health_min_fps_ratio
    min_fps = expected_fps * ratio if expected_fps and ratio else None
    checks = {
        "status": level is not None
        and sample.status is not None
        and _LEVEL_RANK[sample.status] >= _LEVEL_RANK[level],
        "fps": _below(sample.fps_actual, min_fps),
        "frame_drops": _above(sample.frame_drops, limits.health_max_frame_drops),
        "latency": _above(sample.latency_ms, limits.health_max_latency_ms),
        "cpu": _above(sample.cpu_percent, limits.health_max_cpu_percent),
        "temperature": _above(sample.temperature_c, limits.health_max_temperature_c),
        "too_dark": _below(sample.brightness, limits.health_min_brightness),
        "too_bright": _above(sample.brightness, limits.health_max_brightness),
        "noise": _above(sample.noise_level, limits.health_max_noise),
        "blur": _below(sample.blur_score, limits.health_min_blur_score),
        "bitrate": _below(sample.bitrate_mbps, limits.health_min_bitrate_mbps),
    }
    return [name for name, failed in checks.items() if failed]


class HealthTrigger(StreamTrigger):
    """Consumes ``vigil:health``; schedules reviews of degraded cameras (module docstring)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        scheduler: FleetScheduler,
        directory: CameraDirectory,
        settings: HealthTriggerSettings,
        *,
        block_ms: int = 1000,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(client, HEALTH, settings, block_ms=block_ms)
        self._redis = client
        self._scheduler = scheduler
        self._directory = directory
        self._settings = settings
        self._clock = clock

    async def handle(self, entries: list[StreamEntry]) -> None:
        """The consumer's handler: one batch of ``vigil:health`` entries."""
        for entry in entries:
            message = await self._reader.read(entry)
            if isinstance(message, HealthMessage):
                await self.on_sample(message)

    async def on_sample(self, message: HealthMessage) -> Submitted | None:
        """Judge one sample; what the scheduler did, or ``None`` when nothing was asked."""
        camera = self._directory.get(message.camera_id)
        if camera is None:
            SAMPLES.labels("not_reviewable").inc()
            return None
        cooldown = self._settings.health_cooldown_s
        if self._clock() - message.received_at > timedelta(seconds=cooldown):
            SAMPLES.labels("stale").inc()
            return None
        failed = degraded_checks(message.sample, self._settings, camera.expected_fps)
        if not failed:
            SAMPLES.labels("ok").inc()
            return None
        for check in failed:
            DEGRADED_CHECKS.labels(check).inc()
        key = cooldown_key(camera.id)
        started = self._clock().isoformat()
        if not await self._redis.set(key, started, nx=True, px=max(int(cooldown * 1000), 1)):
            SAMPLES.labels("cooldown").inc()
            return None
        SAMPLES.labels("degraded").inc()
        return await self._schedule(camera, key, failed)

    async def _schedule(self, camera: CameraRef, key: str, failed: list[str]) -> Submitted:
        result = self._scheduler.submit(camera.id, Reason.DEGRADED_HEALTH, site=camera.site)
        if result is Submitted.CLOSED:
            await self._redis.delete(key)
        _log.info("health_degraded", camera_id=camera.id, checks=failed,
                  scheduled=result.value)  # fmt: skip
        return result
