"""run_service / serve: exit codes, draining, grace period, dependencies and heartbeat."""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis
import structlog
from prometheus_client import CollectorRegistry

from vigil_runtime import service
from vigil_runtime.service import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_STARTUP,
    ServiceContext,
    serve,
    service_key,
)
from vigil_runtime.settings import VigilSettings
from vigil_runtime.testing import services
from vigil_runtime.testing.services import ServiceLauncher
from vigil_schema import streams


@pytest.fixture(autouse=True)
def reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _settings(**overrides: Any) -> VigilSettings:
    values: dict[str, Any] = {
        "http_host": "127.0.0.1",
        "http_port": 0,
        "shutdown_grace_s": 5.0,
        "heartbeat_interval_s": 0.2,
        "database_url": f"postgresql://postgres@127.0.0.1:{_closed_port()}/none",
        "redis_url": f"redis://127.0.0.1:{_closed_port()}/0",
    }
    return VigilSettings(**{**values, **overrides})


async def _get(port: int, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        return resp.status, await resp.json()


async def _run(settings: VigilSettings, body: Callable[[ServiceContext], Awaitable[None]]) -> int:
    async def wrapped(ctx: ServiceContext) -> None:
        await body(ctx)

    return await serve("probe", settings, wrapped, registry=CollectorRegistry())


async def test_body_that_returns_exits_zero() -> None:
    async def body(ctx: ServiceContext) -> None:
        assert (await _get(ctx.ops.port, "/healthz"))[0] == 200

    assert await _run(_settings(), body) == EXIT_OK


async def test_body_that_raises_exits_one() -> None:
    async def body(ctx: ServiceContext) -> None:
        raise RuntimeError("boom")

    assert await _run(_settings(), body) == EXIT_FAILED


async def test_readyz_is_draining_once_stop_is_requested() -> None:
    seen: list[tuple[int, Any]] = []

    async def body(ctx: ServiceContext) -> None:
        ctx.request_stop("test")
        seen.append(await _get(ctx.ops.port, "/readyz"))

    assert await _run(_settings(), body) == EXIT_OK
    assert seen == [(503, {"status": "draining", "checks": {}})]


async def test_body_ignoring_stop_is_cancelled_after_the_grace_period() -> None:
    async def body(ctx: ServiceContext) -> None:
        ctx.request_stop("test")
        await asyncio.sleep(60)

    started = time.monotonic()
    assert await _run(_settings(shutdown_grace_s=0.3), body) == EXIT_FAILED
    assert time.monotonic() - started < 3


async def test_port_in_use_is_a_startup_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]

        async def body(ctx: ServiceContext) -> None:
            raise AssertionError("must not run")

        assert await _run(_settings(http_port=port), body) == EXIT_STARTUP


async def test_dependencies_connect_register_checks_and_heartbeat(
    database_url: str, redis_url: str, redis_client: Any
) -> None:
    settings = _settings(database_url=database_url, redis_url=redis_url)
    key = service_key("probe", settings.instance)
    observed: dict[str, Any] = {}

    async def body(ctx: ServiceContext) -> None:
        async with ctx.dependencies() as deps:
            assert await deps.pool.fetchval("SELECT 41 + 1") == 42
            observed["readyz"] = await _get(ctx.ops.port, "/readyz")
            for _ in range(50):
                observed["beat"] = await redis_client.hgetall(key)
                if observed["beat"]:
                    break
                await asyncio.sleep(0.05)
            observed["ttl"] = await redis_client.pttl(key)
            observed["port"] = ctx.ops.port

    assert await _run(settings, body) == EXIT_OK
    assert observed["readyz"] == (
        200,
        {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}},
    )
    beat = {k.decode(): v.decode() for k, v in observed["beat"].items()}
    assert beat["service"] == "probe"
    assert beat["status"] == "running"
    assert beat["http_port"] == str(observed["port"])
    assert {"started_at", "last_seen", "version", "host", "instance"} <= beat.keys()
    assert 0 < observed["ttl"] <= 1600
    assert await redis_client.exists(key) == 0  # removed on the way out


async def test_unreachable_dependency_keeps_readyz_503_and_stop_still_exits_zero(
    redis_url: str,
) -> None:
    settings = _settings(redis_url=redis_url)  # PostgreSQL on a closed port
    observed: list[tuple[int, Any]] = []

    async def watch(ctx: ServiceContext) -> None:
        for _ in range(100):
            status, body = await _get(ctx.ops.port, "/readyz")
            checks = body["checks"]
            if checks.get("redis") == "ok" and "unreachable" in checks.get("postgres", ""):
                observed.append((status, body))
                break
            await asyncio.sleep(0.05)
        ctx.request_stop("test")

    async def body(ctx: ServiceContext) -> None:
        watcher = asyncio.create_task(watch(ctx))
        try:
            async with ctx.dependencies():
                raise AssertionError("PostgreSQL cannot be reached")
        finally:
            await watcher

    assert await _run(settings, body) == EXIT_OK
    ((status, readyz),) = observed
    assert status == 503
    assert readyz["failing"] == ["postgres"]
    assert "ConnectionRefusedError" in readyz["checks"]["postgres"]


PROBE_SERVICE = textwrap.dedent(
    """
    import asyncio
    from vigil_runtime.service import service_main
    from vigil_runtime.settings import VigilSettings

    async def body(ctx):
        async with ctx.dependencies():
            await ctx.stopping.wait()
            await asyncio.sleep(0.5)  # drain work: readyz must say draining meanwhile

    service_main("probe", VigilSettings, body)
    """
)


def test_subprocess_drains_on_sigterm(
    tmp_path: Path, run_service_process: ServiceLauncher, redis_url: str
) -> None:
    script = tmp_path / "probe_service.py"
    script.write_text(PROBE_SERVICE)
    command = [sys.executable, str(script)]
    env = {"VIGIL_SHUTDOWN_GRACE_S": "5"}
    with run_service_process("probe", command=command, env=env) as probe:
        assert probe.wait_heartbeat("running")["http_port"] == str(probe.port)
        assert probe.readyz()[0] == 200
        probe.terminate()
        status, body = probe.readyz()
        assert (status, body["status"]) == (503, "draining")
        assert probe.wait(timeout_s=5) == 0
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match="vigil:service:*")) == []
    finally:
        client.close()
    assert '"event": "stopping"' in probe.stderr
    assert '"exit_code": 0' in probe.stderr


def test_heartbeat_key_is_the_schema_key_builder() -> None:
    assert service.service_key is streams.service_key
    assert service.SERVICE_KEY_PREFIX == streams.SERVICE_KEY_PREFIX == "vigil:service:"
    assert streams.service_key("ingest", "host-7") == "vigil:service:ingest:host-7"


def test_service_process_that_exits_early_fails_with_its_stderr(
    run_service_process: ServiceLauncher,
) -> None:
    command = [sys.executable, "-c", "import sys; sys.stderr.write('no config'); sys.exit(3)"]
    with (
        pytest.raises(AssertionError, match=r"(?s)exited with 3 before ready.*no config"),
        run_service_process("broken", command=command),
    ):
        pass


def test_service_process_retries_on_a_fresh_port_when_its_port_is_taken(
    tmp_path: Path, run_service_process: ServiceLauncher, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "probe_service.py"
    script.write_text(PROBE_SERVICE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = iter([taken.getsockname()[1], _closed_port()])
        monkeypatch.setattr(services, "free_port", lambda: next(ports))
        with run_service_process("probe", command=[sys.executable, str(script)]) as probe:
            assert probe.port != taken.getsockname()[1]
            assert probe.readyz()[0] == 200
