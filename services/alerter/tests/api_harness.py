"""The alerter's HTTP API served for tests: real PostgreSQL, the real ops server.

:func:`serve_api` builds the API as the service does (``ApiDeps`` -> ``api_routes`` ->
``OpsServer.add_routes``) on a free port: the ``vigil_alerter`` role's pool, a
``ConfigHolder`` over a configuration file, the real ``Intake``, a :class:`ManualClock`.
:class:`ThreadedApi` runs the same in a thread with its own event loop, for synchronous
clients (schemathesis, amtool in a subprocess).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from vigil_alerter.api import ApiDeps, api_routes, config_text
from vigil_alerter.clock import Clock, ManualClock
from vigil_alerter.config.holder import ConfigHolder
from vigil_alerter.engine.intake import Intake
from vigil_runtime.db import create_pool
from vigil_runtime.ops import OpsServer

TOKEN = "test-token-0123456789"
START = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)
CONFIG_YAML = """\
route:
  receiver: ops
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['team="db"']
      receiver: db
    - matchers: ['team="night"']
      receiver: ops
      mute_time_intervals: [weekdays]
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
time_intervals:
  - name: weekdays
    time_intervals:
      - weekdays: ['monday:friday']
receivers:
  - name: ops
    log_configs: [{}]
  - name: db
    log_configs: [{}]
"""


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServedApi:
    """A running API: its base URL, its manual clock (unused on the wall clock), its pool."""

    url: str
    clock: ManualClock
    pool: asyncpg.Pool
    config_path: Path


@contextlib.asynccontextmanager
async def serve_api(
    alerter_url: str,
    audit_pool: asyncpg.Pool | None,
    config_dir: Path,
    *,
    token: str | None = TOKEN,
    start: datetime | None = START,
) -> AsyncIterator[ServedApi]:
    """Serve the API on 127.0.0.1 with a free port until the block ends; its clock is a
    :class:`ManualClock` at ``start``, or the wall clock when ``start`` is None."""
    config_path = config_dir / "alerter.yml"
    config_path.write_text(CONFIG_YAML)
    manual = ManualClock(start or datetime.now(UTC))
    clock: Clock = manual if start is not None else _wall_clock
    pool = await create_pool(alerter_url, min_size=1, max_size=5)
    try:
        holder = ConfigHolder(config_path, clock)
        deps = ApiDeps(
            pool=pool,
            holder=holder,
            clock=clock,
            intake=Intake(pool, holder, clock),
            api_token=SecretStr(token) if token is not None else None,
            started_at=manual(),
            config_text=config_text(config_path),
            audit_pool=audit_pool,
        )
        server = OpsServer(0, CollectorRegistry(), host="127.0.0.1")
        server.add_routes(api_routes(deps))
        await server.start()
        try:
            yield ServedApi(f"http://127.0.0.1:{server.port}", manual, pool, config_path)
        finally:
            await server.stop()
    finally:
        await pool.close()


class ThreadedApi:
    """:func:`serve_api` in a thread of its own (``with ThreadedApi(...) as api:``)."""

    def __init__(
        self, alerter_url: str, audit_url: str, config_dir: Path, start: datetime | None = START
    ) -> None:
        self._args = (alerter_url, audit_url, config_dir)
        self._start = start
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="api-under-test", daemon=True)
        self._error: BaseException | None = None
        self.api: ServedApi | None = None

    def __enter__(self) -> ServedApi:
        self._thread.start()
        if not self._ready.wait(60) or self.api is None:
            raise RuntimeError(f"the API did not start: {self._error!r}")
        return self.api

    def __exit__(self, *_exc: Any) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the API's loop (e.g. to move its clock or read its tables)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        alerter_url, audit_url, config_dir = self._args
        self._stop = asyncio.Event()
        audit_pool = await create_pool(audit_url, min_size=1, max_size=2)
        try:
            async with serve_api(alerter_url, audit_pool, config_dir, start=self._start) as api:
                self.api = api
                self._ready.set()
                await self._stop.wait()
        finally:
            await audit_pool.close()


@contextlib.contextmanager
def threaded_api(
    alerter_url: str, audit_url: str, config_dir: Path, start: datetime | None = START
) -> Iterator[ThreadedApi]:
    """A started :class:`ThreadedApi`, stopped at the end of the block."""
    served = ThreadedApi(alerter_url, audit_url, config_dir, start)
    with served:
        yield served


async def call(
    method: str,
    url: str,
    *,
    json: Any = None,
    token: str | None = None,
    params: Any = None,
) -> tuple[int, Any]:
    """One request: the status and the body (JSON when it is JSON, else text)."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, json=json, headers=headers, params=params) as resp,
    ):
        if resp.content_type == "application/json":
            return resp.status, await resp.json()
        return resp.status, await resp.text()
