"""LeaderLock against real Redis: two contenders, renewal, expiry takeover, release."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio
from prometheus_client import REGISTRY
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vigil_runtime.leader import LeaderLock


@pytest.fixture
def key() -> str:
    return f"vigil:test:leader:{uuid.uuid4().hex}"


def _contenders(
    client: redis.asyncio.Redis,
    key: str,
    *,
    first_ttl_s: float = 30,
    first_client: redis.asyncio.Redis | None = None,
) -> tuple[LeaderLock, LeaderLock]:
    """Two replicas contending for ``key``: the first (its lease ``first_ttl_s``, through
    ``first_client`` if given) and the second (30 s), each with its own metrics label."""
    first = LeaderLock(first_client or client, key, "replica-1", ttl_s=first_ttl_s, name=f"{key}-1")
    second = LeaderLock(client, key, "replica-2", ttl_s=30, name=f"{key}-2")
    return first, second


def _leader(name: str) -> float | None:
    return REGISTRY.get_sample_value("vigil_runtime_leader", {"lock": name})


def _changes(name: str, change: str) -> float:
    labels = {"lock": name, "change": change}
    return REGISTRY.get_sample_value("vigil_runtime_leader_changes_total", labels) or 0.0


async def test_one_of_two_contenders_holds_it_until_released(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first, second = _contenders(redis_client, key)
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
    first, second = _contenders(redis_client, key)
    assert await first.hold()
    await redis_client.pexpire(key, 2_000)
    assert not await second.hold()
    assert await redis_client.pttl(key) <= 2_000  # a contender does not extend it
    assert await first.hold()
    assert await redis_client.pttl(key) > 2_000  # the holder does


async def _expire(client: redis.asyncio.Redis, key: str) -> None:
    """Wait until the holder's lease ran out (it stopped renewing, e.g. it stalled)."""
    for _ in range(200):
        if not await client.exists(key):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the lease did not expire")


async def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it_lost(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first, second = _contenders(redis_client, key, first_ttl_s=0.2)
    assert await first.hold()
    await _expire(redis_client, key)
    assert await second.hold()
    assert not await first.hold()
    assert _changes(first.name, "lost") == 1.0
    assert _leader(first.name) == 0.0
    assert await redis_client.get(key) == second.token.encode()


async def test_a_stalled_holder_releasing_late_leaves_the_successors_lock(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    first, second = _contenders(redis_client, key, first_ttl_s=0.2)
    assert await first.hold()
    await _expire(redis_client, key)
    assert await second.hold()
    await first.release()  # it still believes it holds the lock
    assert not first.held
    assert await redis_client.get(key) == second.token.encode()


async def test_a_redis_error_counts_as_not_held_and_the_holder_reclaims_its_lease(
    redis_client: redis.asyncio.Redis, redis_url: str, key: str
) -> None:
    client = redis.asyncio.Redis.from_url(
        redis_url, socket_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    first, second = _contenders(redis_client, key, first_client=client)
    try:
        assert await first.hold()
        await redis_client.client_pause(1000)  # Redis stops answering for a second
        with pytest.raises(redis.exceptions.TimeoutError):
            await first.hold()
        assert not first.held  # unsure, so not the leader
        assert _leader(first.name) == 0.0
        assert await redis_client.get(key) == first.token.encode()  # answers once unpaused
        assert await first.hold()  # its lease had not expired: renewed, not lost to a blip
        assert not await second.hold()
    finally:
        await client.aclose()


async def test_release_after_a_failed_hold_still_frees_a_lease_it_may_have_taken(
    redis_client: redis.asyncio.Redis, key: str
) -> None:
    """A ``hold()`` whose ``SET`` reached Redis but whose reply was lost leaves the replica
    "not held" with its token in the key: its release must free the key all the same."""
    first, second = _contenders(redis_client, key)
    await redis_client.set(key, first.token, px=30_000)  # the SET that did land
    assert not first.held
    await first.release()
    assert not await redis_client.exists(key)
    assert await second.hold()
