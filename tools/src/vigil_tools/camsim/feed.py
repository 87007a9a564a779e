"""One simulated camera: its topics, frame counter and the messages it produces.

Every event and every frame takes the camera's next frame number, so frame numbers only grow
per camera and never repeat (the ingest's dedup keys include them). With a bad ratio, each
message is replaced by a malformed one of a random :class:`BadKind` with that probability.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import orjson
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from vigil_schema.enums import CameraStatus
from vigil_schema.topics import events_topic, frames_topic, health_topic, status_topic
from vigil_tools.camsim.frames import FrameClip
from vigil_tools.camsim.malformed import (
    EVENT_KINDS,
    FRAME_KINDS,
    HEALTH_KINDS,
    TRUNCATED_JPEG,
    BadKind,
    corrupt_json,
)
from vigil_tools.camsim.scene import CameraScene, HealthModel
from vigil_tools.camsim.stats import FleetStats, MessageKind, Tag

HEALTH_TAG: Final = Tag(MessageKind.HEALTH)
FRAME_TAG: Final = Tag(MessageKind.FRAMES)
STATUS_TAG: Final = Tag(MessageKind.STATUS)
BAD_TAG: Final = Tag(MessageKind.BAD)
OFFLINE_WILL: Final = CameraStatus.OFFLINE.value.encode()
"""The Last Will payload: plain ``offline`` (a will's timestamp would be stale)."""


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message ready for :meth:`WindowedPublisher.publish_now`."""

    topic: str
    payload: bytes
    tag: Tag
    properties: Properties | None = None


def status_payload(status: CameraStatus) -> bytes:
    """``{"status": ..., "ts": ...}`` for the retained status topic."""
    return orjson.dumps({"status": status.value, "ts": datetime.now(UTC)})


class CameraFeed:
    """Message factory of one camera (events, health, frames, status)."""

    def __init__(
        self,
        camera_id: str,
        rng: random.Random,
        stats: FleetStats,
        *,
        fps: float,
        batch: int,
        bad_ratio: float,
        resolution: tuple[int, int],
        clip: FrameClip | None = None,
        degraded: bool = False,
    ) -> None:
        self.camera_id = camera_id
        self.events_topic = events_topic(camera_id)
        self.health_topic = health_topic(camera_id)
        self.frames_topic = frames_topic(camera_id)
        self.status_topic = status_topic(camera_id)
        self._rng = rng
        self._stats = stats
        self._batch = batch
        self._bad_ratio = bad_ratio
        self._event_tag = Tag(MessageKind.EVENTS, batch)
        self._frame_dt = timedelta(seconds=1.0 / fps if fps > 0 else 1.0 / 30.0)
        self._scene = CameraScene(camera_id, rng, fps=fps, resolution=resolution)
        self._health = HealthModel(camera_id, rng, fps=fps, degraded=degraded)
        self._clip = clip
        self._clip_position = rng.randrange(len(clip.frames)) if clip else 0
        self.frame_number = 0
        self._last_ts: datetime | None = None

    def _batch_step(self, now: datetime) -> timedelta:
        """Spacing of a batch's timestamps: one frame interval, squeezed when the camera runs
        faster than its fps, so timestamps keep increasing and never lie in the future."""
        if self._last_ts is None:
            return self._frame_dt
        return min(self._frame_dt, (now - self._last_ts) / (self._batch + 1))

    def _next_frame_number(self) -> int:
        number = self.frame_number
        self.frame_number += 1
        return number

    def _bad_kind(self, kinds: tuple[BadKind, ...], topic_kind: MessageKind) -> BadKind | None:
        if self._bad_ratio <= 0 or self._rng.random() >= self._bad_ratio:
            return None
        kind = self._rng.choice(kinds)
        self._stats.bad[kind] += 1
        self._stats.bad_by_topic[topic_kind] += 1
        return kind

    def events(self) -> Outgoing:
        """The next event message: ``batch`` consecutive frames' events."""
        now = datetime.now(UTC)
        scene = self._scene
        if self._batch == 1:
            events = [scene.next_event(now, self._next_frame_number())]
        else:
            step = self._batch_step(now)
            last = self._batch - 1
            events = [
                scene.next_event(now - step * (last - index), self._next_frame_number())
                for index in range(self._batch)
            ]
        self._last_ts = now
        bad = self._bad_kind(EVENT_KINDS, MessageKind.EVENTS)
        if bad is not None:
            return Outgoing(
                self.events_topic, corrupt_json(bad, events, self.camera_id, self._rng), BAD_TAG
            )
        body = orjson.dumps(events if self._batch > 1 else events[0])
        return Outgoing(self.events_topic, body, self._event_tag)

    def health(self, interval_s: float) -> Outgoing:
        """The next health sample."""
        sample = self._health.sample(datetime.now(UTC), interval_s)
        bad = self._bad_kind(HEALTH_KINDS, MessageKind.HEALTH)
        if bad is not None:
            payload = corrupt_json(bad, [sample], self.camera_id, self._rng)
            return Outgoing(self.health_topic, payload, BAD_TAG)
        return Outgoing(self.health_topic, orjson.dumps(sample), HEALTH_TAG)

    def frame(self) -> Outgoing:
        """The next JPEG of the camera's clip, with user properties ``ts`` and
        ``frame_number`` (and ``width``/``height``)."""
        if self._clip is None:
            raise RuntimeError("frames are off for this fleet (frame_fps = 0)")
        clip = self._clip
        jpeg = clip.frames[self._clip_position]
        self._clip_position = (self._clip_position + 1) % len(clip.frames)
        user = [
            ("ts", datetime.now(UTC).isoformat()),
            ("frame_number", str(self._next_frame_number())),
            ("width", str(clip.width)),
            ("height", str(clip.height)),
        ]
        tag = FRAME_TAG
        bad = self._bad_kind(FRAME_KINDS, MessageKind.FRAMES)
        if bad is BadKind.FRAME_MISSING_PROPERTY:
            user = [item for item in user if item[0] != "frame_number"]
            tag = BAD_TAG
        elif bad is BadKind.FRAME_NOT_JPEG:
            jpeg, tag = TRUNCATED_JPEG, BAD_TAG
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.UserProperty = user
        return Outgoing(self.frames_topic, jpeg, tag, properties)
