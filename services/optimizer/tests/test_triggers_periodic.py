"""The periodic trigger against real Redis and PostgreSQL: only the leader among two replicas
submits, the other takes over when it stops, only active cameras with an ONVIF address are
reviewed, and reviews spread over the interval."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import redis.asyncio

from vigil_optimizer.scheduler import FleetScheduler
from vigil_optimizer.settings import OptimizerSettings
from vigil_optimizer.triggers.periodic import LAST_KEY, PeriodicTrigger, is_due, phase_of

REVIEWABLE = [f"cam-{i}" for i in range(6)]


async def insert_cameras(pool: Any, count: int = 6) -> None:
    login = b"sealed login"  # stands for an encrypted ONVIF login
    rows: list[tuple[str, str, str | None, str, bytes | None]] = [
        (f"cam-{i}", f"site-{i % 2}", f"10.0.0.{i + 1}", "active", login) for i in range(count)
    ]
    rows += [("no-onvif", "site-0", None, "active", login),
             ("disabled", "site-1", "10.0.1.1", "disabled", login),
             ("no-login", "site-1", "10.0.1.2", "active", None)]  # fmt: skip
    await pool.executemany(
        "INSERT INTO cameras (id, name, site, ip, desired_state, credentials_encrypted) "
        "VALUES ($1, $1, $2, $3::inet, $4, $5)",
        rows,
    )


class Reviews:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, camera_id: str, reason: str) -> None:
        self.calls.append((camera_id, reason))


class Replica:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        pool: Any,
        instance: str,
        clock: Callable[[], float] | None = None,
        interval_s: float = 1.0,
    ) -> None:
        config = OptimizerSettings(instance=instance, review_interval_s=interval_s,
                                   periodic_tick_s=0.05, periodic_lock_ttl_s=1.0)  # fmt: skip
        self.reviews = Reviews()
        self.scheduler = FleetScheduler(self.reviews)
        extra = {} if clock is None else {"clock": clock}
        self.trigger = PeriodicTrigger(client, pool, self.scheduler, config, **extra)
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self.trigger.run(self.stop)),
                      asyncio.create_task(self.scheduler.run(self.stop))]  # fmt: skip

    async def halt(self) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 10)

    def cameras(self) -> Counter[str]:
        return Counter(camera for camera, _ in self.reviews.calls)


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def two_replicas(redis_url: str, pool: Any) -> AsyncIterator[tuple[Replica, Replica]]:
    clients = [redis.asyncio.Redis.from_url(redis_url) for _ in range(2)]
    one, two = Replica(clients[0], pool, "r1"), Replica(clients[1], pool, "r2")
    try:
        yield one, two
    finally:
        for replica in (one, two):
            if replica.tasks and not replica.stop.is_set():
                await replica.halt()
        for client in clients:
            await client.aclose()


async def test_only_the_leader_reviews_and_the_other_takes_over(
    redis_url: str, redis_client: redis.asyncio.Redis, pg_pool: Any, pg_pool_as: Any
) -> None:
    await insert_cameras(pg_pool)
    pool = await pg_pool_as("vigil_optimizer")
    async with two_replicas(redis_url, pool) as (one, two):
        one.start()
        two.start()
        await eventually(lambda: len(one.reviews.calls) + len(two.reviews.calls) == 6)
        leader, follower = (one, two) if one.trigger.leading else (two, one)
        assert not follower.trigger.leading
        assert leader.cameras() == Counter(REVIEWABLE)  # each once, nothing else
        assert {reason for _, reason in leader.reviews.calls} == {"periodic"}
        assert sorted((await redis_client.hgetall(LAST_KEY)).keys()) == [
            c.encode() for c in REVIEWABLE
        ]
        # every camera's next slot comes within one interval (1 s): the leader reviews it
        # again, the follower (ticking as often) never
        await eventually(lambda: min(leader.cameras().values()) == 2, 3.0)
        assert follower.reviews.calls == []
        assert not follower.trigger.leading

        await leader.halt()  # releases the lock: the follower leads at its next tick
        await eventually(lambda: follower.trigger.leading, 2.0)
        reviewed_before = len(leader.reviews.calls)
        await eventually(lambda: set(follower.cameras()) == set(REVIEWABLE), 3.0)
        assert len(leader.reviews.calls) == reviewed_before
        assert max(follower.cameras().values()) == 1


async def test_reviews_spread_over_the_interval(
    redis_client: redis.asyncio.Redis, pg_pool: Any, pg_pool_as: Any
) -> None:
    await insert_cameras(pg_pool, count=100)
    pool = await pg_pool_as("vigil_optimizer")
    now = 1_000_000.0
    interval = 1000.0
    replica = Replica(redis_client, pool, "r1", clock=lambda: now, interval_s=interval)
    stop = asyncio.Event()
    runner = asyncio.create_task(replica.scheduler.run(stop))
    per_tick: list[int] = []
    try:
        for _ in range(60):  # three intervals, 20 ticks each
            per_tick.append(await replica.trigger.tick())
            await asyncio.wait_for(replica.scheduler.wait_idle(), 5)
            now += interval / 20
    finally:
        stop.set()
        await runner
    assert per_tick[0] == 100  # the first sight of the fleet: everyone once
    later = Counter(camera for camera, _ in replica.reviews.calls[100:])
    steady = per_tick[20:]  # after one interval every camera is on its own slots
    assert sum(steady) == 200
    assert max(steady) <= 15  # about 5 a tick, never the whole fleet at once
    assert set(later.values()) <= {2, 3}  # at most one catch-up review in the first interval
    assert set(later) == {f"cam-{i}" for i in range(100)}


def test_due_rules() -> None:
    interval = 100.0
    assert is_due(5.0, None, 50.0, interval)
    assert not is_due(49.0, 10.0, 50.0, interval)  # the slot (50) is not reached yet
    assert is_due(51.0, 0.0, 50.0, interval)  # slot 50 passed, last at 0
    assert not is_due(51.0, 20.0, 50.0, interval)  # slot passed but only 31 s since the last
    assert is_due(70.0, 20.0, 50.0, interval)  # half an interval since the last
    assert not is_due(149.0, 51.0, 50.0, interval)  # reviewed at this slot already
    assert is_due(150.5, 51.0, 50.0, interval)


def test_phases_are_stable_and_spread() -> None:
    assert phase_of("cam-1", 86_400) == phase_of("cam-1", 86_400)
    phases = [phase_of(f"camera-{i}", 1000.0) for i in range(2000)]
    assert all(0 <= p < 1000.0 for p in phases)
    deciles = Counter(int(p // 100) for p in phases)
    assert min(deciles.values()) > 150
    assert max(deciles.values()) < 250
