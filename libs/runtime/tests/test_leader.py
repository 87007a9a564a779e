"""LeaderLock against real Redis: two contenders, renewal, expiry takeover, release."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.leader import LeaderLock


@pytest.fixture
def key() -> str:
    return f"vigil:test:leader:{uuid.uuid4().hex}"


def _leader(name: str) -> float | None:
    return REGISTRY.get_sample_value("vigil_runtime_leader", {"lock": name})


def _changes(name: str, change: str) -> float:
    labels = {"lock": name, "change": change}
    return REGISTRY.get_sample_value("vigil_runtime_leader_changes_total", labels) or 0.0


async def test_one_of_two_contenders_holds_it_until_released(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first = LeaderLock(redis_client, key, "replica-1", ttl_s=30, name=f"{key}-1")
    second = LeaderLock(redis_client, key, "replica-2", ttl_s=30, name=f"{key}-2")
    assert await first.hold()
    assert not await second.hold()
    assert await first.hold()  # renewed, still its own
    assert not await second.hold()
    assert (first.held, second.held) == (True, False)
    assert (_leader(first.name), _leader(second.name)) == (1.0, 0.0)
    assert await redis_client.get(key) == first.token.encode()
    await first.release()
    assert not await redis_client.exists(key)
    assert _leader(first.name) == 0.0
    assert _changes(first.name, "released") == 1.0
    assert await second.hold()
    assert _changes(second.name, "taken") == 1.0


async def test_renewal_extends_only_the_holders_lease(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first = LeaderLock(redis_client, key, "replica-1", ttl_s=30, name=f"{key}-1")
    second = LeaderLock(redis_client, key, "replica-2", ttl_s=30, name=f"{key}-2")
    assert await first.hold()
    await redis_client.pexpire(key, 2_000)
    assert not await second.hold()
    assert await redis_client.pttl(key) <= 2_000  # a contender does not extend it
    assert await first.hold()
    assert await redis_client.pttl(key) > 2_000  # the holder does


async def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it_lost(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first = LeaderLock(redis_client, key, "replica-1", ttl_s=0.2, name=f"{key}-1")
    second = LeaderLock(redis_client, key, "replica-2", ttl_s=30, name=f"{key}-2")
    assert await first.hold()
    for _ in range(200):  # first stops renewing (e.g. it stalled): the key expires
        if not await redis_client.exists(key):
            break
        await asyncio.sleep(0.05)
    assert await second.hold()
    assert not await first.hold()
    assert _changes(first.name, "lost") == 1.0
    assert _leader(first.name) == 0.0
    await first.release()  # no longer its lock: must not delete the successor's
    assert await redis_client.get(key) == second.token.encode()


async def test_a_redis_error_counts_as_not_held(key: str) -> None:
    client = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    lock = LeaderLock(client, key, "replica-1", ttl_s=30)
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            await lock.hold()
        assert not lock.held
        assert _leader(lock.name) == 0.0
    finally:
        await client.aclose()
