"""RateLimiter against real Redis: exact under a two-client burst, sliding window, all or none."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio

from vigil_runtime.rate_limit import Limit, RateLimiter
from vigil_runtime.redis_client import open_redis


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def prefix() -> str:
    return f"vigil:test:rate:{uuid.uuid4().hex}"


async def test_burst_from_two_clients_allows_exactly_the_limit(
    redis_client: redis.asyncio.Redis, redis_url: str, prefix: str
) -> None:
    other = open_redis(redis_url)  # the services' client, beside the fixture's plain one
    try:
        limiters = [RateLimiter(redis_client, prefix), RateLimiter(other, prefix)]
        limits = [Limit("global:minute", 37, 60.0), Limit("camera:cam-1:minute", 50, 60.0)]
        decisions = await asyncio.gather(*(limiters[i % 2].acquire(limits) for i in range(200)))
    finally:
        await other.aclose()
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 37
    assert {d.blocked_by for d in decisions if not d.allowed} == {"global:minute"}
    assert await redis_client.zcard(f"{prefix}:global:minute") == 37
    assert await redis_client.zcard(f"{prefix}:camera:cam-1:minute") == 37


async def test_window_slides_and_retry_after_names_the_oldest_entry(
    redis_client: redis.asyncio.Redis, prefix: str
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(redis_client, prefix, clock=clock)
    limits = [Limit("global:minute", 2, 60.0)]
    assert (await limiter.acquire(limits)).allowed
    clock.now += 10
    assert (await limiter.acquire(limits)).allowed
    clock.now += 5
    refused = await limiter.acquire(limits)
    assert (refused.allowed, refused.blocked_by) == (False, "global:minute")
    assert refused.retry_after_s == pytest.approx(45.0)
    clock.now += 45  # the first entry leaves the window
    assert (await limiter.acquire(limits)).allowed
    again = await limiter.acquire(limits)
    assert not again.allowed
    assert again.retry_after_s == pytest.approx(10.0)  # the second entry, at +10, goes at +70
    assert 0 < await redis_client.pttl(f"{prefix}:global:minute") <= 61_000


async def test_all_or_none_across_scopes(redis_client: redis.asyncio.Redis, prefix: str) -> None:
    clock = FakeClock()
    limiter = RateLimiter(redis_client, prefix, clock=clock)
    camera = Limit("camera:cam-1:minute", 1, 60.0)
    glob = Limit("global:minute", 5, 60.0)
    assert (await limiter.acquire([glob, camera])).allowed
    refused = await limiter.acquire([glob, camera])
    assert refused.blocked_by == "camera:cam-1:minute"
    # the refusal recorded nothing in the global scope
    assert await redis_client.zcard(f"{prefix}:global:minute") == 1
    other_camera = Limit("camera:cam-2:minute", 1, 60.0)
    assert (await limiter.acquire([glob, other_camera])).allowed
    assert await redis_client.zcard(f"{prefix}:global:minute") == 2


async def test_cost_counts_several_and_zero_limit_allows_nothing(
    redis_client: redis.asyncio.Redis, prefix: str
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(redis_client, prefix, clock=clock)
    hour = Limit("global:hour", 5, 3600.0)
    assert (await limiter.acquire([hour], cost=3)).allowed
    refused = await limiter.acquire([hour], cost=3)
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(3600.0)
    assert (await limiter.acquire([hour], cost=2)).allowed
    assert await redis_client.zcard(f"{prefix}:global:hour") == 5
    never = await limiter.acquire([Limit("off", 0, 60.0)])
    assert (never.allowed, never.blocked_by, never.retry_after_s) == (False, "off", 60.0)
    assert (await limiter.acquire([])).allowed
