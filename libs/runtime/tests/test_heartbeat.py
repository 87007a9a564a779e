"""Heartbeat against real Redis: the hash follows the service's status at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio
import redis.asyncio
from prometheus_client import CollectorRegistry

from vigil_runtime.context import ServiceContext
from vigil_runtime.heartbeat import Heartbeat
from vigil_runtime.logging import get_logger
from vigil_runtime.ops import OpsServer
from vigil_runtime.settings import VigilSettings
from vigil_schema.streams import service_key


@pytest_asyncio.fixture
async def ctx() -> AsyncIterator[ServiceContext]:
    ops = OpsServer(0, CollectorRegistry(), host="127.0.0.1")
    await ops.start()
    settings = VigilSettings(heartbeat_interval_s=60)  # only status changes beat early
    try:
        yield ServiceContext("probe", settings, asyncio.Event(), ops, get_logger("test"))
    finally:
        await ops.stop()


async def _status_becomes(client: redis.asyncio.Redis, key: str, status: str) -> None:
    for _ in range(100):
        if await client.hget(key, "status") == status.encode():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"heartbeat status never became {status!r}")


async def test_a_status_change_is_beaten_at_once_and_close_deletes_the_hash(
    ctx: ServiceContext, redis_client: redis.asyncio.Redis
) -> None:
    key = service_key(ctx.name, ctx.settings.instance)
    heartbeat = Heartbeat.start(ctx, redis_client)
    try:
        await _status_becomes(redis_client, key, "starting")
        ctx.mark_running()
        await _status_becomes(redis_client, key, "running")
        ctx.request_stop("test")
        await _status_becomes(redis_client, key, "draining")
    finally:
        await heartbeat.close()
    assert not await redis_client.exists(key)
