"""Which analysed frames go to Claude, and why: `SelectionPolicy`.

For each frame the pipeline gives the facts it found (`FrameFacts`); `select` answers the
first rule that applies, or None:

1. a manual request (a question) for this camera → `REAL_TIME_QUERY`, urgent;
2. a track of a class of interest confirmed in this frame → `ANOMALY_DETECTION`, urgent;
3. a class of interest entering a zone within the alert hours → `ANOMALY_DETECTION`,
   urgent;
4. the scene changed: the frame's perceptual hash (`dhash`) is at least
   `scene_change_distance` bits from the last frame analysed for the camera, or the camera
   has no analysed frame yet → `SCENE_DESCRIPTION`, routine (it may go through the Message
   Batches API at half the price).

`select` remembers nothing: the caller calls `analysed(camera_id, phash)` for the frame it
takes (the analyst does so at selection, before the limits: the frames that follow while
the call is in flight, or while a limit refuses it, are the same scene and must not be
selected again; a scene change refused by a limit is not retried, the next one is measured
from it) and `forget` when the camera leaves this replica. Alert hours are local to `tz`
(`"22:00-06:00"` wraps midnight: from 22:00 to 06:00 the next morning; an empty string is
every hour; equal start and end are the whole day). The policy counts nothing; the caller
counts what it selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from vigil_schema.enums import AnalysisRequestType

if TYPE_CHECKING:
    from vigil_analyzer.settings import AnalyzerSettings

__all__ = [
    "FrameFacts",
    "Selection",
    "SelectionPolicy",
    "SelectionReason",
    "dhash",
    "hamming",
    "parse_hours",
]

SelectionReason = Literal["manual", "new_track", "zone_entry", "scene_change"]


def dhash(gray: np.ndarray) -> int:
    """64-bit difference hash: the image shrunk to 9×8 (`cv2.INTER_AREA`), one bit per
    horizontally adjacent pair, set where the left pixel is brighter. A colour (BGR) image
    is converted to gray first."""
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int32)
    bits = small[:, :-1] > small[:, 1:]
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hamming(a: int, b: int) -> int:
    """How many bits differ between two hashes."""
    return (a ^ b).bit_count()


def parse_hours(hours: str) -> tuple[time, time] | None:
    """`"HH:MM-HH:MM"` as (start, end); None for `""` (every hour). ValueError if malformed."""
    text = hours.strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"alert hours must look like 22:00-06:00, got {hours!r}")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def in_hours(hours: tuple[time, time] | None, now: time) -> bool:
    """Whether `now` is within `hours` (start inclusive, end exclusive; wraps midnight)."""
    if hours is None:
        return True
    start, end = hours
    if start < end:
        return start <= now < end
    if start > end:
        return now >= start or now < end
    return True


@dataclass(frozen=True, slots=True)
class FrameFacts:
    """What the pipeline found in one frame, as far as Claude's selection cares."""

    camera_id: str
    ts: datetime
    phash: int
    new_track_classes: Sequence[str] = ()
    """Classes of tracks confirmed in this frame."""
    zone_entry_classes: Sequence[str] = ()
    """Classes that entered a zone in this frame."""
    question: str | None = None
    """A manual request for this camera."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Why a frame goes to Claude and how soon."""

    request_type: AnalysisRequestType
    reason: SelectionReason
    urgent: bool
    """Urgent goes at once; routine may go through the Batches API."""


_MANUAL = Selection(AnalysisRequestType.REAL_TIME_QUERY, "manual", urgent=True)
_NEW_TRACK = Selection(AnalysisRequestType.ANOMALY_DETECTION, "new_track", urgent=True)
_ZONE_ENTRY = Selection(AnalysisRequestType.ANOMALY_DETECTION, "zone_entry", urgent=True)
_SCENE_CHANGE = Selection(AnalysisRequestType.SCENE_DESCRIPTION, "scene_change", urgent=False)


class SelectionPolicy:
    """The rules of the module docstring, with each camera's last analysed hash."""

    def __init__(
        self,
        *,
        classes_of_interest: Sequence[str],
        scene_change_distance: int,
        alert_hours: str,
        tz: tzinfo = UTC,
    ) -> None:
        self._interest = frozenset(classes_of_interest)
        self._distance = scene_change_distance
        self._hours = parse_hours(alert_hours)
        self._tz = tz
        self._last: dict[str, int] = {}

    @classmethod
    def from_settings(cls, settings: AnalyzerSettings) -> SelectionPolicy:
        """The policy the analyzer's settings describe (alert hours in ``claude_alert_tz``)."""
        return cls(
            classes_of_interest=settings.classes_of_interest,
            scene_change_distance=settings.claude_scene_change_distance,
            alert_hours=settings.claude_alert_hours,
            tz=ZoneInfo(settings.claude_alert_tz),
        )

    def select(self, facts: FrameFacts) -> Selection | None:
        """The first rule that applies to this frame, or None."""
        if facts.question:
            return _MANUAL
        if self._interest.intersection(facts.new_track_classes):
            return _NEW_TRACK
        if self._interest.intersection(facts.zone_entry_classes) and self._alert_hour(facts.ts):
            return _ZONE_ENTRY
        last = self._last.get(facts.camera_id)
        if last is None or hamming(last, facts.phash) >= self._distance:
            return _SCENE_CHANGE
        return None

    def analysed(self, camera_id: str, phash: int) -> None:
        """Remember the hash of the frame last taken for `camera_id` (scene change is
        measured from it)."""
        self._last[camera_id] = phash

    def forget(self, camera_id: str) -> None:
        """Drop what is remembered of `camera_id`."""
        self._last.pop(camera_id, None)

    def _alert_hour(self, ts: datetime) -> bool:
        aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        return in_hours(self._hours, aware.astimezone(self._tz).time())
