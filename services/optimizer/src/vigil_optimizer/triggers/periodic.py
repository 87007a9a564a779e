"""The periodic review of the whole fleet, on the leader replica only.

:class:`PeriodicTrigger` runs on every replica; each ``periodic_tick_s`` it renews or tries to
take the runtime's :class:`~vigil_runtime.leader.LeaderLock` on ``vigil:optimizer:periodic:lock``
(lease ``periodic_lock_ttl_s``), and only the holder goes on: it reads the reviewable cameras
(:func:`~vigil_optimizer.triggers.cameras.reviewable_cameras`: active, ONVIF address set)
and submits a ``periodic`` review for each camera that is due.

Spreading: camera ``c`` has a phase ``hash(c) mod review_interval_s``, and its slots are the
times ``phase + k × interval``. It is due when its last periodic submission (the Redis hash
``vigil:optimizer:periodic:last``, camera → Unix time, shared by the replicas so that a new
leader continues where the old one stopped) is older than its latest slot and at least half
an interval old. A camera never reviewed is due at once (its first review, bounded by the
scheduler like any burst); after that its reviews fall on its own slots, so the fleet's
reviews spread evenly over the interval instead of arriving all at once every day. Slots
missed while no replica ran are caught up at the next tick. Cameras that left the list are
dropped from the hash.

It is a lease, not a fence: a leader that stalled past its lease may submit a review the new
leader submits too; that costs one duplicate review, never a wrong setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import redis.asyncio
from prometheus_client import Counter

from vigil_optimizer.scheduler import FleetScheduler, Reason, Submitted
from vigil_optimizer.triggers.cameras import CameraRef, reviewable_cameras
from vigil_runtime.leader import LeaderLock
from vigil_runtime.logging import RateLimitedLogger, get_logger
from vigil_runtime.redis_client import REDIS_CONNECTION_ERRORS
from vigil_runtime.streams import is_transient
from vigil_runtime.tasks import wait_event

__all__ = ["LAST_KEY", "LOCK_KEY", "LOCK_NAME", "PeriodicTrigger", "is_due", "phase_of"]

_log = get_logger(__name__)

LOCK_KEY: Final = "vigil:optimizer:periodic:lock"
LOCK_NAME: Final = "optimizer_periodic"
"""The lock's label in ``vigil_runtime_leader{lock}``."""
LAST_KEY: Final = "vigil:optimizer:periodic:last"
"""Hash camera id → Unix time of its last periodic submission."""

SUBMITTED: Final = Counter(
    "vigil_optimizer_periodic_submitted_total",
    "Periodic reviews submitted by the leader, by what the scheduler did",
    ["result"],
)


class PeriodicSettings(Protocol):
    """What :class:`PeriodicTrigger` reads (``OptimizerSettings`` has it)."""

    @property
    def instance(self) -> str: ...
    @property
    def review_interval_s(self) -> float: ...
    @property
    def periodic_tick_s(self) -> float: ...
    @property
    def periodic_lock_ttl_s(self) -> float: ...


def phase_of(camera_id: str, interval_s: float) -> float:
    """The camera's offset in the interval, uniform over the camera ids (seconds)."""
    digest = hashlib.blake2b(camera_id.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") / 2**64) * interval_s


def is_due(now: float, last: float | None, phase: float, interval_s: float) -> bool:
    """Whether a camera last submitted at ``last`` (``None``: never) is due at ``now``."""
    if last is None:
        return True
    latest_slot = now - ((now - phase) % interval_s)
    return last < latest_slot and now - last >= interval_s / 2


class PeriodicTrigger:
    """Submits due periodic reviews while this replica leads (see the module docstring)."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        pool: Any,
        scheduler: FleetScheduler,
        settings: PeriodicSettings,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._pool = pool
        self._scheduler = scheduler
        self._settings = settings
        self._clock = clock
        self._lock = LeaderLock(client, LOCK_KEY, settings.instance,
                                settings.periodic_lock_ttl_s, name=LOCK_NAME)  # fmt: skip
        self._warn = RateLimitedLogger(_log, interval_s=60.0)

    @property
    def leading(self) -> bool:
        """Whether this replica held the lock at its last tick."""
        return self._lock.held

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set; the lock is released on the way out."""
        try:
            while not stop.is_set():
                await self.tick()
                await wait_event(stop, self._settings.periodic_tick_s)
        finally:
            with contextlib.suppress(*REDIS_CONNECTION_ERRORS):
                await asyncio.shield(self._lock.release())

    async def tick(self) -> int:
        """Renew or take the lock; as leader, submit the due reviews. How many were
        submitted (errors are logged: the next tick tries again)."""
        try:
            if not await self._lock.hold():
                return 0
            return await self._submit_due(await reviewable_cameras(self._pool))
        except Exception as exc:
            if not is_transient(exc):
                _log.exception("periodic_review_failed")
            self._warn.warning("periodic review tick failed", key="tick", error=repr(exc))
            return 0

    async def _submit_due(self, cameras: Sequence[CameraRef]) -> int:
        interval = self._settings.review_interval_s
        last = await self._last_submitted()
        await self._forget_others(last.keys() - {camera.id for camera in cameras})
        now = self._clock()
        submitted: dict[str, str] = {}
        for camera in cameras:
            if not is_due(now, last.get(camera.id), phase_of(camera.id, interval), interval):
                continue
            result = self._scheduler.submit(camera.id, Reason.PERIODIC, site=camera.site)
            SUBMITTED.labels(result.value).inc()
            if result is not Submitted.CLOSED:
                submitted[camera.id] = repr(now)
        if submitted:
            await self._redis.hset(LAST_KEY, mapping=submitted)  # type: ignore[arg-type]
            _log.info("periodic_reviews_submitted", cameras=len(submitted),
                      fleet=len(cameras))  # fmt: skip
        return len(submitted)

    async def _last_submitted(self) -> dict[str, float]:
        raw = await self._redis.hgetall(LAST_KEY)
        last: dict[str, float] = {}
        for name, value in raw.items():
            try:
                last[name.decode() if isinstance(name, bytes) else name] = float(value)
            except (UnicodeDecodeError, ValueError):
                continue  # a foreign value: the camera counts as never reviewed
        return last

    async def _forget_others(self, gone: set[str]) -> None:
        if gone:
            await self._redis.hdel(LAST_KEY, *gone)
