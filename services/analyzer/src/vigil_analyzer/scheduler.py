"""Fair scheduling of admitted frames into detector batches across cameras.

The software form of seed 001's DLPU scheduler (§2.3: one shared accelerator, cameras served
by their next time slot): here the shared resource is the detector, and a camera's slot is
the order in which it was last served. Contract (pure, deterministic, no I/O):

- :meth:`FairScheduler.plan` takes the admitted frames of one read batch (any cameras, any
  order) and returns inference batches of at most ``max_batch`` frames. Cameras are served
  least-recently-served first (ties by camera id), one frame per turn, round robin, so
  within a batch a camera gets a second frame only when every other camera with frames
  waiting already has one there (spare room), and a busy camera cannot starve the others.
  Each camera's frames keep their order (timestamp, then frame number) across and within
  batches. Serving order persists between calls.
- Falling behind: when a read batch holds more than ``frame_budget`` frames, the budget is
  shared fairly (round robin in the same order, a camera with few frames keeps them all)
  and each camera keeps only its newest frames within its share; the older ones come back
  as ``superseded`` (the lead acks and counts them; tracking resumes from the newest).

Written by hand: it is a few lines of round robin that no library provides in this form.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PendingFrame(Generic[T]):
    """An admitted frame waiting for the detector; ``item`` is the lead's payload."""

    camera_id: str
    ts: datetime
    frame_number: int
    item: T


@dataclass(slots=True)
class SchedulePlan(Generic[T]):
    """Inference batches in run order, and the frames dropped as superseded."""

    batches: list[list[PendingFrame[T]]] = field(default_factory=list)
    superseded: list[PendingFrame[T]] = field(default_factory=list)


class FairScheduler(Generic[T]):
    """Least-recently-served-first round robin over cameras."""

    def __init__(self, max_batch: int, frame_budget: int | None = None) -> None:
        """``frame_budget``: most frames one :meth:`plan` keeps (None: no limit)."""
        if max_batch < 1 or (frame_budget is not None and frame_budget < 1):
            raise ValueError("max_batch and frame_budget must be ≥ 1")
        self._max_batch = max_batch
        self._budget = frame_budget
        self._served: dict[str, int] = {}
        self._turn = 0

    def plan(self, frames: Sequence[PendingFrame[T]]) -> SchedulePlan[T]:
        """Split ``frames`` into fair batches, superseding the oldest beyond the budget."""
        queues = self._queues(frames)
        order = sorted(queues, key=lambda cam: (self._served.get(cam, -1), cam))
        plan: SchedulePlan[T] = SchedulePlan()
        if self._budget is not None and len(frames) > self._budget:
            shares = self._shares(order, {cam: len(q) for cam, q in queues.items()})
            for cam in order:
                for _ in range(len(queues[cam]) - shares[cam]):
                    plan.superseded.append(queues[cam].popleft())
        plan.batches = self._batches(deque(cam for cam in order if queues[cam]), queues)
        return plan

    @staticmethod
    def _queues(frames: Sequence[PendingFrame[T]]) -> dict[str, deque[PendingFrame[T]]]:
        by_camera: dict[str, list[PendingFrame[T]]] = {}
        for frame in frames:
            by_camera.setdefault(frame.camera_id, []).append(frame)
        return {
            cam: deque(sorted(items, key=lambda f: (f.ts, f.frame_number)))
            for cam, items in by_camera.items()
        }

    def _shares(self, order: list[str], counts: dict[str, int]) -> dict[str, int]:
        shares = dict.fromkeys(order, 0)
        remaining = self._budget or 0
        active = [cam for cam in order if counts[cam] > 0]
        while remaining > 0 and active:
            for cam in list(active):
                if remaining == 0:
                    break
                shares[cam] += 1
                remaining -= 1
                if shares[cam] == counts[cam]:
                    active.remove(cam)
        return shares

    def _batches(
        self, turns: deque[str], queues: dict[str, deque[PendingFrame[T]]]
    ) -> list[list[PendingFrame[T]]]:
        batches: list[list[PendingFrame[T]]] = []
        batch: list[PendingFrame[T]] = []
        while turns:
            cam = turns.popleft()
            batch.append(queues[cam].popleft())
            self._turn += 1
            self._served[cam] = self._turn
            if queues[cam]:
                turns.append(cam)
            if len(batch) == self._max_batch:
                batches.append(batch)
                batch = []
        if batch:
            batches.append(batch)
        return batches

    def forget(self, camera_id: str) -> None:
        """Drop a camera's serving history."""
        self._served.pop(camera_id, None)
