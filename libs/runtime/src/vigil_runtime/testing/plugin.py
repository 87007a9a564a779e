"""Pytest plugin: real PostgreSQL, Redis and MQTT servers for Vigil's tests.

Loaded through the ``pytest11`` entry point of vigil-runtime. One stack per test session
(``LocalStack`` in a temp folder, or testcontainers with ``VIGIL_TEST_STACK=containers``);
each test gets its own database cloned from a migrated template and its own Redis database
number, so tests never see each other's data. Nothing here mocks a server.

``service_logs``: a service's logging as in production (``configure_logging``: JSON lines on
stderr), set up inside the test so that pytest's capture receives them, and structlog's
defaults restored afterwards. Tests that read what was logged use it rather than relying on
whatever logging state earlier tests left (``structlog.testing.capture_logs`` misses loggers
an earlier test's configuration cached).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis
import redis.asyncio
import structlog

from vigil_runtime.logging import configure_logging
from vigil_runtime.redis_client import REDIS_ERRORS
from vigil_runtime.stack import LocalStack, StackInfo, watchdog
from vigil_runtime.stack.logins import Logins
from vigil_runtime.stack.procs import terminate
from vigil_runtime.testing import databases, hang_report
from vigil_runtime.testing.services import ServiceLauncher

STACK_ENV = "VIGIL_TEST_STACK"
REDIS_TEST_DBS = range(1, 16)  # database 0 stays for humans poking at the stack
CLOSE_TIMEOUT_S = 10.0


HANG_REPORT_SHARE = 0.8
"""Share of the test's pytest-timeout after which its asyncio tasks are printed."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Print a stuck test's asyncio tasks and threads before its timeout (hang_report)."""
    marker = item.get_closest_marker("timeout")
    timeout = float(marker.args[0]) if marker and marker.args else None
    if timeout is None:
        timeout = float(item.config.getini("timeout") or 0) if _has_timeout(item) else 0.0
    if timeout <= 0:
        yield
        return
    finished = hang_report.watch(item.nodeid, timeout * HANG_REPORT_SHARE)
    try:
        yield
    finally:
        finished.set()


def _has_timeout(item: pytest.Item) -> bool:
    return item.config.pluginmanager.hasplugin("timeout")


@pytest.fixture(scope="session")
def vigil_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackInfo]:
    """The session's servers; stopped and deleted at the end even when tests fail.

    A detached watchdog stops them too if this pytest process is killed outright.
    """
    mode = os.environ.get(STACK_ENV, "local")
    if mode == "containers":
        from vigil_runtime.testing.containers import container_stack

        with container_stack(tmp_path_factory.mktemp("vigil-containers")) as info:
            yield info
        return
    if mode != "local":
        raise pytest.UsageError(f"{STACK_ENV} must be 'local' or 'containers', not {mode!r}")
    data_dir = tmp_path_factory.mktemp("vigil-stack")
    stack = LocalStack(data_dir, durable=False)
    guard = watchdog.spawn(os.getpid(), data_dir, purge=True)
    try:
        yield stack.up()
    finally:
        try:
            stack.down(purge=True)
        finally:
            terminate(guard)


@pytest.fixture(scope="session")
def _template_logins(vigil_stack: StackInfo) -> Logins | None:
    return databases.build_template(vigil_stack.database_url)


@pytest.fixture(scope="session")
def migrated_template(_template_logins: Logins | None) -> str:
    """Name of the template database, migrated to head by the owner's login."""
    return databases.TEMPLATE_NAME


@pytest.fixture(scope="session")
def database_logins(_template_logins: Logins | None) -> Logins:
    """The stack's LOGIN roles: the owner's and one per role of ``vigil_schema.roles``."""
    if _template_logins is None:
        pytest.fail("vigil_migrations is not installed: no roles to log in as")
    return _template_logins


@pytest.fixture
def role_database_url(database_url: str, database_logins: Logins) -> Callable[[str], str]:
    """``role_database_url("vigil_ingest")``: this test's database as that role's login.

    ``database_url`` itself connects as the superuser: use it to arrange and check rows,
    and this to act as a service, the CLI or Grafana would.
    """
    return functools.partial(_url_as_role, database_logins, database_url)


def _url_as_role(logins: Logins, database_url: str, role: str) -> str:
    return logins.url(role, database_url)


@pytest.fixture
def database_url(vigil_stack: StackInfo, migrated_template: str) -> Iterator[str]:
    """URL of a fresh database cloned from the migrated template, dropped after the test."""
    name = databases.unique_name()
    url = databases.create_database(vigil_stack.database_url, name, template=migrated_template)
    try:
        yield url
    finally:
        databases.drop_database(vigil_stack.database_url, name)


@pytest.fixture
def empty_database_url(vigil_stack: StackInfo) -> Iterator[str]:
    """URL of a fresh, empty (unmigrated) database, dropped after the test."""
    name = databases.unique_name("empty")
    url = databases.create_database(vigil_stack.database_url, name)
    try:
        yield url
    finally:
        databases.drop_database(vigil_stack.database_url, name)


@pytest_asyncio.fixture
async def pg_pool(database_url: str) -> AsyncIterator[Any]:
    """An asyncpg pool (vigil_runtime.db.create_pool) on ``database_url``, closed after."""
    from vigil_runtime.db import create_pool

    pool = await create_pool(database_url, min_size=1, max_size=5)
    try:
        yield pool
    finally:
        try:
            await asyncio.wait_for(pool.close(), timeout=CLOSE_TIMEOUT_S)
        except (TimeoutError, OSError):
            pool.terminate()


@pytest_asyncio.fixture
async def pg_pool_as(
    role_database_url: Callable[[str], str],
) -> AsyncIterator[Callable[[str], Awaitable[Any]]]:
    """``pool = await pg_pool_as("vigil_ingest")``: an asyncpg pool on this test's database
    as that role's login (what the service's own code gets); closed after the test."""
    from vigil_runtime.db import create_pool

    pools: list[Any] = []

    async def open_pool(role: str) -> Any:
        pool = await create_pool(role_database_url(role), min_size=1, max_size=5)
        pools.append(pool)
        return pool

    try:
        yield open_pool
    finally:
        for pool in pools:
            try:
                await asyncio.wait_for(pool.close(), timeout=CLOSE_TIMEOUT_S)
            except (TimeoutError, OSError):
                pool.terminate()


@pytest.fixture(scope="session")
def _redis_db_numbers() -> Iterator[int]:
    return itertools.cycle(REDIS_TEST_DBS)


@pytest.fixture
def redis_url(vigil_stack: StackInfo, _redis_db_numbers: Iterator[int]) -> str:
    """URL of a Redis database number of this test's own, flushed before the test."""
    base = vigil_stack.redis_url.rsplit("/", 1)[0]
    url = f"{base}/{next(_redis_db_numbers)}"
    client = redis.Redis.from_url(url, socket_timeout=CLOSE_TIMEOUT_S)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@pytest_asyncio.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """``redis.asyncio.Redis`` on ``redis_url`` with bytes responses, closed after the test."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=False)
    try:
        yield client
    finally:
        with contextlib.suppress(*REDIS_ERRORS):
            await asyncio.wait_for(client.aclose(), timeout=CLOSE_TIMEOUT_S)


@pytest.fixture(scope="session")
def mqtt_url(vigil_stack: StackInfo) -> str:
    """The session broker, ``mqtt://127.0.0.1:PORT``."""
    return vigil_stack.mqtt_url


@pytest.fixture
def stack_env(database_url: str, redis_url: str, mqtt_url: str) -> dict[str, str]:
    """``VIGIL_*`` variables pointing a service subprocess at this test's databases.

    Use as ``subprocess.Popen(..., env={**os.environ, **stack_env})``.
    """
    return {
        "VIGIL_DATABASE_URL": database_url,
        "VIGIL_REDIS_URL": redis_url,
        "VIGIL_MQTT_URL": mqtt_url,
    }


@pytest.fixture
def run_service_process(
    stack_env: dict[str, str], role_database_url: Callable[[str], str], tmp_path: Path
) -> Iterator[ServiceLauncher]:
    """Run a service as a real subprocess against this test's stack.

    ``with run_service_process("ingest") as service:`` starts ``vigil-ingest`` on a free
    ``VIGIL_HTTP_PORT``, waits for /readyz 200, and on leaving the block sends SIGTERM and
    asserts exit code 0. ``service`` has ``port``, ``url``, ``get(path)``, ``readyz()``,
    ``heartbeat()``, ``wait_heartbeat(status)``, ``stop()``, ``stderr``. See
    ``vigil_runtime.testing.services`` for the options (``env``, ``command``, ``until``,
    ``expect_exit``). Children still running at teardown are killed. A Vigil service
    (a name of ``vigil_schema.roles.SERVICES``) connects as its own role's login.
    """
    launcher = ServiceLauncher(stack_env, tmp_path, database_url_as=role_database_url)
    try:
        yield launcher
    finally:
        launcher.kill_all()


@pytest.fixture
def service_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Production logging (JSON lines on stderr) for the test; read with ``readouterr().err``."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("INFO", "test")
    try:
        yield capsys
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)
