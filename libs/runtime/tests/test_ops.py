"""OpsServer: /metrics, /healthz, /readyz against a real HTTP client and real servers."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter

from vigil_runtime.ops import OpsServer, failing_check, postgres_check, redis_check


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest_asyncio.fixture
async def ops(registry: CollectorRegistry) -> AsyncIterator[OpsServer]:
    server = OpsServer(0, registry, host="127.0.0.1", check_timeout_s=0.5)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def _get(ops: OpsServer, path: str, **headers: str) -> tuple[int, str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{ops.port}{path}", headers=headers) as resp,
    ):
        body = await (resp.json() if resp.content_type == "application/json" else resp.text())
        return resp.status, resp.headers["Content-Type"], body


async def test_port_zero_binds_a_free_port(ops: OpsServer) -> None:
    assert ops.port > 0
    status, _, body = await _get(ops, "/healthz")
    assert (status, body) == (200, {"status": "alive"})


async def test_metrics_exposes_the_registry(ops: OpsServer, registry: CollectorRegistry) -> None:
    Counter("vigil_test_rows_total", "rows", registry=registry).inc(3)
    status, content_type, body = await _get(ops, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    assert "vigil_test_rows_total 3.0" in body


async def test_metrics_speaks_openmetrics_when_asked(
    ops: OpsServer, registry: CollectorRegistry
) -> None:
    Counter("vigil_test_events_total", "events", registry=registry).inc()
    status, content_type, body = await _get(
        ops, "/metrics", Accept="application/openmetrics-text; version=1.0.0"
    )
    assert status == 200
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith("# EOF")


async def test_readyz_without_checks_is_ready(ops: OpsServer) -> None:
    assert await _get(ops, "/readyz") == (
        200,
        "application/json; charset=utf-8",
        {"status": "ready", "checks": {}},
    )


async def test_readyz_names_the_failing_check_then_recovers(ops: OpsServer) -> None:
    healthy = False

    async def flaky() -> None:
        if not healthy:
            raise ConnectionError("connection refused")

    async def fine() -> bool:
        return True

    ops.add_check("postgres", flaky)
    ops.add_check("redis", fine)
    status, _, body = await _get(ops, "/readyz")
    assert status == 503
    assert body["failing"] == ["postgres"]
    assert body["checks"] == {
        "postgres": "ConnectionError: connection refused",
        "redis": "ok",
    }
    healthy = True
    status, _, body = await _get(ops, "/readyz")
    assert (status, body["status"], body["checks"]["postgres"]) == (200, "ready", "ok")


async def test_readyz_times_out_slow_checks_and_runs_them_concurrently(ops: OpsServer) -> None:
    async def hangs() -> None:
        await asyncio.sleep(30)

    ops.add_check("a", hangs)
    ops.add_check("b", hangs)
    ops.add_check("c", failing_check("still connecting"))
    started = time.monotonic()
    status, _, body = await _get(ops, "/readyz")
    assert time.monotonic() - started < 1.4  # two 0.5 s timeouts, run side by side
    assert status == 503
    assert body["failing"] == ["a", "b", "c"]
    assert body["checks"]["a"] == "timed out after 0.5s"
    assert body["checks"]["c"] == "ConnectionError: still connecting"


async def test_readyz_false_result_fails(ops: OpsServer) -> None:
    async def says_no() -> bool:
        return False

    ops.add_check("disk", says_no)
    status, _, body = await _get(ops, "/readyz")
    assert (status, body["checks"]["disk"]) == (503, "check returned false")


async def test_draining_makes_readyz_503_but_healthz_stays_200(ops: OpsServer) -> None:
    ops.set_draining()
    status, _, body = await _get(ops, "/readyz")
    assert (status, body["status"]) == (503, "draining")
    assert (await _get(ops, "/healthz"))[0] == 200


async def test_added_routes_are_served_beside_the_probes(registry: CollectorRegistry) -> None:
    async def hello(_request: web.Request) -> web.Response:
        return web.json_response({"hello": "api"})

    server = OpsServer(0, registry, host="127.0.0.1")
    server.add_routes([web.get("/api/hello", hello)])
    await server.start()
    try:
        assert (await _get(server, "/api/hello"))[::2] == (200, {"hello": "api"})
        assert (await _get(server, "/healthz"))[::2] == (200, {"status": "alive"})
        assert (await _get(server, "/readyz"))[0] == 200
        with pytest.raises(RuntimeError, match="before start"):
            server.add_routes([web.get("/late", hello)])
    finally:
        await server.stop()


async def test_stop_closes_the_port(registry: CollectorRegistry) -> None:
    server = OpsServer(0, registry, host="127.0.0.1")
    await server.start()
    port = server.port
    await server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


async def test_start_fails_when_the_port_is_taken(ops: OpsServer) -> None:
    other = OpsServer(ops.port, CollectorRegistry(), host="127.0.0.1")
    with pytest.raises(OSError):
        await other.start()


async def test_standard_checks_against_real_servers(
    ops: OpsServer, pg_pool: Any, redis_client: aioredis.Redis
) -> None:
    ops.add_check("postgres", postgres_check(pg_pool))
    ops.add_check("redis", redis_check(redis_client))
    status, _, body = await _get(ops, "/readyz")
    assert (status, body["checks"]) == (200, {"postgres": "ok", "redis": "ok"})


async def test_redis_check_fails_when_redis_is_unreachable(ops: OpsServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = aioredis.Redis(host="127.0.0.1", port=closed_port, socket_connect_timeout=0.2)
    try:
        ops.add_check("redis", redis_check(client))
        status, _, body = await _get(ops, "/readyz")
    finally:
        await client.aclose()
    assert status == 503
    assert body["failing"] == ["redis"]
    assert body["checks"]["redis"] != "ok"
