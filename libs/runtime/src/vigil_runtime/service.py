"""The service runner: what every Vigil process does around its own work.

`run_service(name, settings, body)` configures logging, starts the ops server (/metrics,
/healthz, /readyz), turns SIGTERM/SIGINT into `ctx.stopping` (and /readyz 503 "draining"),
runs `body(ctx)`, gives it `settings.shutdown_grace_s` to return once stopping, then
cancels it. Exit status: 0 when the body returned (clean drain), 1 when it failed or had
to be cancelled, 2 when the process could not start.

`ctx.dependencies()` is what most bodies start with (`vigil_runtime.dependencies`): it
connects the asyncpg pool and the Redis client with jittered backoff, registers their
readiness checks, and heartbeats `vigil:service:{name}:{instance}`
(`vigil_runtime.heartbeat`) so `vigil status` can list the running services. The context
itself lives in `vigil_runtime.context`; its public names are re-exported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator
from typing import Any, NoReturn

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Gauge, Info
from pydantic import ValidationError

from vigil_runtime.context import ServiceContext, ServiceStopping
from vigil_runtime.dependencies import Dependencies
from vigil_runtime.gc_tuning import tune_gc
from vigil_runtime.heartbeat import package_version
from vigil_runtime.logging import configure_logging, get_logger
from vigil_runtime.ops import OpsServer
from vigil_runtime.settings import VigilSettings
from vigil_runtime.tasks import wait_task_or_event
from vigil_schema.streams import SERVICE_KEY_PREFIX, service_key

__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_STARTUP",
    "SERVICE_KEY_PREFIX",
    "Body",
    "Dependencies",
    "ServiceContext",
    "ServiceStopping",
    "package_version",
    "run_service",
    "serve",
    "service_key",
    "service_main",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_STARTUP = 2

Body = Callable[[ServiceContext], Coroutine[Any, Any, None]]


# --- process metrics ---------------------------------------------------------------------


def _register_process_metrics(ctx: ServiceContext, registry: CollectorRegistry) -> Gauge:
    prefix = "vigil_" + "".join(c if c.isalnum() else "_" for c in ctx.name)
    info = Info(f"{prefix}_build", "Build and instance of this service", registry=registry)
    info.info({"version": package_version(ctx.name), "instance": ctx.settings.instance})
    up = Gauge(f"{prefix}_up", "1 while the service runs, 0 once it drains", registry=registry)
    up.set(1)
    return up


# --- runner ------------------------------------------------------------------------------


def service_main(
    name: str,
    settings_cls: type[VigilSettings],
    body: Body,
    *,
    routes: Iterable[web.RouteDef] = (),
) -> NoReturn:
    """Console-script entry point: load settings, run the service, exit with its code.

    Invalid settings end the process with status 2 and one readable line per problem
    (values are not echoed: they may be secrets). ``routes``: the service's own HTTP
    endpoints, served on the ops port beside /metrics (handlers that need the body's
    connections answer 503 until the body has bound them).
    """
    try:
        settings = settings_cls()
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            print(f"vigil-{name}: invalid setting {where}: {error['msg']}", file=sys.stderr)
        sys.exit(EXIT_STARTUP)
    tune_gc(settings.gc_gen0_threshold)  # process-wide: here, not in `serve` (tests run it)
    sys.exit(run_service(name, settings, body, routes=routes))


def run_service(
    name: str,
    settings: VigilSettings,
    body: Body,
    *,
    registry: CollectorRegistry = REGISTRY,
    routes: Iterable[web.RouteDef] = (),
) -> int:
    """Run `body` as the service `name` until it returns or a signal drains it; exit code."""
    return asyncio.run(serve(name, settings, body, registry=registry, routes=routes))


async def serve(
    name: str,
    settings: VigilSettings,
    body: Body,
    *,
    registry: CollectorRegistry = REGISTRY,
    routes: Iterable[web.RouteDef] = (),
) -> int:
    """The async half of `run_service`, usable from a running loop (tests)."""
    configure_logging(settings.log_level, name)
    log = get_logger("vigil.service", instance=settings.instance)
    ops = OpsServer(settings.http_port, registry, host=settings.http_host)
    ops.add_routes(routes)
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
    if not await wait_task_or_event(body_task, ctx.stopping):
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
