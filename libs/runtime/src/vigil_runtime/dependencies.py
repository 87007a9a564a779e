"""`ctx.dependencies()`: the PostgreSQL pool and Redis client a service body works with.

Both are connected concurrently with jittered backoff. A dependency that is down keeps
/readyz at 503 with its last error and is retried; it never crashes the process. Once a
dependency answers, its readiness check replaces the failing one. The heartbeat starts as
soon as Redis answers. On the way out the heartbeat hash is deleted and both connections
are closed (the pool gracefully, within the shutdown grace period).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import asyncpg
import redis.asyncio as aioredis

from vigil_runtime.backoff import Backoff, retry_async
from vigil_runtime.db import create_pool
from vigil_runtime.heartbeat import Heartbeat, HeartbeatSource
from vigil_runtime.logging import RateLimitedLogger
from vigil_runtime.ops import failing_check, postgres_check, redis_check
from vigil_runtime.redis_client import REDIS_ERRORS, open_redis
from vigil_runtime.settings import redact_text
from vigil_runtime.tasks import cancel_and_wait, succeeded

__all__ = ["Dependencies", "DependencyOwner", "connect_dependencies"]

T = TypeVar("T")

_PG_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


class DependencyOwner(HeartbeatSource, Protocol):
    """What connecting the dependencies needs of the service (`ServiceContext` provides it):
    what the heartbeat reads, plus waiting unless stopping and reporting `running`."""

    async def until_stopping(self, awaitable: Awaitable[T]) -> T: ...
    def mark_running(self) -> None: ...


@dataclass
class Dependencies:
    """The connections a service body works with."""

    pool: Any  # asyncpg.Pool (asyncpg ships no type information)
    redis: aioredis.Redis


@contextlib.asynccontextmanager
async def connect_dependencies(ctx: DependencyOwner) -> AsyncIterator[Dependencies]:
    """Connect PostgreSQL and Redis (retrying), register their checks, heartbeat.

    The heartbeat starts as soon as Redis answers (state `starting` until PostgreSQL is
    connected too), so `vigil status` also lists a service that waits for its database.
    Raises ServiceStopping when a stop arrives before both are connected.
    """
    pg = asyncio.create_task(_connect_postgres(ctx))
    rd = asyncio.create_task(_connect_redis_and_beat(ctx))
    try:
        await ctx.until_stopping(asyncio.gather(pg, rd))
        ctx.mark_running()
        yield Dependencies(pool=pg.result(), redis=rd.result()[0])
    finally:
        await cancel_and_wait(pg, rd)  # no-op for the ones that finished
        if succeeded(rd):
            client, heartbeat = rd.result()
            await heartbeat.close()
            await client.aclose()
        if succeeded(pg):
            await _close_pool(pg.result(), ctx.settings.shutdown_grace_s)


async def _connect_redis_and_beat(ctx: DependencyOwner) -> tuple[aioredis.Redis, Heartbeat]:
    client = await _connect_redis(ctx)
    return client, Heartbeat.start(ctx, client)


async def _connect_postgres(ctx: DependencyOwner) -> Any:
    def connect() -> Awaitable[Any]:
        return create_pool(ctx.settings.database_url, application_name=f"vigil-{ctx.name}")

    pool = await _connect(ctx, "postgres", connect, _PG_ERRORS)
    ctx.ops.add_check("postgres", postgres_check(pool))
    return pool


async def _connect_redis(ctx: DependencyOwner) -> aioredis.Redis:
    client = await _connect(ctx, "redis", lambda: _open_redis(ctx.settings.redis_url),
                            REDIS_ERRORS)  # fmt: skip
    ctx.ops.add_check("redis", redis_check(client))
    return client


async def _open_redis(url: str) -> aioredis.Redis:
    """A client that has answered PING (closed again when it did not)."""
    client = open_redis(url, socket_timeout=5.0, socket_connect_timeout=5.0)
    try:
        await client.ping()
    except BaseException:
        await client.aclose()
        raise
    return client


async def _connect(
    ctx: DependencyOwner,
    what: str,
    connect: Callable[[], Awaitable[T]],
    errors: tuple[type[BaseException], ...],
) -> T:
    """Retry `connect` with jittered backoff; its last error shows in /readyz."""
    ctx.ops.add_check(what, failing_check(f"{what}: connecting"))
    warn = RateLimitedLogger(ctx.log, interval_s=30.0)

    def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
        reason = redact_text(f"{type(exc).__name__}: {exc}")
        ctx.ops.add_check(what, failing_check(f"{what} unreachable: {reason}"))
        warn.warning("dependency unreachable, retrying", key=what, dependency=what,
                     attempt=attempt, error=reason)  # fmt: skip

    result = await retry_async(
        connect, retry_on=errors, attempts=None, timeout=None,
        backoff=Backoff(initial=0.2, maximum=10.0), on_retry=on_retry,
    )  # fmt: skip
    ctx.log.info("dependency connected", dependency=what)
    return result


async def _close_pool(pool: Any, timeout_s: float) -> None:
    """Close the pool gracefully; terminate its connections if that takes too long."""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        pool.terminate()
