"""The operations HTTP server every service runs: /metrics, /healthz, /readyz.

- `/metrics`: Prometheus exposition of the registry (OpenMetrics when the scraper asks).
- `/healthz`: liveness. Answers 200 as long as the event loop runs; it checks nothing else,
  so a dependency outage never gets the process killed.
- `/readyz`: readiness. Runs every registered check concurrently, each bounded by a timeout;
  200 `{"status": "ready", "checks": {...}}` when all pass, 503 with the failing checks'
  error text otherwise, and 503 `{"status": "draining"}` once shutdown has begun so that
  load balancers stop routing before the process exits.

A check is an async callable that raises (or returns `False`) when its dependency is not
usable. `postgres_check` / `redis_check` build the standard ones; `failing_check` stands in
while a service is still connecting.

A service with an HTTP API of its own serves it on the same port: `add_routes` (before
`start`) adds aiohttp route definitions beside the three above, which stay as they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import asyncpg
from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from vigil_runtime.db import pg_ready

__all__ = [
    "CheckFn",
    "OpsServer",
    "failing_check",
    "postgres_check",
    "redis_check",
]

CheckFn = Callable[[], Awaitable[object]]
"""A readiness check: raises or returns False when not ready."""

DEFAULT_CHECK_TIMEOUT_S = 2.0


class OpsServer:
    """aiohttp server for metrics and probes; `port=0` binds a free port (see `.port`)."""

    def __init__(
        self,
        port: int = 0,
        registry: CollectorRegistry = REGISTRY,
        *,
        host: str = "0.0.0.0",  # probes and Prometheus reach the pod from outside
        check_timeout_s: float = DEFAULT_CHECK_TIMEOUT_S,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._registry = registry
        self._check_timeout_s = check_timeout_s
        self._checks: dict[str, CheckFn] = {}
        self._draining = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._extra_routes: list[web.AbstractRouteDef] = []

    @property
    def port(self) -> int:
        """The port actually bound (differs from the requested one when that was 0)."""
        if self._port is None:
            raise RuntimeError("OpsServer is not started")
        return self._port

    @property
    def draining(self) -> bool:
        return self._draining

    def add_check(self, name: str, check: CheckFn) -> None:
        """Register (or replace) the readiness check called `name`."""
        self._checks[name] = check

    def remove_check(self, name: str) -> None:
        self._checks.pop(name, None)

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Serve these routes too, on the same port (call before `start`).

        They must not take /metrics, /healthz or /readyz (aiohttp refuses the duplicate).
        """
        if self._runner is not None:
            raise RuntimeError("add_routes must be called before start")
        self._extra_routes.extend(routes)

    def set_draining(self) -> None:
        """From now on /readyz answers 503: the process is shutting down."""
        self._draining = True

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_routes(self._extra_routes)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = _bound_port(runner)

    async def stop(self) -> None:
        """Close the listening socket and open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def run_checks(self) -> dict[str, str | None]:
        """Run every check concurrently: name -> None when it passed, else the error text."""
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_check(self._checks[n]) for n in names))
        return dict(zip(names, results, strict=True))

    async def _run_check(self, check: CheckFn) -> str | None:
        try:
            result = await asyncio.wait_for(check(), self._check_timeout_s)
        except TimeoutError:
            return f"timed out after {self._check_timeout_s:g}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return "check returned false" if result is False else None

    async def _metrics(self, request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = await asyncio.to_thread(encoder, self._registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        if self._draining:
            return web.json_response({"status": "draining", "checks": {}}, status=503)
        results = await self.run_checks()
        checks = {name: "ok" if error is None else error for name, error in results.items()}
        failing = sorted(name for name, error in results.items() if error is not None)
        if failing:
            body: dict[str, Any] = {"status": "not ready", "failing": failing, "checks": checks}
            return web.json_response(body, status=503)
        return web.json_response({"status": "ready", "checks": checks})


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("ops server bound no TCP address")


class _Pinger(Protocol):
    def ping(self) -> Any: ...


def postgres_check(pool: asyncpg.Pool) -> CheckFn:
    """Readiness check: `SELECT 1` through the service's asyncpg pool."""

    async def check() -> None:
        await pg_ready(pool, timeout=DEFAULT_CHECK_TIMEOUT_S)

    return check


def redis_check(client: _Pinger) -> CheckFn:
    """Readiness check: `PING` through the service's Redis client."""

    async def check() -> None:
        await client.ping()

    return check


def failing_check(reason: str) -> CheckFn:
    """Readiness check that always fails with `reason`: stands in for a dependency that
    is still being connected, until the real check replaces it."""

    async def check() -> None:
        raise ConnectionError(reason)

    return check
