"""FleetScheduler: bounds, fairness across sites, priority, dedup/upgrade/follow-up, timeouts,
failures and shutdown, measured by the reviews themselves (a review callable that records
what runs at the same time)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import REGISTRY

from vigil_optimizer.scheduler import FleetScheduler, Reason, Submitted


class Recorder:
    """A review callable with a simulated latency per camera; records starts, ends and the
    peak number of reviews running at once, globally and per site."""

    def __init__(self, site_of: dict[str, str], latency: dict[str, float] | None = None):
        self.site_of = site_of
        self.latency = latency or {}
        self.started: list[tuple[str, str]] = []
        self.finished: list[str] = []
        self.running: Counter[str] = Counter()
        self.peak_global = 0
        self.peak_site: Counter[str] = Counter()
        self.rng = random.Random(7)

    async def __call__(self, camera_id: str, reason: str) -> None:
        site = self.site_of.get(camera_id, "")
        self.started.append((camera_id, reason))
        self.running[site] += 1
        self.peak_global = max(self.peak_global, sum(self.running.values()))
        self.peak_site[site] = max(self.peak_site[site], self.running[site])
        try:
            delay = self.latency.get(camera_id, self.rng.uniform(0.001, 0.01))
            await asyncio.sleep(delay)
            if camera_id.startswith("broken"):
                raise RuntimeError("camera said no")
        finally:
            self.running[site] -= 1
        self.finished.append(camera_id)


@contextlib.asynccontextmanager
async def running(scheduler: FleetScheduler, drain_s: float = 1.0) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop, drain_s=drain_s))
    try:
        yield stop
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def wait_until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def fleet(sizes: dict[str, int]) -> dict[str, str]:
    return {f"{site}-{i:03d}": site for site, n in sizes.items() for i in range(n)}


async def test_never_more_than_the_bounds_and_both_are_reached() -> None:
    sites = fleet({"north": 30, "south": 30, "east": 30, "west": 3})
    recorder = Recorder(sites)
    scheduler = FleetScheduler(recorder, global_concurrency=7, per_site_concurrency=3,
                               timeout_s=5, site_of=sites.get)  # fmt: skip
    async with running(scheduler):
        for camera in sites:
            assert scheduler.submit(camera, Reason.PERIODIC) is Submitted.QUEUED
        await asyncio.wait_for(scheduler.wait_idle(), 10)
    assert sorted(recorder.finished) == sorted(sites)
    assert recorder.peak_global == 7
    assert max(recorder.peak_site.values()) == 3
    assert recorder.peak_site["west"] <= 3


async def test_a_small_site_is_served_in_turn_with_a_big_one() -> None:
    sites = fleet({"big": 40, "small": 4})
    recorder = Recorder(sites)
    scheduler = FleetScheduler(recorder, global_concurrency=1, per_site_concurrency=1,
                               site_of=sites.get)  # fmt: skip
    for camera in sites:  # the big site's 40 first, then the small site's 4
        scheduler.submit(camera, Reason.PERIODIC)
    async with running(scheduler):
        await asyncio.wait_for(scheduler.wait_idle(), 10)
    order = [sites[camera] for camera, _ in recorder.started]
    assert order[:8] == ["big", "small"] * 4
    assert order[8:] == ["big"] * 36


async def test_a_busy_site_does_not_block_free_slots_for_other_sites() -> None:
    sites = fleet({"busy": 10, "quiet": 2})
    latency = {camera: (2.0 if site == "busy" else 0.01) for camera, site in sites.items()}
    recorder = Recorder(sites, latency)
    scheduler = FleetScheduler(recorder, global_concurrency=4, per_site_concurrency=2,
                               site_of=sites.get)  # fmt: skip
    for camera in sites:
        scheduler.submit(camera, Reason.PERIODIC)
    async with running(scheduler, drain_s=0):
        await wait_until(lambda: len(recorder.finished) == 2, timeout_s=1.5)
        assert set(recorder.finished) == {"quiet-000", "quiet-001"}  # while busy ones still run
        assert recorder.peak_site["busy"] == 2


async def test_higher_reasons_go_first_within_a_site() -> None:
    recorder = Recorder({})
    scheduler = FleetScheduler(recorder, global_concurrency=1, per_site_concurrency=1)
    scheduler.submit("cam-a", Reason.PERIODIC)
    scheduler.submit("cam-b", Reason.DEGRADED_HEALTH)
    scheduler.submit("cam-c", Reason.PERIODIC)
    scheduler.submit("cam-d", Reason.MANUAL)
    assert scheduler.submit("cam-c", Reason.MANUAL) is Submitted.UPGRADED
    async with running(scheduler):
        await asyncio.wait_for(scheduler.wait_idle(), 10)
    assert recorder.started == [
        ("cam-c", "manual"), ("cam-d", "manual"), ("cam-b", "degraded_health"),
        ("cam-a", "periodic"),
    ]  # fmt: skip


async def test_queued_camera_is_deduplicated_and_upgraded() -> None:
    recorder = Recorder({})
    scheduler = FleetScheduler(recorder)
    assert scheduler.submit("cam-1", "periodic") is Submitted.QUEUED
    assert scheduler.submit("cam-1", "periodic") is Submitted.DUPLICATE
    assert scheduler.submit("cam-1", "degraded_health") is Submitted.UPGRADED
    assert scheduler.submit("cam-1", "periodic") is Submitted.DUPLICATE
    assert scheduler.submit("cam-1", "manual") is Submitted.UPGRADED
    assert scheduler.submit("cam-1", "degraded_health") is Submitted.DUPLICATE
    assert scheduler.state_of("cam-1") == ("queued", Reason.MANUAL)
    assert scheduler.queued == 1
    async with running(scheduler):
        await asyncio.wait_for(scheduler.wait_idle(), 10)
    assert recorder.started == [("cam-1", "manual")]


async def test_running_camera_gets_one_follow_up_for_a_higher_reason_only() -> None:
    release = asyncio.Event()
    calls: list[str] = []

    async def review(camera_id: str, reason: str) -> None:
        calls.append(reason)
        if len(calls) == 1:
            await release.wait()

    scheduler = FleetScheduler(review)
    scheduler.submit("cam-1", Reason.PERIODIC)
    async with running(scheduler):
        await wait_until(lambda: bool(calls))
        assert scheduler.state_of("cam-1") == ("running", Reason.PERIODIC)
        assert scheduler.submit("cam-1", Reason.PERIODIC) is Submitted.DUPLICATE
        assert scheduler.submit("cam-1", Reason.DEGRADED_HEALTH) is Submitted.FOLLOW_UP
        assert scheduler.submit("cam-1", Reason.DEGRADED_HEALTH) is Submitted.DUPLICATE
        assert scheduler.submit("cam-1", Reason.MANUAL) is Submitted.FOLLOW_UP
        assert scheduler.submit("cam-1", Reason.MANUAL) is Submitted.DUPLICATE
        release.set()
        await asyncio.wait_for(scheduler.wait_idle(), 10)
    assert calls == ["periodic", "manual"]


async def test_a_hanging_camera_times_out_and_the_others_finish_meanwhile() -> None:
    sites = {"dead-cam": "s1", **fleet({"s1": 12})}
    recorder = Recorder(sites, {"dead-cam": 3600.0})
    before = sample("vigil_optimizer_reviews_total", reason="periodic", outcome="timeout")
    scheduler = FleetScheduler(recorder, global_concurrency=2, per_site_concurrency=2,
                               timeout_s=2.0, site_of=sites.get)  # fmt: skip
    for camera in sites:
        scheduler.submit(camera, Reason.PERIODIC)
    async with running(scheduler):
        # all twelve go through the one slot the dead camera leaves, before its timeout
        await wait_until(lambda: len(recorder.finished) == 12, timeout_s=1.5)
        assert scheduler.state_of("dead-cam") == ("running", Reason.PERIODIC)
        await asyncio.wait_for(scheduler.wait_idle(), 5)
    assert "dead-cam" not in recorder.finished
    after = sample("vigil_optimizer_reviews_total", reason="periodic", outcome="timeout")
    assert after == before + 1


async def test_a_failing_review_is_counted_and_frees_its_slot() -> None:
    sites = {"broken-1": "s", "broken-2": "s", "fine-1": "s"}
    recorder = Recorder(sites)
    before = sample("vigil_optimizer_reviews_total", reason="manual", outcome="error")
    ok_before = sample("vigil_optimizer_reviews_total", reason="manual", outcome="ok")
    scheduler = FleetScheduler(recorder, global_concurrency=1, per_site_concurrency=1)
    for camera in sites:
        scheduler.submit(camera, Reason.MANUAL)
    async with running(scheduler):
        await asyncio.wait_for(scheduler.wait_idle(), 5)
    assert recorder.finished == ["fine-1"]
    assert sample("vigil_optimizer_reviews_total", reason="manual", outcome="error") == before + 2
    assert sample("vigil_optimizer_reviews_total", reason="manual", outcome="ok") == ok_before + 1


async def test_stop_drops_the_queue_and_cancels_reviews_past_the_drain() -> None:
    sites = fleet({"s": 5})
    recorder = Recorder(sites, dict.fromkeys(sites, 3600.0))
    scheduler = FleetScheduler(recorder, global_concurrency=2, per_site_concurrency=2)
    for camera in sites:
        scheduler.submit(camera, Reason.PERIODIC)
    async with running(scheduler, drain_s=0.1):
        await wait_until(lambda: len(recorder.started) == 2)
    assert scheduler.running == 0
    assert scheduler.queued == 0
    assert len(recorder.started) == 2
    assert scheduler.submit("s-000", Reason.MANUAL) is Submitted.CLOSED
    await asyncio.wait_for(scheduler.wait_idle(), 1)


async def test_bad_input_is_refused_clearly() -> None:
    scheduler = FleetScheduler(Recorder({}))
    with pytest.raises(ValueError):
        scheduler.submit("Not A Camera!", Reason.MANUAL)
    with pytest.raises(ValueError):
        scheduler.submit("cam-1", "whenever")
    with pytest.raises(ValueError):
        FleetScheduler(Recorder({}), global_concurrency=0)
    with pytest.raises(ValueError):
        FleetScheduler(Recorder({}), timeout_s=0)


async def test_five_hundred_simulated_cameras_with_latency_finish_in_bounded_time() -> None:
    """The benchmark's shape: 500 cameras on 10 sites, 20-60 ms per review, 32/4 bounds:
    ideally 500 x 40 ms / 32 = 0.625 s; one dead camera per site changes nothing."""
    sites = fleet({f"site{i}": 50 for i in range(10)})
    rng = random.Random(3)
    latency = {camera: rng.uniform(0.02, 0.06) for camera in sites}
    latency.update({f"site{i}-000": 3600.0 for i in range(10)})
    recorder = Recorder(sites, latency)
    scheduler = FleetScheduler(recorder, global_concurrency=32, per_site_concurrency=4,
                               timeout_s=1.5, site_of=sites.get)  # fmt: skip
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with running(scheduler):
        for camera in sites:
            scheduler.submit(camera, Reason.PERIODIC)
        await asyncio.wait_for(scheduler.wait_idle(), 20)
    assert len(recorder.finished) == 490
    assert recorder.peak_global <= 32
    assert max(recorder.peak_site.values()) <= 4
    assert loop.time() - started < 6.0
