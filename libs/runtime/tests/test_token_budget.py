"""TokenBudget against real Redis: exact under concurrent reserves, settle/release, days."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.token_budget import Reservation, TokenBudget


class FakeClock:
    """A wall clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def prefix() -> str:
    return f"vigil:test:budget:{uuid.uuid4().hex}"


def _gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value("vigil_token_budget_remaining", {"name": name})


async def test_concurrent_reserves_from_two_clients_never_overspend(
    redis_client: redis.asyncio.Redis, redis_url: str, prefix: str
) -> None:
    other = redis.asyncio.Redis.from_url(redis_url)
    try:
        budgets = [TokenBudget(client, prefix, 10_000) for client in (redis_client, other)]
        held = await asyncio.gather(*(budgets[i % 2].reserve(700) for i in range(100)))
    finally:
        await other.aclose()
    granted = [r for r in held if r is not None]
    assert len(granted) == 14  # 14 * 700 = 9800; a 15th would be 10500
    assert await budgets[0].spent() == 9800
    assert await budgets[0].remaining() == 200
    assert _gauge(prefix) == 200


async def test_settle_and_release_arithmetic(
    redis_client: redis.asyncio.Redis, prefix: str
) -> None:
    budget = TokenBudget(redis_client, prefix, 1000, name=f"{prefix}-n")
    first = await budget.reserve(400)
    second = await budget.reserve(500)
    assert first is not None
    assert second is not None
    assert await budget.reserve(200) is None  # 900 + 200 > 1000
    assert await budget.spent() == 900
    await budget.settle(first, 150)
    assert await budget.spent() == 650
    await budget.release(second)
    assert await budget.spent() == 150
    third = await budget.reserve(100)
    assert third is not None
    await budget.settle(third, 1200)  # the API used more than reserved: spent anyway
    assert await budget.spent() == 1350  # 150 + 1200
    assert await budget.remaining() == 0
    assert _gauge(f"{prefix}-n") == 0
    assert await budget.reserve(1) is None
    await budget.settle(Reservation(key=budget.key(), tokens=5000), 0)
    assert await budget.spent() == 0  # never below 0
    ttl = await redis_client.ttl(budget.key())
    assert 86_400 < ttl <= 2 * 86_400


async def test_a_new_utc_day_has_a_new_budget_and_old_reservations_settle_on_their_day(
    redis_client: redis.asyncio.Redis, prefix: str
) -> None:
    clock = FakeClock()
    budget = TokenBudget(redis_client, prefix, 1000, clock=clock)
    late = await budget.reserve(900)
    assert late is not None
    assert late.key == f"{prefix}:2026-12-01"
    assert await budget.reserve(200) is None
    clock.now += timedelta(minutes=1)  # 2026-12-02 00:00:30
    assert await budget.spent() == 0
    early = await budget.reserve(1000)
    assert early is not None
    assert early.key == f"{prefix}:2026-12-02"
    await budget.settle(late, 300)
    assert int(await redis_client.get(late.key) or 0) == 300
    assert await budget.spent() == 1000
    assert _gauge(prefix) == 0
