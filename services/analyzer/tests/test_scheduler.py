"""FairScheduler: a busy camera cannot starve quiet ones; order and supersession."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil_analyzer.scheduler import FairScheduler, PendingFrame

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def frames(camera: str, count: int, start: int = 0) -> list[PendingFrame[str]]:
    return [
        PendingFrame(camera, T0 + timedelta(seconds=0.2 * n), n, f"{camera}#{n}")
        for n in range(start, start + count)
    ]


def cams(batch: list[PendingFrame[str]]) -> list[str]:
    return [f.camera_id for f in batch]


def test_quiet_cameras_are_served_in_the_first_batch_despite_a_busy_one() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=4)
    # the busy camera's frames come first in the read batch
    plan = scheduler.plan(frames("busy", 20) + frames("q1", 1) + frames("q2", 1))
    assert cams(plan.batches[0]) == ["busy", "q1", "q2", "busy"]
    assert all(cams(b) == ["busy"] * len(b) for b in plan.batches[1:])
    assert sum(len(b) for b in plan.batches) == 22
    assert not plan.superseded


def test_one_frame_per_camera_per_batch_when_there_is_no_spare_room() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=3)
    read = [f for cam in ("a", "b", "c", "d", "e") for f in frames(cam, 2)]
    plan = scheduler.plan(read)
    for batch in plan.batches:
        assert len(set(cams(batch))) == len(batch)
    assert [cams(b) for b in plan.batches] == [
        ["a", "b", "c"],
        ["d", "e", "a"],
        ["b", "c", "d"],
        ["e"],
    ]


def test_each_cameras_frames_keep_their_order() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=2)
    read = list(reversed(frames("a", 5))) + frames("b", 3)
    plan = scheduler.plan(read)
    flat = [f for batch in plan.batches for f in batch]
    for cam in ("a", "b"):
        numbers = [f.frame_number for f in flat if f.camera_id == cam]
        assert numbers == sorted(numbers)


def test_least_recently_served_camera_goes_first_next_time() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=8)
    scheduler.plan(frames("a", 1) + frames("b", 1))  # served a then b
    plan = scheduler.plan(frames("b", 1, 1) + frames("a", 1, 1) + frames("new", 1))
    assert cams(plan.batches[0]) == ["new", "a", "b"]


def test_busy_camera_beyond_its_share_keeps_only_its_newest_frames() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=4, frame_budget=8)
    plan = scheduler.plan(frames("busy", 50) + frames("q1", 1) + frames("q2", 1))
    kept = [f for batch in plan.batches for f in batch]
    assert len(kept) == 8
    busy_kept = [f.frame_number for f in kept if f.camera_id == "busy"]
    assert busy_kept == list(range(44, 50))
    assert {f.camera_id for f in kept} == {"busy", "q1", "q2"}
    assert [f.frame_number for f in plan.superseded] == list(range(44))
    assert {f.camera_id for f in plan.superseded} == {"busy"}


def test_budget_is_shared_evenly_among_busy_cameras() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=4, frame_budget=9)
    plan = scheduler.plan(frames("a", 10) + frames("b", 10) + frames("c", 2))
    kept = [f for batch in plan.batches for f in batch]
    counts = {cam: sum(1 for f in kept if f.camera_id == cam) for cam in "abc"}
    assert counts == {"a": 4, "b": 3, "c": 2}
    assert len(plan.superseded) == 13


def test_within_budget_nothing_is_superseded() -> None:
    scheduler: FairScheduler[str] = FairScheduler(max_batch=4, frame_budget=8)
    assert not scheduler.plan(frames("a", 8)).superseded


def test_plans_are_deterministic() -> None:
    read = frames("x", 7) + frames("y", 3) + frames("z", 5)
    one: FairScheduler[str] = FairScheduler(max_batch=4, frame_budget=10)
    two: FairScheduler[str] = FairScheduler(max_batch=4, frame_budget=10)
    assert one.plan(read) == two.plan(list(reversed(read)))


def test_empty_read_batch_and_bad_arguments() -> None:
    assert FairScheduler[str](max_batch=2).plan([]).batches == []
    with pytest.raises(ValueError):
        FairScheduler[str](max_batch=0)
    with pytest.raises(ValueError):
        FairScheduler[str](max_batch=1, frame_budget=0)
