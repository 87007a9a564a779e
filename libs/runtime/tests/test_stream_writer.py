"""StreamWriter against a real Redis 7: bounds under load, MINID by age, idempotent retries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.stream_writer import OutgoingEntry, StreamWriter
from vigil_schema.entry_keys import IDEMPOTENCY_FIELD
from vigil_schema.streams import LIVE, StreamPolicy

STREAM = "vigil:test-bounded"
NODE = 100  # stream-node-max-entries: how far an approximate trim may lag


def policy(maxlen: int, max_age: timedelta | None = None) -> dict[str, StreamPolicy]:
    return {STREAM: StreamPolicy(STREAM, maxlen, max_age, LIVE, timedelta(minutes=1), "test")}


def entry(n: int, *, key: str | None = None) -> OutgoingEntry:
    fields: dict[str, bytes | str] = {"n": str(n), "blob": b"\x00" * 64}
    if key is not None:
        fields[IDEMPOTENCY_FIELD] = key
    return OutgoingEntry(STREAM, fields)


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"stream": STREAM}) or 0.0


async def test_length_stays_within_the_bound_under_load(redis_client: redis.asyncio.Redis) -> None:
    """20,000 entries in calls of 250: the stream never holds more than its cap plus one
    call and one radix-tree node, and what was trimmed is counted."""
    writer = StreamWriter(redis_client, policies=policy(maxlen=1000))
    trimmed_before = metric("vigil_stream_trimmed_total")
    longest = 0
    for call in range(80):
        await writer.write([entry(call * 250 + n) for n in range(250)])
        longest = max(longest, await redis_client.xlen(STREAM))
    assert longest <= 1000 + NODE
    length = await redis_client.xlen(STREAM)
    assert 1000 <= length <= 1000 + NODE
    assert metric("vigil_stream_trimmed_total") - trimmed_before == 20_000 - length
    newest: Any = await redis_client.xrevrange(STREAM, count=1)
    assert newest[0][1][b"n"] == b"19999"


async def test_entries_older_than_max_age_are_trimmed_by_minid(
    redis_client: redis.asyncio.Redis,
) -> None:
    """Entries with ids from an hour ago (explicit old ids) go on the next write when the
    policy keeps one minute; recent ones stay."""
    for n in range(1, 301):
        await redis_client.xadd(STREAM, {"old": str(n)}, id=f"{n}-0")
    writer = StreamWriter(redis_client, policies=policy(maxlen=100_000, max_age=timedelta(60)))
    result = await writer.write([entry(1)])
    assert result.trimmed[STREAM] == 300
    remaining: Any = await redis_client.xrange(STREAM)
    assert [fields[b"n"] for _, fields in remaining] == [b"1"]


async def test_a_retried_call_adds_no_entry_twice(redis_client: redis.asyncio.Redis) -> None:
    """The same call twice (a timed-out EVALSHA that did run, then its retry): every keyed
    entry is added once, the repeat is skipped and counted; unkeyed entries have no such
    protection."""
    writer = StreamWriter(redis_client, policies=policy(maxlen=1000))
    batch = [entry(n, key=f"k{n}") for n in range(5)] + [entry(99)]
    duplicates = metric("vigil_stream_producer_duplicates_total")
    first = await writer.write(batch, want_ids=True)
    retry = await writer.write(batch, want_ids=True)
    assert first.added[STREAM] == 6
    assert retry.added[STREAM] == 1
    assert retry.skipped[STREAM] == 5
    assert retry.ids[:5] == [None] * 5
    assert retry.ids[5] is not None
    stored: Any = await redis_client.xrange(STREAM)
    assert [fields[b"n"] for _, fields in stored] == [b"0", b"1", b"2", b"3", b"4", b"99", b"99"]
    assert metric("vigil_stream_producer_duplicates_total") - duplicates == 5


async def test_a_key_repeated_within_one_call_is_added_once(
    redis_client: redis.asyncio.Redis,
) -> None:
    writer = StreamWriter(redis_client, policies=policy(maxlen=1000))
    result = await writer.write([entry(1, key="same"), entry(2, key="same")])
    assert (result.added[STREAM], result.skipped[STREAM]) == (1, 1)


async def test_the_marker_expires_after_its_ttl(redis_client: redis.asyncio.Redis) -> None:
    writer = StreamWriter(redis_client, policies=policy(maxlen=1000), marker_ttl_s=30)
    await writer.write([entry(1, key="k")])
    ttl_ms = await redis_client.pttl(f"{STREAM}:added:k")
    assert 0 < ttl_ms <= 30_000


async def test_the_script_is_reloaded_after_a_flush(redis_client: redis.asyncio.Redis) -> None:
    writer = StreamWriter(redis_client, policies=policy(maxlen=1000))
    await writer.write([entry(1)])
    await redis_client.script_flush()
    await writer.write([entry(2)])
    assert await redis_client.xlen(STREAM) == 2


async def test_a_stream_without_a_policy_is_refused(redis_client: redis.asyncio.Redis) -> None:
    writer = StreamWriter(redis_client, policies=policy(maxlen=10))
    with pytest.raises(KeyError, match="no StreamPolicy"):
        await writer.write([OutgoingEntry("vigil:nowhere", {"n": "1"})])
    assert await redis_client.exists("vigil:nowhere") == 0


async def test_the_lua_helper_bounds_a_scripts_own_xadd(redis_client: redis.asyncio.Redis) -> None:
    """A script that adds an entry with other writes (the liveness transitions) trims with
    the same policy: old entries by age, the rest to the cap."""
    from vigil_runtime.stream_writer import lua_bounded_xadd

    for n in range(1, 301):
        await redis_client.xadd(STREAM, {"old": str(n)}, id=f"{n}-0")
    bounded = policy(maxlen=100_000, max_age=timedelta(60))[STREAM]
    script = redis_client.register_script(
        lua_bounded_xadd(bounded) + "return vigil_xadd(KEYS[1], 'n', ARGV[1])"
    )
    await script(keys=[STREAM], args=["new"])
    remaining: Any = await redis_client.xrange(STREAM)
    assert [fields for _, fields in remaining] == [{b"n": b"new"}]


async def test_the_lua_helper_caps_the_length_without_an_age_bound(
    redis_client: redis.asyncio.Redis,
) -> None:
    from vigil_runtime.stream_writer import lua_bounded_xadd

    capped = policy(maxlen=10)[STREAM]
    script = redis_client.register_script(
        lua_bounded_xadd(capped) + "return vigil_xadd(KEYS[1], 'n', ARGV[1])"
    )
    for n in range(500):
        await script(keys=[STREAM], args=[str(n)])
    assert 10 <= await redis_client.xlen(STREAM) <= 10 + NODE
    newest: Any = await redis_client.xrevrange(STREAM, count=1)
    assert newest[0][1] == {b"n": b"499"}
