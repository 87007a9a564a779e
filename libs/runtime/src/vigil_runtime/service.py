"""The service runner: what every Vigil process does around its own work.

`run_service(name, settings, body)` configures logging, starts the ops server (/metrics,
/healthz, /readyz), turns SIGTERM/SIGINT into `ctx.stopping` (and /readyz 503 "draining"),
runs `body(ctx)`, gives it `settings.shutdown_grace_s` to return once stopping, then
cancels it. Exit status: 0 when the body returned (clean drain), 1 when it failed or had
to be cancelled, 2 when the process could not start.

`ctx.dependencies()` is what most bodies start with: it connects the asyncpg pool and the
Redis client with jittered backoff (a dependency that is down keeps /readyz at 503 with the
last error and is retried; it never crashes the process), registers their readiness
checks, and heartbeats `vigil:service:{name}:{instance}` so `vigil status` can list the
running services.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn, TypeVar

import asyncpg
import redis.asyncio as aioredis
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Info
from pydantic import ValidationError
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT
from structlog.typing import FilteringBoundLogger

from vigil_runtime.backoff import Backoff, retry_async
from vigil_runtime.db import create_pool
from vigil_runtime.logging import RateLimitedLogger, configure_logging, get_logger
from vigil_runtime.ops import OpsServer, failing_check, postgres_check, redis_check
from vigil_runtime.settings import VigilSettings, redact_text

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STARTUP",
    "SERVICE_KEY_PREFIX",
    "Dependencies",
    "ServiceContext",
    "ServiceStopping",
    "run_service",
    "serve",
    "service_key",
    "service_main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_STARTUP = 2

SERVICE_KEY_PREFIX = "vigil:service:"

T = TypeVar("T")
Body = Callable[["ServiceContext"], Coroutine[Any, Any, None]]

_PG_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
_REDIS_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, RedisError)


def service_key(name: str, instance: str) -> str:
    """Redis hash where a running service instance publishes its heartbeat."""
    return f"{SERVICE_KEY_PREFIX}{name}:{instance}"


class ServiceStopping(Exception):
    """Raised inside the body when a stop arrives before it could start working."""


@dataclass
class Dependencies:
    """The connections a service body works with."""

    pool: Any  # asyncpg.Pool (asyncpg ships no type information)
    redis: aioredis.Redis


@dataclass
class ServiceContext:
    """What a service body gets: its settings, the stop event, the ops server, a logger."""

    name: str
    settings: VigilSettings
    stopping: asyncio.Event
    ops: OpsServer
    log: FilteringBoundLogger
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    phase: str = "starting"
    """`starting` until `dependencies()` connected everything, then `running`."""
    beat_now: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the heartbeat should be refreshed early (the phase changed)."""

    def request_stop(self, reason: str) -> None:
        """Begin draining: /readyz turns 503 and `stopping` is set (idempotent)."""
        if not self.stopping.is_set():
            self.log.info("stopping", reason=reason)
            self.ops.set_draining()
            self.stopping.set()
            self.beat_now.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True (early) when a stop was requested."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as the event is set, and the caller would then never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.stopping.wait()
        return self.stopping.is_set()

    async def until_stopping(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable`, or cancel it and raise ServiceStopping when a stop comes first."""
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            await _cancel_and_wait(task)
            raise ServiceStopping
        return task.result()

    @contextlib.asynccontextmanager
    async def dependencies(self) -> AsyncIterator[Dependencies]:
        """Connect PostgreSQL and Redis (retrying), register their checks, heartbeat.

        The heartbeat starts as soon as Redis answers (state `starting` until PostgreSQL
        is connected too), so `vigil status` also lists a service that waits for its
        database. Raises ServiceStopping when a stop arrives before both are connected.
        """
        halt = asyncio.Event()
        pg = asyncio.create_task(self._connect_postgres())
        rd = asyncio.create_task(self._connect_redis_and_beat(halt))
        try:
            await self.until_stopping(asyncio.gather(pg, rd))
            self.phase = "running"
            self.beat_now.set()
            yield Dependencies(pool=pg.result(), redis=rd.result()[0])
        finally:
            await _cancel_and_wait(pg, rd)  # no-op for the ones that finished
            if _succeeded(rd):
                client, heartbeat = rd.result()
                await _stop_heartbeat(self, heartbeat, halt)
                await _forget_heartbeat(self, client)
                await client.aclose()
            if _succeeded(pg):
                await _close_pool(pg.result(), self.settings.shutdown_grace_s)

    async def _connect_redis_and_beat(
        self, halt: asyncio.Event
    ) -> tuple[aioredis.Redis, asyncio.Task[None]]:
        client = await self._connect_redis()
        return client, asyncio.create_task(_heartbeat(self, client, halt), name="heartbeat")

    async def _connect_postgres(self) -> Any:
        def connect() -> Awaitable[Any]:
            return create_pool(self.settings.database_url, application_name=f"vigil-{self.name}")

        pool = await self._connect("postgres", connect, _PG_ERRORS)
        self.ops.add_check("postgres", postgres_check(pool))
        return pool

    async def _connect_redis(self) -> aioredis.Redis:
        client = await self._connect("redis", self._open_redis, _REDIS_ERRORS)
        self.ops.add_check("redis", redis_check(client))
        return client

    async def _open_redis(self) -> aioredis.Redis:
        client = aioredis.Redis.from_url(
            self.settings.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0
        )
        try:
            await client.ping()
        except BaseException:
            await client.aclose()
            raise
        return client

    async def _connect(
        self,
        what: str,
        connect: Callable[[], Awaitable[T]],
        errors: tuple[type[BaseException], ...],
    ) -> T:
        """Retry `connect` with jittered backoff; its last error shows in /readyz."""
        self.ops.add_check(what, failing_check(f"{what}: connecting"))
        warn = RateLimitedLogger(self.log, interval_s=30.0)

        def on_retry(attempt: int, exc: BaseException, delay: float) -> None:
            reason = redact_text(f"{type(exc).__name__}: {exc}")
            self.ops.add_check(what, failing_check(f"{what} unreachable: {reason}"))
            warn.warning("dependency unreachable, retrying", key=what, dependency=what,
                         attempt=attempt, error=reason)  # fmt: skip

        result = await retry_async(
            connect, retry_on=errors, attempts=None, timeout=None,
            backoff=Backoff(initial=0.2, maximum=10.0), on_retry=on_retry,
        )  # fmt: skip
        self.log.info("dependency connected", dependency=what)
        return result


async def _cancel_and_wait(*tasks: asyncio.Future[Any]) -> None:
    """Cancel `tasks` and wait until they finish.

    `asyncio.wait` (unlike `await task` under `suppress(CancelledError)`) never swallows a
    cancellation aimed at the caller itself.
    """
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # mark retrieved: asyncio would log it as never retrieved


def _succeeded(task: asyncio.Task[Any]) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


async def _close_pool(pool: Any, timeout_s: float) -> None:
    """Close the pool gracefully; terminate its connections if that takes too long."""
    try:
        await asyncio.wait_for(pool.close(), timeout_s)
    except TimeoutError:
        pool.terminate()


# --- heartbeat ---------------------------------------------------------------------------


def _heartbeat_fields(ctx: ServiceContext) -> dict[FieldT, EncodableT]:
    return {
        "service": ctx.name,
        "instance": ctx.settings.instance,
        "status": "draining" if ctx.stopping.is_set() else ctx.phase,
        "started_at": ctx.started_at.isoformat(),
        "last_seen": datetime.now(UTC).isoformat(),
        "version": package_version(ctx.name),
        "host": socket.gethostname(),
        "http_port": str(ctx.ops.port),
    }


async def _heartbeat(ctx: ServiceContext, client: aioredis.Redis, halt: asyncio.Event) -> None:
    """Refresh the heartbeat hash every interval until `halt`; the TTL outlives 3 misses."""
    interval = ctx.settings.heartbeat_interval_s
    ttl_ms = int(interval * 3000) + 1000
    key = service_key(ctx.name, ctx.settings.instance)
    warn = RateLimitedLogger(ctx.log, interval_s=60.0)
    while not halt.is_set():
        ctx.beat_now.clear()
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=_heartbeat_fields(ctx))
                pipe.pexpire(key, ttl_ms)
                await pipe.execute()
        except _REDIS_ERRORS as exc:
            warn.warning("heartbeat failed", key="heartbeat", error=str(exc))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(interval):
                await ctx.beat_now.wait()


async def _stop_heartbeat(
    ctx: ServiceContext, task: asyncio.Task[None], halt: asyncio.Event
) -> None:
    """Ask the heartbeat loop to end, and cancel it if a Redis call holds it up.

    A flag, not only cancellation: redis-py can absorb a CancelledError that arrives
    while a pipeline finishes, and the loop would then sleep on.
    """
    halt.set()
    ctx.beat_now.set()
    await asyncio.wait({task}, timeout=1.0)
    if not task.done():
        await _cancel_and_wait(task)


async def _forget_heartbeat(ctx: ServiceContext, client: aioredis.Redis) -> None:
    with contextlib.suppress(*_REDIS_ERRORS):
        await client.delete(service_key(ctx.name, ctx.settings.instance))


# --- process metrics ---------------------------------------------------------------------


def package_version(service: str) -> str:
    """The installed version of `vigil-<service>` (or `unknown`)."""
    try:
        return version(f"vigil-{service}")
    except PackageNotFoundError:
        return "unknown"


def _register_process_metrics(ctx: ServiceContext, registry: CollectorRegistry) -> Gauge:
    prefix = "vigil_" + "".join(c if c.isalnum() else "_" for c in ctx.name)
    info = Info(f"{prefix}_build", "Build and instance of this service", registry=registry)
    info.info({"version": package_version(ctx.name), "instance": ctx.settings.instance})
    up = Gauge(f"{prefix}_up", "1 while the service runs, 0 once it drains", registry=registry)
    up.set(1)
    return up


# --- runner ------------------------------------------------------------------------------


def service_main(name: str, settings_cls: type[VigilSettings], body: Body) -> NoReturn:
    """Console-script entry point: load settings, run the service, exit with its code.

    Invalid settings end the process with status 2 and one readable line per problem
    (values are not echoed: they may be secrets).
    """
    try:
        settings = settings_cls()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            print(f"vigil-{name}: invalid setting {where}: {error['msg']}", file=sys.stderr)
        sys.exit(EXIT_STARTUP)
    sys.exit(run_service(name, settings, body))


def run_service(
    name: str, settings: VigilSettings, body: Body, *, registry: CollectorRegistry = REGISTRY
) -> int:
    """Run `body` as the service `name` until it returns or a signal drains it; exit code."""
    return asyncio.run(serve(name, settings, body, registry=registry))


async def serve(
    name: str, settings: VigilSettings, body: Body, *, registry: CollectorRegistry = REGISTRY
) -> int:
    """The async half of `run_service`, usable from a running loop (tests)."""
    configure_logging(settings.log_level, name)
    log = get_logger("vigil.service", instance=settings.instance)
    ops = OpsServer(settings.http_port, registry, host=settings.http_host)
    try:
        await ops.start()
    except OSError as exc:
        log.error("ops server could not bind", port=settings.http_port, error=str(exc))
        return EXIT_STARTUP
    ctx = ServiceContext(name=name, settings=settings, stopping=asyncio.Event(), ops=ops, log=log)
    up = _register_process_metrics(ctx, registry)
    log.info("service starting", http_port=ops.port, settings=settings.redacted())
    try:
        body_task = asyncio.create_task(body(ctx), name=f"{name}-body")
        with _signal_handlers(ctx, body_task):
            code = await _supervise(ctx, body_task)
    finally:
        up.set(0)
        ops.set_draining()
        await ops.stop()
    log.info("service stopped", exit_code=code)
    return code


async def _supervise(ctx: ServiceContext, body_task: asyncio.Task[None]) -> int:
    """Wait for the body; once stopping, give it the grace period, then cancel it."""
    stop = asyncio.create_task(ctx.stopping.wait())
    try:
        await asyncio.wait({body_task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if not body_task.done():
        grace = ctx.settings.shutdown_grace_s
        await asyncio.wait({body_task}, timeout=grace)
        if not body_task.done():
            ctx.log.error("body did not drain within the grace period", grace_s=grace)
            body_task.cancel()
    return await _outcome(ctx, body_task)


async def _outcome(ctx: ServiceContext, body_task: asyncio.Task[None]) -> int:
    try:
        await body_task
    except ServiceStopping:
        return EXIT_OK
    except asyncio.CancelledError:
        return EXIT_FAILED
    except Exception:
        ctx.log.exception("service body failed")
        return EXIT_FAILED
    return EXIT_OK


@contextlib.contextmanager
def _signal_handlers(ctx: ServiceContext, body_task: asyncio.Task[None]) -> Iterator[None]:
    """First SIGTERM/SIGINT drains; a second one cancels the body at once."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if ctx.stopping.is_set():
            ctx.log.warning("second signal: cancelling now", signal=signum.name)
            body_task.cancel()
        else:
            ctx.request_stop(signum.name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
