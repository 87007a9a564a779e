"""StreamConsumer with a router (camera affinity) against a real Redis server.

Entries carry a key (``cam``) and a number (``n``); the consumers route by key through
their GroupMembership. Every test checks that each entry is handled exactly once and each
key only by its owner, across handovers, a consumer's death and a joiner.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest_asyncio
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_runtime.membership import GroupMembership
from vigil_runtime.streams import Router, StreamConsumer, StreamEntry, StreamProducer
from vigil_schema.messages import DeadLetter
from vigil_schema.streams import ALL_RETAINED, Envelope, StreamPolicy

STREAM = "vigil:test"
GROUP = "workers"
DLQ = "vigil:test-dlq"
POLICIES = {
    name: StreamPolicy(name, 100_000, None, ALL_RETAINED, timedelta(minutes=5), "test")
    for name in (STREAM, DLQ)
}
CAMERAS = [f"cam-{n}" for n in range(8, 16)]  # 4 each of a, b; 3 move to c


@dataclass
class Handled:
    """What every consumer handled: (consumer, camera, n, deliveries) in handling order."""

    rows: list[tuple[str, str, int, int]] = field(default_factory=list)

    def handler(self, name: str) -> Callable[[list[StreamEntry]], Awaitable[None]]:
        async def handle(entries: list[StreamEntry]) -> None:
            if any(entry.fields.get(b"poison") for entry in entries):
                raise ValueError("poison entry")
            for entry in entries:
                cam, n = entry.fields[b"cam"].decode(), int(entry.fields[b"n"])
                self.rows.append((name, cam, n, entry.deliveries))

        return handle

    def numbers(self) -> list[int]:
        return sorted(n for _, _, n, _ in self.rows)

    def handlers_of(self, cam: str, since: int = 0) -> set[str]:
        return {name for name, c, n, _ in self.rows if c == cam and n >= since}


def camera(entry: StreamEntry) -> str:
    return entry.fields[b"cam"].decode()


def metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"stream": STREAM, "group": GROUP}) or 0.0


async def wait_until(predicate: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def publish(client: redis.asyncio.Redis, numbers: range) -> None:
    producer = StreamProducer(client, policies=POLICIES)
    for n in numbers:
        await producer.publish(STREAM, {"cam": CAMERAS[n % len(CAMERAS)], "n": str(n)})


class Cluster:
    """Consumers with their memberships, running until the test ends."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.handled = Handled()
        self.members: dict[str, GroupMembership] = {}
        self.stops: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def consumer(
        self,
        name: str,
        router: Router | None = None,
        *,
        ttl_s: float = 1.0,
        claim_idle_ms: int = 2000,
        max_deliveries: int = 3,
        max_handovers: int = 3,
    ) -> StreamConsumer:
        if router is None:
            membership = GroupMembership(self.client, STREAM, GROUP, name, ttl_s=ttl_s,
                                         refresh_s=ttl_s / 10)  # fmt: skip
            self.members[name] = membership
            router = membership.router(camera)
        return StreamConsumer(self.client, STREAM, GROUP, name, self.handled.handler(name),
                              block_ms=20, claim_idle_ms=claim_idle_ms,
                              max_deliveries=max_deliveries, max_handovers=max_handovers,
                              dlq_stream=DLQ, policies=POLICIES, router=router)  # fmt: skip

    async def start(self, name: str) -> StreamConsumer:
        worker = self.consumer(name)
        await worker.ensure_group()
        await self.members[name].start()
        self.stops[name] = asyncio.Event()
        self.tasks[name] = asyncio.create_task(worker.run(self.stops[name]))
        return worker

    async def see(self, *names: str) -> None:
        """Wait until every running member's view is exactly ``names``."""
        for name in self.tasks:
            await wait_until(self.sees(name, sorted(names)))

    def sees(self, name: str, names: list[str]) -> Callable[[], bool]:
        return lambda: self.members[name].live_members() == names

    def owner(self, cam: str) -> str:
        return next(iter(self.members.values())).owner(cam)

    async def close(self) -> None:
        for name, task in self.tasks.items():
            self.stops[name].set()
            await asyncio.wait_for(task, 5)
        for membership in self.members.values():
            await membership.stop()


@pytest_asyncio.fixture
async def cluster(redis_client: redis.asyncio.Redis) -> AsyncIterator[Cluster]:
    group = Cluster(redis_client)
    try:
        yield group
    finally:
        await group.close()


async def pending(client: redis.asyncio.Redis) -> int:
    info = await client.xpending(STREAM, GROUP)
    return int(info["pending"])


async def settled(client: redis.asyncio.Redis, within: float = 10.0) -> None:
    """Wait until the group has nothing pending (the last batch acknowledged)."""
    deadline = time.monotonic() + within
    while await pending(client):
        assert time.monotonic() < deadline, "entries still pending"
        await asyncio.sleep(0.01)


def assert_once_each_by_its_owner(cluster: Cluster, numbers: range) -> None:
    handled = [n for n in cluster.handled.numbers() if n in numbers]
    assert handled == list(numbers)  # exactly once each
    for cam in CAMERAS:
        assert cluster.handled.handlers_of(cam, numbers.start) == {cluster.owner(cam)}


async def test_two_consumers_split_cameras_and_hand_over_without_a_delivery(
    cluster: Cluster,
) -> None:
    client = cluster.client
    a, b = cluster.consumer("a", ttl_s=60), cluster.consumer("b", ttl_s=60)
    await a.ensure_group()
    await cluster.members["a"].refresh()
    await cluster.members["b"].refresh()
    await cluster.members["a"].refresh()
    await publish(client, range(40))
    handed, picked = (
        metric("vigil_stream_handed_over_total"),
        metric("vigil_stream_handover_pickups_total"),
    )
    assert await a.poll_once() == 40  # all read by a: b's cameras handed over
    b_share = sum(1 for n in range(40) if cluster.owner(CAMERAS[n % 8]) == "b")
    assert 0 < b_share < 40
    assert metric("vigil_stream_handed_over_total") - handed == b_share
    assert await pending(client) == b_share
    assert await b.poll_once() == b_share
    assert metric("vigil_stream_handover_pickups_total") - picked == b_share
    assert_once_each_by_its_owner(cluster, range(40))
    assert {deliveries for *_, deliveries in cluster.handled.rows} == {1}
    for cam in CAMERAS:  # within an owner, a camera's entries in stream order
        assert [n for _, c, n, _ in cluster.handled.rows if c == cam] == list(range(
            CAMERAS.index(cam), 40, 8))  # fmt: skip
    assert await pending(client) == 0


async def test_running_consumers_handle_each_entry_once_by_its_owner(cluster: Cluster) -> None:
    await cluster.start("a")
    await cluster.start("b")
    await cluster.see("a", "b")
    await publish(cluster.client, range(200))
    await wait_until(lambda: len(cluster.handled.rows) >= 200)
    assert_once_each_by_its_owner(cluster, range(200))
    await settled(cluster.client)
    assert cluster.handled.handlers_of(CAMERAS[0]) | cluster.handled.handlers_of(CAMERAS[1]) <= {
        "a",
        "b",
    }


async def test_a_dead_consumers_cameras_and_entries_move_to_the_survivor(
    cluster: Cluster,
) -> None:
    client = cluster.client
    dead = cluster.consumer("a")  # registered once, never refreshed, never polls: it dies
    await dead.ensure_group()
    await cluster.members["a"].refresh()
    await publish(client, range(5))
    # "a" read these five and died without acknowledging them.
    await client.xreadgroup(GROUP, "a", {STREAM: ">"}, count=5)
    await cluster.start("b")
    await cluster.see("a", "b")
    await publish(client, range(5, 60))  # b hands a's cameras over to the dying a
    await wait_until(lambda: len(cluster.handled.rows) >= 60, within=20)
    await publish(client, range(60, 100))
    await wait_until(lambda: len(cluster.handled.rows) >= 100, within=20)
    assert cluster.handled.numbers() == list(range(100))
    assert {name for name, *_ in cluster.handled.rows} == {"b"}
    deliveries = {n: d for *_, n, d in cluster.handled.rows}
    assert {deliveries[n] for n in range(5)} == {2}  # read by the dead one: one delivery
    assert {deliveries[n] for n in range(5, 100)} == {1}  # handovers did not count
    await settled(client)


async def test_a_joining_consumer_takes_over_some_cameras(cluster: Cluster) -> None:
    await cluster.start("a")
    await cluster.start("b")
    await cluster.see("a", "b")
    await publish(cluster.client, range(80))
    await wait_until(lambda: len(cluster.handled.rows) >= 80)
    before = {cam: cluster.owner(cam) for cam in CAMERAS}
    assert_once_each_by_its_owner(cluster, range(80))

    await cluster.start("c")
    await cluster.see("a", "b", "c")
    await publish(cluster.client, range(80, 160))
    await wait_until(lambda: len(cluster.handled.rows) >= 160)
    assert_once_each_by_its_owner(cluster, range(80, 160))
    assert cluster.handled.numbers() == list(range(160))
    moved = {cam for cam in CAMERAS if cluster.owner(cam) != before[cam]}
    assert moved
    assert {cluster.owner(cam) for cam in moved} == {"c"}


async def test_a_routed_poison_entry_is_dead_lettered_after_max_deliveries(
    cluster: Cluster,
) -> None:
    client = cluster.client
    a = cluster.consumer("a", ttl_s=60, claim_idle_ms=50, max_deliveries=2)
    b = cluster.consumer("b", ttl_s=60, claim_idle_ms=50, max_deliveries=2)
    await a.ensure_group()
    await cluster.members["a"].refresh()
    await cluster.members["b"].refresh()
    await cluster.members["a"].refresh()
    cam = next(c for c in CAMERAS if cluster.owner(c) == "b")
    await StreamProducer(client, policies=POLICIES).publish(
        STREAM, {"cam": cam, "n": "0", "poison": "1"}
    )
    failures = metric("vigil_stream_handler_errors_total")
    deadline = time.monotonic() + 10
    while not await client.xlen(DLQ):
        assert time.monotonic() < deadline, "not dead-lettered in time"
        for worker in (a, b):
            await worker.poll_once()
        for membership in cluster.members.values():
            await membership.refresh()
    letters: Any = await client.xrange(DLQ)
    [(_, fields)] = letters
    letter = Envelope.from_fields(fields).unwrap(DeadLetter)
    assert letter.deliveries == 2
    assert letter.consumer == "b"
    assert letter.error == "ValueError: poison entry"
    assert metric("vigil_stream_handler_errors_total") - failures == 2  # both on b
    assert await pending(client) == 0


async def test_ping_pong_between_disagreeing_routers_is_bounded(cluster: Cluster) -> None:
    client = cluster.client
    a = cluster.consumer("a", router=lambda entry: "b", max_handovers=2)
    b = cluster.consumer("b", router=lambda entry: "a", max_handovers=2)
    await a.ensure_group()
    await publish(client, range(1))
    kept = metric("vigil_stream_handover_kept_total")
    for _ in range(10):
        await a.poll_once()
        await b.poll_once()
        if cluster.handled.rows:
            break
    assert [(n, d) for _, _, n, d in cluster.handled.rows] == [(0, 1)]
    assert metric("vigil_stream_handover_kept_total") - kept == 1
    assert await pending(client) == 0


async def test_an_entry_the_owner_failed_comes_back_to_it_after_claim_idle_ms(
    redis_client: redis.asyncio.Redis,
) -> None:
    seen: list[tuple[str, int]] = []
    failures = [ValueError("first try fails")]

    def handler(name: str) -> Callable[[list[StreamEntry]], Awaitable[None]]:
        async def handle(entries: list[StreamEntry]) -> None:
            seen.extend((name, entry.deliveries) for entry in entries)
            if failures:
                raise failures.pop()

        return handle

    def worker(name: str) -> StreamConsumer:
        return StreamConsumer(redis_client, STREAM, GROUP, name, handler(name), block_ms=20,
                              claim_idle_ms=100, dlq_stream=DLQ, policies=POLICIES,
                              router=lambda entry: "b")  # fmt: skip

    a, b = worker("a"), worker("b")
    await a.ensure_group()
    await publish(redis_client, range(1))
    handed = metric("vigil_stream_handed_over_total")
    await a.poll_once()  # handed over to b
    await b.poll_once()  # b fails it: it stays in b's pending list, not picked up again
    await b.poll_once()
    assert seen == [("b", 1)]
    deadline = time.monotonic() + 10
    while metric("vigil_stream_handed_over_total") - handed < 2:
        assert time.monotonic() < deadline, "not reclaimed in time"
        await a.poll_once()  # a reclaims it once idle and hands it back to b
    await b.poll_once()  # b picks it up although it failed it before
    assert seen == [("b", 1), ("b", 2)]
    await settled(redis_client)


async def test_an_entry_the_router_cannot_place_is_handled_where_read(
    redis_client: redis.asyncio.Redis,
) -> None:
    handled = Handled()

    def route(entry: StreamEntry) -> str:
        raise KeyError("cam")

    a = StreamConsumer(redis_client, STREAM, GROUP, "a", handled.handler("a"), block_ms=20,
                       policies=POLICIES, dlq_stream=DLQ, router=route)  # fmt: skip
    await a.ensure_group()
    await publish(redis_client, range(2))
    assert await a.poll_once() == 2
    assert [(name, n) for name, _, n, _ in handled.rows] == [("a", 0), ("a", 1)]
    assert await pending(redis_client) == 0


async def test_a_leaving_consumer_hands_its_pending_entries_back_at_once(
    cluster: Cluster,
) -> None:
    client = cluster.client
    leaving = cluster.consumer("a", ttl_s=60, claim_idle_ms=60_000)
    b = cluster.consumer("b", ttl_s=60, claim_idle_ms=60_000)
    await b.ensure_group()
    await cluster.members["a"].refresh()
    await cluster.members["b"].refresh()
    await cluster.members["a"].refresh()
    await publish(client, range(40))
    assert await b.poll_once() == 40  # a's cameras handed to a, which never picks them up
    a_share = sum(1 for n in range(40) if cluster.owner(CAMERAS[n % 8]) == "a")
    assert await pending(client) == a_share

    await cluster.members["a"].stop()  # a leaves, then hands its pending entries on
    assert await leaving.hand_back() == a_share
    assert await leaving.hand_back() == 0
    await cluster.members["b"].refresh()
    await b.poll_once()
    assert cluster.handled.numbers() == list(range(40))
    assert {name for name, *_ in cluster.handled.rows} == {"b"}
    assert {deliveries for *_, deliveries in cluster.handled.rows} == {1}
    await settled(client)
