"""Believable per-camera event and health sequences.

A :class:`CameraScene` keeps a handful of tracked objects that enter the field of view, move
across it frame after frame (same ``track_id``, drifting bbox and confidence) and leave. Each
processed frame yields one event: ``object_detected`` while something is tracked, ``motion``
otherwise (with a motion score and regions), and now and then a ``scene_change``. The dicts
use the wire names of :class:`vigil_schema.mqtt.CameraEvent` (``class`` for the label) and
are serialised as they are.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from vigil_schema.enums import EventType, HealthLevel

# (class, share of spawns, typical width and height in pixels at 1280x720, speed px/s)
OBJECT_KINDS: Final = (
    ("person", 0.45, (70.0, 180.0), 60.0),
    ("car", 0.25, (220.0, 120.0), 220.0),
    ("bicycle", 0.1, (90.0, 110.0), 120.0),
    ("truck", 0.08, (300.0, 170.0), 160.0),
    ("dog", 0.07, (80.0, 55.0), 90.0),
    ("cat", 0.05, (55.0, 40.0), 50.0),
)
SPAWN_PER_SECOND: Final = 0.12
MAX_TRACKS: Final = 4
SCENE_CHANGE_PROBABILITY: Final = 0.002
REFERENCE_WIDTH: Final = 1280.0


@dataclass(slots=True)
class Track:
    """One object followed across frames, in pixel coordinates."""

    track_id: int
    class_name: str
    x: float
    y: float
    w: float
    h: float
    vx: float
    vy: float
    confidence: float

    def step(self, dt: float, jitter: float) -> None:
        """Move by one frame; ``jitter`` (-1..1) nudges the detector's confidence."""
        self.x += self.vx * dt
        self.y += self.vy * dt
        self.confidence = min(0.99, max(0.3, self.confidence + 0.02 * jitter))

    def visible_bbox(self, width: float, height: float) -> list[int] | None:
        """``[x, y, w, h]`` in whole pixels clipped to the frame, ``None`` once it has left."""
        left, top = max(0, int(self.x)), max(0, int(self.y))
        right, bottom = (
            min(int(width), int(self.x + self.w)),
            min(int(height), int(self.y + self.h)),
        )
        if right - left < 2 or bottom - top < 2:
            return None
        return [left, top, right - left, bottom - top]


class CameraScene:
    """The event generator of one camera (not thread-safe; one per camera).

    Kept cheap on purpose (a few microseconds per event): whole-pixel boxes, one random draw
    per track and frame, the measured fps refreshed once a second rather than per event.
    """

    def __init__(
        self,
        camera_id: str,
        rng: random.Random,
        *,
        fps: float,
        resolution: tuple[int, int] = (1280, 720),
    ) -> None:
        self.camera_id = camera_id
        self._rng = rng
        self._fps = fps if fps > 0 else 30.0
        self._dt = 1.0 / self._fps
        self._width, self._height = float(resolution[0]), float(resolution[1])
        self._scale = self._width / REFERENCE_WIDTH
        self._tracks: list[Track] = []
        self._next_track_id = 1
        self._frames_seen = 0
        self._fps_actual = self._fps

    def next_event(self, ts: datetime, frame_number: int) -> dict[str, Any]:
        """Advance one frame and return its event as a JSON-ready dict."""
        objects = self._advance()
        if self._rng.random() < SCENE_CHANGE_PROBABILITY:
            return self._scene_change(ts, frame_number)
        if objects:
            event = self._base(EventType.OBJECT_DETECTED, ts, frame_number)
            event["objects"] = objects
            event["motion_score"] = min(1.0, 0.2 + 0.1 * len(objects))
            event["inference_ms"] = 8.0 + int(self._rng.random() * 2700) / 100
            return event
        return self._motion(ts, frame_number)

    def _advance(self) -> list[dict[str, Any]]:
        """Move the tracks one frame, drop those that left, maybe spawn one; the objects."""
        rng = self._rng
        self._frames_seen += 1
        if self._frames_seen % int(self._fps) == 0:
            self._fps_actual = round(min(1000.0, max(0.0, self._fps + rng.gauss(0.0, 0.3))), 2)
        objects: list[dict[str, Any]] = []
        kept: list[Track] = []
        for track in self._tracks:
            track.step(self._dt, rng.random() * 2.0 - 1.0)
            bbox = track.visible_bbox(self._width, self._height)
            if bbox is None:
                continue
            kept.append(track)
            objects.append(
                {
                    "class": track.class_name,
                    "confidence": int(track.confidence * 1000) / 1000,
                    "bbox": bbox,
                    "track_id": track.track_id,
                }
            )
        self._tracks = kept
        if len(kept) < MAX_TRACKS and rng.random() < SPAWN_PER_SECOND * self._dt:
            self._tracks.append(self._spawn())
        return objects

    def _spawn(self) -> Track:
        rng = self._rng
        weights = [kind[1] for kind in OBJECT_KINDS]
        name, _, (w, h), speed = rng.choices(OBJECT_KINDS, weights=weights)[0]
        size = rng.uniform(0.7, 1.3) * self._scale
        w, h = w * size, h * size
        from_left = rng.random() < 0.5
        vx = speed * self._scale * rng.uniform(0.6, 1.4) * (1.0 if from_left else -1.0)
        track = Track(
            track_id=self._next_track_id,
            class_name=name,
            x=-w * 0.5 if from_left else self._width - w * 0.5,
            y=rng.uniform(0.35, 0.9) * (self._height - h),
            w=w,
            h=h,
            vx=vx,
            vy=rng.gauss(0.0, 8.0) * self._scale,
            confidence=rng.uniform(0.55, 0.95),
        )
        self._next_track_id += 1
        return track

    def _base(self, event_type: EventType, ts: datetime, frame_number: int) -> dict[str, Any]:
        return {
            "event_type": event_type.value,
            "ts": ts,
            "frame_number": frame_number,
            "camera_id": self.camera_id,
            "fps_actual": self._fps_actual,
        }

    def _motion(self, ts: datetime, frame_number: int) -> dict[str, Any]:
        rng = self._rng
        event = self._base(EventType.MOTION, ts, frame_number)
        event["motion_score"] = int(rng.betavariate(1.2, 12.0) * 1000) / 1000
        width, height, scale = self._width, self._height, self._scale
        regions = []
        for _ in range(1 + int(rng.random() * 3)):
            w, h = int((20 + rng.random() * 180) * scale), int((20 + rng.random() * 130) * scale)
            x, y = int(rng.random() * (width - w)), int(rng.random() * (height - h))
            regions.append({"bbox": [x, y, w, h], "score": int(rng.random() * 1000) / 1000})
        event["motion_regions"] = regions
        return event

    def _scene_change(self, ts: datetime, frame_number: int) -> dict[str, Any]:
        self._tracks.clear()
        event = self._base(EventType.SCENE_CHANGE, ts, frame_number)
        event["scene_hash"] = f"{self._rng.getrandbits(64):016x}"
        event["scene_change_score"] = round(self._rng.uniform(0.6, 1.0), 3)
        event["image_quality_score"] = round(self._rng.uniform(0.5, 0.95), 3)
        return event


DEGRADED_BRIGHTNESS: Final = (8.0, 30.0)
DEGRADED_NOISE: Final = (14.0, 24.0)


class HealthModel:
    """A camera's health readings: slow drifts, occasional warnings. A ``degraded`` camera
    reports a dark, noisy picture (brightness within :data:`DEGRADED_BRIGHTNESS`, noise within
    :data:`DEGRADED_NOISE`) and a ``warning`` status."""

    def __init__(
        self, camera_id: str, rng: random.Random, *, fps: float, degraded: bool = False
    ) -> None:
        self.camera_id = camera_id
        self._rng = rng
        self._fps = fps if fps > 0 else 30.0
        self._degraded = degraded
        low, high = DEGRADED_BRIGHTNESS if degraded else (90.0, 160.0)
        self._brightness = rng.uniform(low, high)
        self._temperature = rng.uniform(35.0, 50.0)
        self._uptime = rng.uniform(60.0, 86_400.0)

    def sample(self, ts: datetime, interval_s: float) -> dict[str, Any]:
        """The next health sample as a JSON-ready dict (wire names of ``HealthSample``)."""
        rng = self._rng
        low, high = DEGRADED_BRIGHTNESS if self._degraded else (5.0, 255.0)
        self._brightness = min(high, max(low, self._brightness + rng.gauss(0.0, 3.0)))
        self._temperature = min(90.0, max(20.0, self._temperature + rng.gauss(0.0, 0.3)))
        self._uptime += interval_s
        drops = rng.choices((0, rng.randint(1, 5), rng.randint(10, 60)), (0.85, 0.12, 0.03))[0]
        level = HealthLevel.OK if drops < 10 and not self._degraded else HealthLevel.WARNING
        noise = rng.uniform(*DEGRADED_NOISE) if self._degraded else rng.uniform(0.5, 6.0)
        sample: dict[str, Any] = {
            "ts": ts,
            "camera_id": self.camera_id,
            "status": level.value,
            "brightness": round(self._brightness, 2),
            "noise_level": round(noise, 3),
            "blur_score": round(rng.uniform(80.0, 400.0), 2),
            "bitrate_mbps": round(rng.uniform(1.5, 6.0), 3),
            "fps_actual": round(min(1000.0, max(0.0, self._fps - drops / 60.0)), 2),
            "frame_drops": drops,
            "latency_ms": round(rng.uniform(20.0, 180.0), 2),
            "cpu_percent": round(rng.uniform(10.0, 70.0), 1),
            "temperature_c": round(self._temperature, 1),
            "uptime_s": round(self._uptime, 1),
        }
        if self._degraded:
            sample["message"] = "picture too dark and noisy"
        elif level is HealthLevel.WARNING:
            sample["message"] = f"{drops} frames dropped in the last {interval_s:g} s"
        return sample
