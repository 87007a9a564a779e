"""The requests trigger against real Redis: OptimizerRequest entries as ``vigil optimize``
publishes them, consumed in group ``optimizer``; reviews reach the scheduler, the other
actions the injected callables, bad requests the dead-letter stream."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, cast

import pytest
import redis.asyncio
from prometheus_client import REGISTRY

from vigil_optimizer.scheduler import FleetScheduler
from vigil_optimizer.settings import OptimizerSettings
from vigil_optimizer.triggers.requests import GROUP, RequestActions, RequestTrigger
from vigil_runtime.stream_producer import StreamProducer
from vigil_schema.clock import utc_now
from vigil_schema.messages import DeadLetter, OptimizerAction, OptimizerRequest
from vigil_schema.streams import DLQ, OPTIMIZER_REQUESTS, Envelope

Entries = list[tuple[bytes, dict[bytes, bytes]]]


class Calls:
    """Records every call of the injected callables; ``hang`` cameras never answer and
    ``broken`` cameras raise."""

    def __init__(self) -> None:
        self.reviews: list[tuple[str, str]] = []
        self.actions: list[tuple[str, str, int | None]] = []

    async def review(self, camera_id: str, reason: str) -> None:
        self.reviews.append((camera_id, reason))

    async def act(self, request: OptimizerRequest) -> None:
        if request.camera_id.startswith("hang"):
            await asyncio.sleep(3600)
        if request.camera_id.startswith("broken"):
            raise ConnectionError("camera at http://admin:hunter2@10.0.0.9/ refused")
        self.actions.append((request.action.value, request.camera_id, request.optimization_id))


def count(action: str, outcome: str) -> float:
    labels = {"action": action, "outcome": outcome}
    return REGISTRY.get_sample_value("vigil_optimizer_requests_total", labels) or 0.0


async def request(client: redis.asyncio.Redis, camera_id: str, action: OptimizerAction,
                  **fields: Any) -> None:  # fmt: skip
    message = OptimizerRequest(camera_id=camera_id, action=action, requested_by="test", **fields)
    await StreamProducer(client).publish(OPTIMIZER_REQUESTS, Envelope.wrap(message))


async def eventually(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def trigger(
    client: redis.asyncio.Redis, calls: Calls, actions: RequestActions | None = None
) -> AsyncIterator[RequestTrigger]:
    config = OptimizerSettings(consumer_name="opt-1", request_timeout_s=1.0)
    scheduler = FleetScheduler(calls.review)
    if actions is None:
        actions = RequestActions(inspect=calls.act, apply=calls.act, verify=calls.act)
    requests = RequestTrigger(client, scheduler, actions, config, block_ms=50)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(requests.run(stop)), asyncio.create_task(scheduler.run(stop))]
    try:
        yield requests
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)


async def pending(client: redis.asyncio.Redis) -> int:
    summary = await client.xpending(OPTIMIZER_REQUESTS, GROUP)
    return int(summary["pending"])


async def test_each_action_reaches_its_callable_and_reviews_the_scheduler(
    redis_client: redis.asyncio.Redis,
) -> None:
    calls = Calls()
    queued = count("recommend", "queued")
    async with trigger(redis_client, calls):
        await request(redis_client, "cam-1", OptimizerAction.RECOMMEND)
        await request(redis_client, "cam-2", OptimizerAction.INSPECT)
        await request(redis_client, "cam-3", OptimizerAction.APPLY, optimization_id=7)
        await request(redis_client, "cam-3", OptimizerAction.VERIFY, optimization_id=7)
        await eventually(lambda: len(calls.actions) == 3 and len(calls.reviews) == 1)
    assert calls.reviews == [("cam-1", "manual")]
    assert sorted(calls.actions) == [
        ("apply", "cam-3", 7), ("inspect", "cam-2", None), ("verify", "cam-3", 7),
    ]  # fmt: skip
    assert count("recommend", "queued") == queued + 1
    assert await pending(redis_client) == 0


async def test_a_hanging_camera_times_out_without_holding_up_its_batch(
    redis_client: redis.asyncio.Redis, service_logs: pytest.CaptureFixture[str]
) -> None:
    calls = Calls()
    timeouts, errors = count("inspect", "timeout"), count("apply", "error")
    # published before the consumer starts: the group takes every retained request, one batch
    for i in range(4):
        await request(redis_client, f"hang-{i}", OptimizerAction.INSPECT)
    await request(redis_client, "broken-1", OptimizerAction.APPLY, optimization_id=3)
    for i in range(5):
        await request(redis_client, f"cam-{i}", OptimizerAction.INSPECT)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with trigger(redis_client, calls):
        await eventually(lambda: count("inspect", "timeout") == timeouts + 4)
        elapsed = loop.time() - started
        await eventually(lambda: len(calls.actions) == 5)
    assert elapsed < 3.0  # one timeout (1 s) for the whole batch, not one per request (4 s)
    assert count("apply", "error") == errors + 1
    assert await pending(redis_client) == 0  # failures are outcomes: acknowledged, not retried
    logged = service_logs.readouterr().err
    assert "broken-1" in logged
    assert "hunter2" not in logged


async def test_bad_and_expired_requests_are_not_carried_out(
    redis_client: redis.asyncio.Redis,
) -> None:
    calls = Calls()
    expired, unsupported = count("apply", "expired"), count("verify", "unsupported")
    await request(redis_client, "cam-1", OptimizerAction.APPLY)  # no optimization_id
    await redis_client.xadd(OPTIMIZER_REQUESTS, {"v": "1", "type": "optimizer_request",
                                                 "data": '{"camera_id": "BAD ID!"}'})  # fmt: skip
    old = utc_now() - timedelta(hours=3)
    await request(redis_client, "cam-2", OptimizerAction.APPLY, optimization_id=1,
                  requested_at=old)  # fmt: skip
    await request(redis_client, "cam-3", OptimizerAction.VERIFY, optimization_id=2)
    await request(redis_client, "cam-4", OptimizerAction.INSPECT)  # the marker
    async with trigger(redis_client, calls, RequestActions(inspect=calls.act, apply=calls.act)):
        await eventually(lambda: len(calls.actions) == 1)
        await eventually(lambda: count("verify", "unsupported") == unsupported + 1)
    assert calls.actions == [("inspect", "cam-4", None)]
    assert count("apply", "expired") == expired + 1
    letters = [Envelope.from_fields(f).unwrap(DeadLetter) for _, f in
               cast(Entries, await redis_client.xrange(DLQ))]  # fmt: skip
    assert len(letters) == 2
    assert {letter.group for letter in letters} == {GROUP}
    errors = sorted(letter.error for letter in letters)
    assert "apply needs optimization_id" in errors[0]
    assert "camera_id" in errors[1]
    assert await pending(redis_client) == 0


async def test_duplicate_recommend_requests_give_one_review(
    redis_client: redis.asyncio.Redis,
) -> None:
    release = asyncio.Event()
    reviews: list[str] = []

    async def slow_review(camera_id: str, reason: str) -> None:
        reviews.append(camera_id)
        await release.wait()

    calls = Calls()
    calls.review = slow_review  # type: ignore[method-assign]
    duplicates = count("recommend", "duplicate")
    async with trigger(redis_client, calls):
        for _ in range(3):
            await request(redis_client, "cam-1", OptimizerAction.RECOMMEND)
        await eventually(lambda: count("recommend", "duplicate") == duplicates + 2)
        release.set()
        await asyncio.sleep(0.2)
    assert reviews == ["cam-1"]
