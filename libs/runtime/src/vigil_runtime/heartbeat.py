"""The service heartbeat: how `vigil status` finds the running service instances.

While a service holds its Redis client, `Heartbeat` keeps the hash
`vigil:service:{name}:{instance}` (`vigil_schema.streams.service_key`) fresh: identity,
state (`starting`, `running`, `draining`), start time, version, host and HTTP port. The
hash expires after three missed beats, so a killed process disappears on its own; a clean
stop deletes it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT
from structlog.typing import FilteringBoundLogger

from vigil_runtime.logging import RateLimitedLogger
from vigil_runtime.ops import OpsServer
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.settings import VigilSettings
from vigil_runtime.tasks import cancel_and_wait, wait_event
from vigil_schema.clock import utc_now
from vigil_schema.streams import service_key

__all__ = ["STOP_WAIT_S", "Heartbeat", "HeartbeatSource", "heartbeat_fields", "package_version"]

STOP_WAIT_S = 1.0
"""How long `Heartbeat.close` lets the loop end by itself before cancelling it."""


class HeartbeatSource(Protocol):
    """What the heartbeat reads of the service (`ServiceContext` provides it)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> VigilSettings: ...
    @property
    def ops(self) -> OpsServer: ...
    @property
    def log(self) -> FilteringBoundLogger: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def status(self) -> str: ...
    def watch_status(self, callback: Callable[[], None]) -> Callable[[], None]: ...


def package_version(service: str) -> str:
    """The installed version of `vigil-<service>` (or `unknown`)."""
    try:
        return version(f"vigil-{service}")
    except PackageNotFoundError:
        return "unknown"


def heartbeat_fields(ctx: HeartbeatSource) -> dict[FieldT, EncodableT]:
    """The heartbeat hash of `ctx` as of now."""
    return {
        "service": ctx.name,
        "instance": ctx.settings.instance,
        "status": ctx.status,
        "started_at": ctx.started_at.isoformat(),
        "last_seen": utc_now().isoformat(),
        "version": package_version(ctx.name),
        "host": socket.gethostname(),
        "http_port": str(ctx.ops.port),
    }


class Heartbeat:
    """Refreshes the service's heartbeat hash every interval, and at once when the
    service's status changes."""

    def __init__(self, ctx: HeartbeatSource, client: aioredis.Redis) -> None:
        self._ctx = ctx
        self._client = client
        self._key = service_key(ctx.name, ctx.settings.instance)
        self._halt = asyncio.Event()
        self._beat_now = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unwatch: Callable[[], None] | None = None

    @classmethod
    def start(cls, ctx: HeartbeatSource, client: aioredis.Redis) -> Heartbeat:
        """Begin beating on `client` in a background task."""
        heartbeat = cls(ctx, client)
        heartbeat._unwatch = ctx.watch_status(heartbeat._beat_now.set)
        heartbeat._task = asyncio.create_task(heartbeat._run(), name="heartbeat")
        return heartbeat

    async def close(self) -> None:
        """Stop beating and delete the hash, so `vigil status` drops this instance at once."""
        if self._unwatch is not None:
            self._unwatch()
        await self._stop()
        with contextlib.suppress(*REDIS_ERRORS):
            await self._client.delete(self._key)

    async def _run(self) -> None:
        """Beat until halted; the TTL outlives three missed beats."""
        interval = self._ctx.settings.heartbeat_interval_s
        ttl_ms = int(interval * 3000) + 1000
        warn = RateLimitedLogger(self._ctx.log, interval_s=60.0)
        while not self._halt.is_set():
            self._beat_now.clear()
            try:
                await self._beat(ttl_ms)
            except REDIS_ERRORS as exc:
                warn.warning("heartbeat failed", key="heartbeat", error=str(exc))
            await wait_event(self._beat_now, interval)

    async def _beat(self, ttl_ms: int) -> None:
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(self._key, mapping=heartbeat_fields(self._ctx))
            pipe.pexpire(self._key, ttl_ms)
            await pipe.execute()

    async def _stop(self) -> None:
        """Ask the loop to end, and cancel it if a Redis call holds it up.

        A flag, not only cancellation: redis-py can absorb a CancelledError that arrives
        while a pipeline finishes, and the loop would then sleep on.
        """
        self._halt.set()
        self._beat_now.set()
        if self._task is None:
            return
        await asyncio.wait({self._task}, timeout=STOP_WAIT_S)
        if not self._task.done():
            await cancel_and_wait(self._task)
