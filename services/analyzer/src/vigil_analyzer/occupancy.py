"""Per-camera zone occupancy, entries, exits with dwell time, and loitering.

Contract (pure; one :class:`ZoneAnalyzer` per camera, analysed frames in timestamp order):

- **Occupancy** per zone and counted class (:meth:`Zone.counts`) is the number of this
  frame's detections, confirmed tracks or not, whose box centre is in the zone
  (:mod:`vigil_analyzer.zones`). A row (``occupancy_events`` columns) is emitted when the
  count changes and at least every ``heartbeat_s`` (frame time) while it does not. Zones
  listing classes report each of them from the first frame, zeros included; a zone counting
  every class reports the classes it has seen so far. ``raw_data`` holds the counted
  objects' track ids, boxes ``[x, y, w, h]`` and confidences.
- **Visits** are per confirmed track and zone: an *entry* on the first frame the track's
  centre is in the zone; an *exit* on the first frame it is seen outside (``lost=False``) or
  when the tracker forgets it (``lost=True``); a frame that simply misses the object keeps
  the visit open. Dwell = last frame seen inside − entry frame, in seconds.
- **Loitering**: once a visit's dwell reaches ``loiter_s``, one :class:`LoiterEvent` per
  visit (the lead turns it into an ``AlertCandidate``).
- :meth:`ZoneAnalyzer.reload` swaps the configuration: zones that still exist (same name,
  ignoring case) keep their counters and open visits (those of classes they still count);
  the others are dropped without events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vigil_analyzer.tracking import TrackedObject
from vigil_analyzer.zones import counting_zones, zone_ids
from vigil_schema.camera import Zone, ZoneConfig
from vigil_schema.tables import OCCUPANCY_EVENTS


@dataclass(frozen=True, slots=True)
class OccupancyRow:
    """One ``occupancy_events`` row (without ``id``; ``created_at`` is added by :meth:`as_row`)."""

    camera_id: str
    ts: datetime
    zone_id: str
    object_class: str
    occupied_count: int
    capacity: int | None
    frame_number: int
    raw_data: dict[str, Any]

    def as_row(self, created_at: datetime) -> tuple[Any, ...]:
        """The row as a tuple in ``OCCUPANCY_EVENTS.column_names`` order (for CopyWriter)."""
        values = {
            "camera_id": self.camera_id,
            "ts": self.ts,
            "zone_id": self.zone_id,
            "object_class": self.object_class,
            "occupied_count": self.occupied_count,
            "capacity": self.capacity,
            "frame_number": self.frame_number,
            "raw_data": self.raw_data,
            "created_at": created_at,
        }
        return tuple(values[name] for name in OCCUPANCY_EVENTS.column_names)


@dataclass(frozen=True, slots=True)
class ZoneEntry:
    """A confirmed track entered a zone."""

    zone_id: str
    object_class: str
    track_id: int
    ts: datetime
    frame_number: int


@dataclass(frozen=True, slots=True)
class ZoneExit:
    """A track's visit of a zone ended (seen outside, or forgotten by the tracker)."""

    zone_id: str
    object_class: str
    track_id: int
    entered_at: datetime
    left_at: datetime
    """The last frame it was seen inside."""
    dwell_s: float
    lost: bool
    ts: datetime
    """The frame on which the exit was recognised."""
    frame_number: int


@dataclass(frozen=True, slots=True)
class LoiterEvent:
    """A track stayed in a zone past ``loiter_s`` (once per visit)."""

    camera_id: str
    zone_id: str
    object_class: str
    track_id: int
    entered_at: datetime
    dwell_s: float
    ts: datetime
    frame_number: int


@dataclass(slots=True)
class ZoneUpdate:
    """What one frame produced; ``zone_ids`` is aligned with the input objects."""

    zone_ids: list[list[str]] = field(default_factory=list)
    occupancy: list[OccupancyRow] = field(default_factory=list)
    entries: list[ZoneEntry] = field(default_factory=list)
    exits: list[ZoneExit] = field(default_factory=list)
    loitering: list[LoiterEvent] = field(default_factory=list)


@dataclass(slots=True)
class _Reported:
    count: int
    ts: datetime


@dataclass(slots=True)
class _Visit:
    object_class: str
    entered_at: datetime
    last_inside: datetime
    loitered: bool = False


@dataclass(slots=True)
class _ZoneState:
    zone: Zone
    reported: dict[str, _Reported] = field(default_factory=dict)
    visits: dict[int, _Visit] = field(default_factory=dict)


class ZoneAnalyzer:
    """Occupancy and visits of one camera's zones."""

    def __init__(
        self, camera_id: str, config: ZoneConfig, *, heartbeat_s: float, loiter_s: float
    ) -> None:
        self.camera_id = camera_id
        self._heartbeat_s = heartbeat_s
        self._loiter_s = loiter_s
        self.config = ZoneConfig()
        self._states: dict[str, _ZoneState] = {}
        self.reload(config)

    def reload(self, config: ZoneConfig) -> None:
        """Swap the zones, keeping the state of those that still exist (by name)."""
        old = self._states
        self._states = {}
        for zone in config.zones:
            key = zone.name.casefold()
            state = _ZoneState(zone)
            if key in old:
                state.reported = {c: r for c, r in old[key].reported.items() if zone.counts(c)}
                state.visits = {
                    t: v for t, v in old[key].visits.items() if zone.counts(v.object_class)
                }
            self._states[key] = state
        self.config = config

    def update(
        self,
        objects: Sequence[TrackedObject],
        ts: datetime,
        frame_number: int,
        forgotten: Iterable[int] = (),
    ) -> ZoneUpdate:
        """Account one analysed frame's tracked objects (and the tracks just forgotten)."""
        out = ZoneUpdate(zone_ids=[zone_ids(self.config, obj.detection) for obj in objects])
        members: dict[tuple[str, str], list[TrackedObject]] = {}
        inside: dict[str, set[int]] = {key: set() for key in self._states}
        for obj in objects:
            for zone in counting_zones(self.config, obj.detection):
                key = zone.name.casefold()
                members.setdefault((key, obj.class_name), []).append(obj)
                if obj.track_id is not None:
                    inside[key].add(obj.track_id)
                    self._visit(key, obj, ts, frame_number, out)
        seen = {obj.track_id for obj in objects if obj.track_id is not None}
        gone = set(forgotten)
        for key, state in self._states.items():
            self._occupancy(state, members, key, ts, frame_number, out)
            self._exits(state, seen - inside[key], gone, ts, frame_number, out)
        return out

    def _visit(
        self, key: str, obj: TrackedObject, ts: datetime, frame_number: int, out: ZoneUpdate
    ) -> None:
        state = self._states[key]
        assert obj.track_id is not None
        visit = state.visits.get(obj.track_id)
        if visit is None:
            visit = state.visits[obj.track_id] = _Visit(obj.class_name, ts, ts)
            out.entries.append(
                ZoneEntry(state.zone.name, obj.class_name, obj.track_id, ts, frame_number)
            )
        visit.last_inside = ts
        dwell = (ts - visit.entered_at).total_seconds()
        if not visit.loitered and dwell >= self._loiter_s:
            visit.loitered = True
            out.loitering.append(
                LoiterEvent(
                    self.camera_id,
                    state.zone.name,
                    visit.object_class,
                    obj.track_id,
                    visit.entered_at,
                    dwell,
                    ts,
                    frame_number,
                )
            )

    def _occupancy(
        self,
        state: _ZoneState,
        members: dict[tuple[str, str], list[TrackedObject]],
        key: str,
        ts: datetime,
        frame_number: int,
        out: ZoneUpdate,
    ) -> None:
        seen_classes = {cls for (zkey, cls) in members if zkey == key}
        classes = state.zone.classes or sorted(set(state.reported) | seen_classes)
        for cls in classes:
            counted = members.get((key, cls), [])
            last = state.reported.get(cls)
            due = last is None or (ts - last.ts).total_seconds() >= self._heartbeat_s
            if not due and last is not None and last.count == len(counted):
                continue
            state.reported[cls] = _Reported(len(counted), ts)
            out.occupancy.append(
                OccupancyRow(
                    camera_id=self.camera_id,
                    ts=ts,
                    zone_id=state.zone.name,
                    object_class=cls,
                    occupied_count=len(counted),
                    capacity=state.zone.capacity,
                    frame_number=frame_number,
                    raw_data=_raw(counted),
                )
            )

    @staticmethod
    def _exits(
        state: _ZoneState,
        outside: set[int],
        forgotten: set[int],
        ts: datetime,
        frame_number: int,
        out: ZoneUpdate,
    ) -> None:
        for track_id in sorted(state.visits.keys() & (outside | forgotten)):
            visit = state.visits.pop(track_id)
            out.exits.append(
                ZoneExit(
                    zone_id=state.zone.name,
                    object_class=visit.object_class,
                    track_id=track_id,
                    entered_at=visit.entered_at,
                    left_at=visit.last_inside,
                    dwell_s=(visit.last_inside - visit.entered_at).total_seconds(),
                    lost=track_id not in outside,
                    ts=ts,
                    frame_number=frame_number,
                )
            )


def _raw(objects: Sequence[TrackedObject]) -> dict[str, Any]:
    return {
        "track_ids": [obj.track_id for obj in objects],
        "boxes": [
            [obj.detection.x, obj.detection.y, obj.detection.w, obj.detection.h] for obj in objects
        ],
        "confidences": [obj.detection.confidence for obj in objects],
    }
