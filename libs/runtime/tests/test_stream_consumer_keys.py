"""StreamConsumer against a real Redis 7: group start positions, skipping completed
idempotency keys, and the length / lag / trimmed-before-read metrics."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.stream_stats import read_stream_stats, split_lag
from vigil_runtime.streams import StreamConsumer, StreamEntry
from vigil_schema.streams import ALL_RETAINED, LIVE, StreamPolicy

STREAM = "vigil:test-keys"
GROUP = "g"
DLQ = "vigil:test-keys-dlq"


class Handler:
    """Records the ``n`` field of every entry it handles; fails while ``fail`` is set."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.fail = False

    async def __call__(self, entries: list[StreamEntry]) -> None:
        if self.fail:
            raise ValueError("handler failed")
        self.seen.extend(entry.fields[b"n"] for entry in entries)


def make(
    client: redis.asyncio.Redis,
    handler: Handler,
    start: str | timedelta = ALL_RETAINED,
    group: str = GROUP,
) -> StreamConsumer:
    policies = {
        STREAM: StreamPolicy(STREAM, 10_000, None, start, timedelta(minutes=5), "test"),
        DLQ: StreamPolicy(DLQ, 10_000, None, ALL_RETAINED, timedelta(minutes=5), "test"),
    }
    return StreamConsumer(client, STREAM, group, "c", handler, block_ms=20,
                          dlq_stream=DLQ, lag_interval_s=0.0, policies=policies)  # fmt: skip


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, {"stream": STREAM, **labels}) or 0.0


async def test_a_live_group_starts_after_what_the_stream_holds(
    redis_client: redis.asyncio.Redis,
) -> None:
    await redis_client.xadd(STREAM, {"n": b"old"})
    handler = Handler()
    worker = make(redis_client, handler, start=LIVE)
    assert worker.start_id == "$"
    await worker.ensure_group()
    await redis_client.xadd(STREAM, {"n": b"new"})
    await worker.poll_once()
    assert handler.seen == [b"new"]


async def test_a_replaying_group_starts_its_window_back(redis_client: redis.asyncio.Redis) -> None:
    """Start one hour back: an entry from two hours ago is not replayed, one from half an
    hour ago is (explicit ids in the past)."""
    now_ms = int(time.time() * 1000)
    await redis_client.xadd(STREAM, {"n": b"2h"}, id=f"{now_ms - 7_200_000}-0")
    await redis_client.xadd(STREAM, {"n": b"30m"}, id=f"{now_ms - 1_800_000}-0")
    handler = Handler()
    worker = make(redis_client, handler, start=timedelta(hours=1))
    await worker.ensure_group()
    await worker.poll_once()
    assert handler.seen == [b"30m"]


async def test_a_completed_key_is_skipped_and_counted(redis_client: redis.asyncio.Redis) -> None:
    """Three entries, two with one key (a producer's redelivery): the handler runs once per
    key, the duplicate is acknowledged and counted, also when it arrives in a later batch."""
    handler = Handler()
    worker = make(redis_client, handler)
    await worker.ensure_group()
    skipped = metric("vigil_stream_duplicates_skipped_total", group=GROUP)
    await redis_client.xadd(STREAM, {"n": b"1", "key": b"k1"})
    await redis_client.xadd(STREAM, {"n": b"2", "key": b"k2"})
    await worker.poll_once()
    await redis_client.xadd(STREAM, {"n": b"1-again", "key": b"k1"})
    await redis_client.xadd(STREAM, {"n": b"3"})  # no key: always handled
    await worker.poll_once()
    assert handler.seen == [b"1", b"2", b"3"]
    assert metric("vigil_stream_duplicates_skipped_total", group=GROUP) - skipped == 1
    pending: Any = await redis_client.xpending(STREAM, GROUP)
    assert pending["pending"] == 0
    assert 0 < await redis_client.ttl(f"{STREAM}:done:{GROUP}:k1") <= 300


async def test_a_key_is_completed_only_when_the_handler_succeeds(
    redis_client: redis.asyncio.Redis,
) -> None:
    handler = Handler()
    worker = make(redis_client, handler)
    await worker.ensure_group()
    handler.fail = True
    await redis_client.xadd(STREAM, {"n": b"1", "key": b"k1"})
    await worker.poll_once()
    assert await redis_client.exists(f"{STREAM}:done:{GROUP}:k1") == 0
    handler.fail = False
    await redis_client.xadd(STREAM, {"n": b"1-again", "key": b"k1"})
    await worker.poll_once()
    assert handler.seen == [b"1-again"]  # the first copy is still pending, not lost
    assert await redis_client.exists(f"{STREAM}:done:{GROUP}:k1") == 1


async def test_other_groups_do_not_share_completed_keys(
    redis_client: redis.asyncio.Redis,
) -> None:
    first, second = Handler(), Handler()
    worker = make(redis_client, first)
    other = make(redis_client, second, group="other")
    await worker.ensure_group()
    await other.ensure_group()
    await redis_client.xadd(STREAM, {"n": b"1", "key": b"k"})
    await worker.poll_once()
    await other.poll_once()
    assert first.seen == second.seen == [b"1"]


async def test_entries_trimmed_before_the_group_read_them_are_measured(
    redis_client: redis.asyncio.Redis,
) -> None:
    """10 entries, the group reads 3, 7 are trimmed unread: trimmed_unread 7, lag 0, also
    after the group read the 2 entries added since."""
    handler = Handler()
    worker = make(redis_client, handler)
    await worker.ensure_group()
    for n in range(10):
        await redis_client.xadd(STREAM, {"n": str(n).encode()})
    await redis_client.xreadgroup(GROUP, "other", {STREAM: ">"}, count=3)
    await redis_client.xtrim(STREAM, maxlen=0, approximate=False)
    stats = await read_stream_stats(redis_client, STREAM)
    [group] = stats.groups
    assert (stats.length, group.lag, group.trimmed_unread) == (0, 0, 7)
    for n in (10, 11):
        await redis_client.xadd(STREAM, {"n": str(n).encode()})
    await worker.poll_once()
    assert handler.seen == [b"10", b"11"]
    assert metric("vigil_stream_trimmed_unread", group=GROUP) == 7
    assert metric("vigil_stream_lag", group=GROUP) == 0
    assert metric("vigil_stream_length") == 2


def test_split_lag_keeps_the_last_count_while_the_group_is_mid_stream() -> None:
    def split(redis_lag: int | None, previous: int | None) -> tuple[int | None, int | None]:
        return split_lag(redis_lag=redis_lag, length=5, first_id="10-0", last_id="50-0",
                         last_delivered_id="20-0", previous_trimmed=previous)  # fmt: skip

    assert split(9, 4) == (5, 4)
    assert split(9, None) == (9, None)  # unknown: Redis' lag is an upper bound
    assert split(None, 2) == (None, 2)  # Redis 6.2
