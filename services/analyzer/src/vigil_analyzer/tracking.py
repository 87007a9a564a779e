"""Per-camera object tracking with ByteTrack, plus first-seen time and stationarity.

Contract (pure, one :class:`CameraTracker` per camera, frames in timestamp order):

- :meth:`CameraTracker.update` takes one analysed frame's :class:`BoxDetection` list (boxes
  normalised), converts them to pixel ``xyxy`` ``supervision.Detections`` for the frame's
  size and runs ByteTrack with the frame's own timestamp (so gaps left by the sampler are
  predicted over correctly). Every detection comes back once, in input order, as a
  :class:`TrackedObject`: the detector's own box and class (never the Kalman estimate) plus
  ``track_id`` (None while ByteTrack has not confirmed the track), ``first_seen`` (the
  track's first confirmed frame) and ``stationary``: the track has been seen for at least
  ``stationary_window_s`` and its box centre moved less than ``stationary_fraction`` of the
  frame (each axis, normalised) over that window.
- A track not seen for ``lost_timeout_s`` is forgotten: ByteTrack drops it and its id is
  returned once in :attr:`TrackerUpdate.forgotten` (zones close its visits).
- ``tracked_present`` tells the sampler whether the last frame had confirmed tracks.

ByteTrack itself is the maintained implementation: ``sv.ByteTrack`` was removed from
supervision in 0.31.0; its successor is ``ByteTrackTracker`` from Roboflow's ``trackers``
package (same authors; ``update`` replaces ``update_with_detections``), which needs the
non-headless OpenCV, so the analyzer pins supervision < 0.31 and uses ``sv.ByteTrack``;
``ByteTrackTracker`` is used when importable. ByteTrack is class-agnostic; a track takes the
class of its current detection.
"""

from __future__ import annotations

import importlib
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

import numpy as np
import supervision as sv

from vigil_analyzer.detectors.base import BoxDetection

INDEX_KEY = "vigil_index"
"""``Detections.data`` key carrying each detection's input position through the tracker."""


class _ByteTrackLike(Protocol):
    def update(self, detections: sv.Detections, timestamp: float | None = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """ByteTrack and bookkeeping parameters (defaults suit 1–10 fps analysis)."""

    frame_rate: float = 5.0
    """Analysed frames per second (the sampler's ``detect_fps``)."""
    lost_timeout_s: float = 3.0
    track_activation_threshold: float = 0.25
    """Lowest confidence that starts a track (the detector's own floor by default)."""
    high_conf_det_threshold: float = 0.5
    minimum_consecutive_frames: int = 2
    minimum_iou_threshold: float = 0.1
    stationary_window_s: float = 10.0
    stationary_fraction: float = 0.02


@dataclass(frozen=True, slots=True)
class TrackedObject:
    """A detection with its track."""

    detection: BoxDetection
    track_id: int | None
    first_seen: datetime
    stationary: bool = False

    @property
    def center(self) -> tuple[float, float]:
        """The box centre, normalised."""
        return self.detection.center

    @property
    def class_name(self) -> str:
        """The detection's class."""
        return self.detection.class_name


@dataclass(frozen=True, slots=True)
class TrackerUpdate:
    """The tracked objects of one frame (input order) and the track ids just forgotten."""

    objects: list[TrackedObject]
    forgotten: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _History:
    first_seen: datetime
    last_seen: float
    centres: deque[tuple[float, float, float]] = field(default_factory=deque)


def make_bytetrack(config: TrackerConfig) -> _ByteTrackLike:
    """A ByteTrack instance from ``trackers`` (preferred) or supervision < 0.31."""
    kwargs: dict[str, Any] = {
        "lost_track_buffer": max(1, round(config.lost_timeout_s * 30)),  # in 30 fps frames
        "frame_rate": config.frame_rate,
        "track_activation_threshold": config.track_activation_threshold,
        "minimum_consecutive_frames": config.minimum_consecutive_frames,
        "minimum_iou_threshold": config.minimum_iou_threshold,
        "high_conf_det_threshold": config.high_conf_det_threshold,
    }
    try:
        module = importlib.import_module("trackers")
        return cast(_ByteTrackLike, module.ByteTrackTracker(**kwargs))
    except ImportError:
        legacy = getattr(sv, "ByteTrack", None)
        if legacy is None:
            raise ImportError(
                "ByteTrack needs the 'trackers' package (supervision ≥ 0.31 removed sv.ByteTrack)"
            ) from None
        with warnings.catch_warnings():  # the pin is deliberate (module docstring)
            warnings.filterwarnings("ignore", "The `ByteTrack` was deprecated", FutureWarning)
            tracker = legacy(**_legacy_kwargs(config))
        return cast(_ByteTrackLike, _LegacyByteTrack(tracker))


def _legacy_kwargs(config: TrackerConfig) -> dict[str, Any]:
    return {
        "track_activation_threshold": config.track_activation_threshold,
        "lost_track_buffer": max(1, round(config.lost_timeout_s * config.frame_rate)),
        "minimum_matching_threshold": 0.8,
        "frame_rate": round(config.frame_rate) or 1,
        "minimum_consecutive_frames": config.minimum_consecutive_frames,
    }


class _LegacyByteTrack:
    """``sv.ByteTrack`` (supervision < 0.31) behind the ``update`` name."""

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker

    def update(self, detections: sv.Detections, timestamp: float | None = None) -> Any:
        return self._tracker.update_with_detections(detections)


def to_sv_detections(boxes: Sequence[BoxDetection], width: int, height: int) -> sv.Detections:
    """Normalised boxes → pixel ``xyxy`` detections, each tagged with its input index."""
    if not boxes:
        return sv.Detections.empty()
    xyxy = np.array(
        [[b.x * width, b.y * height, (b.x + b.w) * width, (b.y + b.h) * height] for b in boxes],
        dtype=np.float32,
    )
    return sv.Detections(
        xyxy=xyxy,
        confidence=np.array([b.confidence for b in boxes], dtype=np.float32),
        class_id=np.array([b.class_id for b in boxes], dtype=int),
        data={INDEX_KEY: np.arange(len(boxes))},
    )


class CameraTracker:
    """ByteTrack for one camera, with track histories for first-seen and stationarity."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracker = make_bytetrack(self.config)
        self._history: dict[int, _History] = {}
        self.tracked_present = False

    def update(
        self, boxes: Sequence[BoxDetection], ts: datetime, width: int, height: int
    ) -> TrackerUpdate:
        """Track one analysed frame's detections (``width``×``height``: the frame in pixels)."""
        now = ts.timestamp()
        ids = self._track_ids(boxes, width, height, now)
        objects = [self._object(box, ids.get(i), ts, now) for i, box in enumerate(boxes)]
        self.tracked_present = any(obj.track_id is not None for obj in objects)
        return TrackerUpdate(objects, self._forget(now))

    def _track_ids(
        self, boxes: Sequence[BoxDetection], width: int, height: int, now: float
    ) -> dict[int, int]:
        result = self._tracker.update(to_sv_detections(boxes, width, height), timestamp=now)
        ids: dict[int, int] = {}
        if len(result) == 0 or result.tracker_id is None:
            return ids
        for index, track_id in zip(result.data[INDEX_KEY], result.tracker_id, strict=True):
            if int(track_id) >= 0:
                ids[int(index)] = int(track_id)
        return ids

    def _object(
        self, box: BoxDetection, track_id: int | None, ts: datetime, now: float
    ) -> TrackedObject:
        if track_id is None:
            return TrackedObject(box, None, ts)
        history = self._history.get(track_id)
        if history is None:
            history = self._history[track_id] = _History(first_seen=ts, last_seen=now)
        history.last_seen = now
        cx, cy = box.center
        history.centres.append((now, cx, cy))
        return TrackedObject(box, track_id, history.first_seen, self._stationary(history, now))

    def _stationary(self, history: _History, now: float) -> bool:
        window = self.config.stationary_window_s
        centres = history.centres
        while len(centres) > 1 and centres[1][0] <= now - window:
            centres.popleft()  # keep one sample at or before the window's start
        if now - centres[0][0] < window:
            return False
        xs = [c[1] for c in centres]
        ys = [c[2] for c in centres]
        limit = self.config.stationary_fraction
        return max(xs) - min(xs) < limit and max(ys) - min(ys) < limit

    def _forget(self, now: float) -> list[int]:
        expired = [
            tid
            for tid, hist in self._history.items()
            if now - hist.last_seen > self.config.lost_timeout_s
        ]
        for tid in expired:
            del self._history[tid]
        return expired
