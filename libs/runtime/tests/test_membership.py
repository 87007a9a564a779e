"""GroupMembership against a real Redis server: registration, expiry, rendezvous owners."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.membership import GroupMembership, members_key, rendezvous_owner

STREAM = "vigil:test"
GROUP = "workers"
KEYS = [f"cam-{n}" for n in range(200)]


def member(client: redis.asyncio.Redis, name: str, ttl_s: float = 5.0) -> GroupMembership:
    return GroupMembership(client, STREAM, GROUP, name, ttl_s=ttl_s, refresh_s=ttl_s / 5)


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"stream": STREAM, "group": GROUP}) or 0.0


async def test_members_register_see_each_other_and_leave_on_stop(
    redis_client: redis.asyncio.Redis,
) -> None:
    a, b = member(redis_client, "a"), member(redis_client, "b")
    await a.start()
    await b.start()
    try:
        assert b.live_members() == ["a", "b"]
        assert await a.refresh() == ["a", "b"]
        assert metric("vigil_stream_members") == 2
        ttl_ms = await redis_client.pttl(members_key(STREAM, GROUP))
        assert 0 < ttl_ms <= 5000  # the set itself expires with its last member
    finally:
        await b.stop()
    assert await a.refresh() == ["a"]
    await a.stop()
    assert await redis_client.exists(members_key(STREAM, GROUP)) == 0


async def test_a_member_that_stops_refreshing_expires(redis_client: redis.asyncio.Redis) -> None:
    survivor = member(redis_client, "b", ttl_s=2.0)
    await survivor.start()
    dead = member(redis_client, "a", ttl_s=0.2)
    await dead.refresh()  # registered once, never refreshed again: it "dies"
    try:
        assert await survivor.refresh() == ["a", "b"]

        async def only_survivor() -> bool:
            return survivor.live_members() == ["b"]

        await wait_until(only_survivor)
        assert await survivor.peek() == ["b"]  # pruned from the set too
        assert await redis_client.zrange(members_key(STREAM, GROUP), 0, -1) == [b"b"]
    finally:
        await survivor.stop()


async def test_members_agree_on_owners_and_a_joiner_takes_only_keys(
    redis_client: redis.asyncio.Redis,
) -> None:
    a, b = member(redis_client, "a"), member(redis_client, "b")
    await a.refresh()
    await b.refresh()
    await a.refresh()
    before = {key: a.owner(key) for key in KEYS}
    assert before == {key: b.owner(key) for key in KEYS}
    assert set(before.values()) == {"a", "b"}
    changes = metric("vigil_stream_ownership_changes_total")

    c = member(redis_client, "c")
    await c.refresh()
    await a.refresh()
    after = {key: a.owner(key) for key in KEYS}
    assert after == {key: c.owner(key) for key in KEYS}
    moved = {key for key in KEYS if after[key] != before[key]}
    assert moved
    assert all(after[key] == "c" for key in moved)
    assert metric("vigil_stream_ownership_changes_total") - changes == len(moved)


def test_rendezvous_owner_is_stable_and_order_free() -> None:
    assert rendezvous_owner("cam-1", []) is None
    owners = [rendezvous_owner(key, ["a", "b", "c"]) for key in KEYS]
    assert owners == [rendezvous_owner(key, ["c", "a", "b"]) for key in KEYS]
    assert owners[:6] == ["b", "b", "b", "c", "c", "c"]  # blake2b: the same in every process
    assert all(50 <= owners.count(name) <= 90 for name in "abc")  # about a third each


async def test_without_a_view_a_member_owns_everything(
    redis_client: redis.asyncio.Redis,
) -> None:
    lonely = member(redis_client, "a")
    assert lonely.live_members() == []
    assert lonely.owner("cam-1") == "a"
    route = lonely.router(lambda key: key)
    assert route(None) is None
    assert route("cam-1") == "a"


def test_invalid_settings_are_refused(redis_client: redis.asyncio.Redis) -> None:
    with pytest.raises(ValueError):
        GroupMembership(redis_client, STREAM, GROUP, "a", ttl_s=1.0, refresh_s=2.0)
