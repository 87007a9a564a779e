"""Fixtures of the delivery and receiver tests (``pytest_plugins`` in those modules).

- ``delivery_clock``: a :class:`~vigil_alerter.clock.ManualClock` (2026-01-06 12:00 UTC).
- ``delivery_pool``: an asyncpg pool as the ``vigil_alerter`` role (what the dispatcher gets).
- ``outbox``: an :class:`~.delivery_helpers.Outbox` on the admin ``pg_pool``.
- ``webhook_server``: a started :class:`~.delivery_helpers.WebhookServer`; the HMAC secret
  is in ``DELIVERY_TEST_HMAC``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from vigil_alerter.clock import ManualClock

from .delivery_helpers import HMAC_SECRET, Outbox, WebhookServer


@pytest.fixture
def delivery_clock() -> ManualClock:
    return ManualClock()


@pytest_asyncio.fixture
async def delivery_pool(pg_pool_as: Callable[[str], Awaitable[Any]]) -> Any:
    return await pg_pool_as("vigil_alerter")


@pytest_asyncio.fixture
async def webhook_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[WebhookServer]:
    monkeypatch.setenv("DELIVERY_TEST_HMAC", HMAC_SECRET)
    server = WebhookServer()
    app = web.Application()
    app.router.add_post("/{path}", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        for event in server.hold.values():
            event.set()
        await runner.cleanup()


@pytest_asyncio.fixture
async def outbox(pg_pool: Any, delivery_clock: ManualClock) -> Outbox:
    return Outbox(pg_pool, delivery_clock)
