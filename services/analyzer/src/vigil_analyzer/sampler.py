"""Per-camera frame sampling: a detect-rate cap by the frames' own timestamps, then a motion gate.

Contract (pure, per replica; no I/O):

- :meth:`FrameSampler.precheck` decides from the timestamp alone, before any decoding: a
  frame older than ``max_frame_age_s`` when read is ``stale``; one less than
  ``1 / detect_fps`` from a frame of its camera that took a rate slot (before or after it)
  is ``rate`` (a 10 % tolerance absorbs timestamp jitter, so a 30 fps camera capped at 5 fps
  gives 5, not 4.3); one older than the camera's newest slot that still fits the cap is
  ``late``. It changes no state.
- Late frames are normal with several replicas: a frame another replica read is handed to
  the camera's owner after the owner read newer ones, and a dead replica's frames are
  reclaimed after the new owner went on. They are analysed, not skipped: ``decide`` gives
  them a rate slot and the reason ``late`` (no motion gate: their predecessor is not the
  reference), and the pipeline detects them outside the camera's tracker, zones and heatmap,
  whose state has moved past them. The slots of the last ``SLOT_HISTORY`` admitted frames
  per camera are kept for the cap.
- :meth:`FrameSampler.decide` runs the same check, then (the frame passed the rate cap and
  takes that camera's rate slot whatever the motion says, so decoding is capped too) the
  motion gate on a downscaled grayscale frame (``cv2.IMREAD_REDUCED_GRAYSCALE_4`` or ``_8``):
  both frames are Gaussian-blurred (sensor noise, JPEG blocks), and the score is the share
  of pixels whose absolute difference from the camera's previous gated frame exceeds
  ``noise_threshold`` (grey levels). Below ``motion_threshold`` the frame is ``still`` and
  skipped, unless the camera has tracked objects present (their dwell and loitering need
  every frame). The first frame of a camera, or one whose size changed, has no reference:
  it is admitted with ``motion=None`` and no mask.
- The :class:`SampleDecision` carries the reason (``admitted`` or the skip reason, for the
  ``skipped{reason}`` metric), the motion score and the boolean motion mask (for heatmaps).

OpenCV does the blur and difference; only the bookkeeping is written here.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

GrayImage = npt.NDArray[np.uint8]
"""A downscaled grayscale frame, ``H×W``, ``uint8``."""
MotionMask = npt.NDArray[np.bool_]
"""Pixels of the downscaled frame that changed beyond the noise threshold."""

RATE_TOLERANCE = 0.1
"""Fraction of the rate interval a frame may come early and still pass the cap."""
SLOT_HISTORY = 256
"""Rate slots remembered per camera (late frames are capped against them)."""


class SampleReason(StrEnum):
    """Why a frame was admitted or skipped (the metric's ``reason`` label)."""

    ADMITTED = "admitted"
    RATE = "rate"
    STILL = "still"
    STALE = "stale"
    LATE = "late"
    """Admitted, older than the camera's newest analysed frame (not a skip)."""


@dataclass(frozen=True, slots=True)
class SampleDecision:
    """The sampler's verdict on one frame."""

    reason: SampleReason
    motion: float | None = None
    """Share of changed pixels (0–1); None when not measured."""
    mask: MotionMask | None = None

    @property
    def admitted(self) -> bool:
        """Whether the frame goes on to the detector (in order or late)."""
        return self.reason in (SampleReason.ADMITTED, SampleReason.LATE)


@dataclass(slots=True)
class _CameraState:
    last_ts: float
    reference: npt.NDArray[np.uint8] | None = None
    slots: list[float] = field(default_factory=list)
    """Timestamps that took a rate slot, sorted, the last SLOT_HISTORY."""

    def take_slot(self, ts: float) -> None:
        bisect.insort(self.slots, ts)
        if len(self.slots) > SLOT_HISTORY:
            del self.slots[0]

    def nearest_slot(self, ts: float) -> float:
        """Distance to the closest slot (inf without any)."""
        i = bisect.bisect_left(self.slots, ts)
        near = self.slots[max(0, i - 1) : i + 1]
        return min((abs(ts - s) for s in near), default=float("inf"))


class FrameSampler:
    """Rate cap and motion gate for every camera of this replica."""

    def __init__(
        self,
        *,
        detect_fps: float,
        motion_threshold: float,
        max_frame_age_s: float,
        noise_threshold: int = 25,
        blur_kernel: int = 5,
    ) -> None:
        if detect_fps <= 0 or blur_kernel < 1 or blur_kernel % 2 == 0:
            raise ValueError("detect_fps must be > 0 and blur_kernel an odd number ≥ 1")
        self._interval = 1.0 / detect_fps
        self._motion_threshold = motion_threshold
        self._max_age = max_frame_age_s
        self._noise = noise_threshold
        self._kernel = (blur_kernel, blur_kernel)
        self._cameras: dict[str, _CameraState] = {}

    def precheck(self, camera_id: str, ts: datetime, now: datetime) -> SampleReason | None:
        """The skip reason the timestamp alone gives, or None if the frame passes the cap."""
        if (now - ts).total_seconds() > self._max_age:
            return SampleReason.STALE
        state = self._cameras.get(camera_id)
        if state is None:
            return None
        stamp = ts.timestamp()
        if state.nearest_slot(stamp) < self._interval * (1 - RATE_TOLERANCE):
            return SampleReason.RATE
        return SampleReason.LATE if stamp < state.last_ts else None

    def decide(
        self,
        camera_id: str,
        ts: datetime,
        gray: GrayImage,
        *,
        now: datetime,
        tracked_present: bool = False,
    ) -> SampleDecision:
        """Rate cap then motion gate; records the frame as the camera's latest gated one."""
        verdict = self.precheck(camera_id, ts, now)
        state = self._cameras.get(camera_id)
        if verdict is SampleReason.LATE and state is not None:
            state.take_slot(ts.timestamp())
            return SampleDecision(SampleReason.LATE)
        if verdict is not None:
            return SampleDecision(verdict)
        blurred = np.asarray(cv2.GaussianBlur(gray, self._kernel, 0), dtype=np.uint8)
        if state is None:
            state = self._cameras[camera_id] = _CameraState(last_ts=ts.timestamp())
        state.take_slot(ts.timestamp())
        reference, state.reference, state.last_ts = state.reference, blurred, ts.timestamp()
        if reference is None or reference.shape != blurred.shape:
            return SampleDecision(SampleReason.ADMITTED)
        mask: MotionMask = cv2.absdiff(blurred, reference) > self._noise
        score = float(np.count_nonzero(mask)) / mask.size
        if score < self._motion_threshold and not tracked_present:
            return SampleDecision(SampleReason.STILL, score, mask)
        return SampleDecision(SampleReason.ADMITTED, score, mask)

    def forget(self, camera_id: str) -> None:
        """Drop a camera's state (it was removed or moved to another replica)."""
        self._cameras.pop(camera_id, None)
