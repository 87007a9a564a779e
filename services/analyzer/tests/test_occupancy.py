"""ZoneAnalyzer on a composed scene: exact occupancy, entries, exits, dwell and loitering.

The scene (1 frame per second, t = 0..21) in a square zone ``lot`` (persons and cars):
- person 1 inside t=0..10, seen outside at t=11 (exit, dwell 10 s), gone after t=12;
- person 2 always outside ``lot``, inside ``door`` (every class);
- car 3 inside from t=3 to t=20, forgotten by the tracker at t=21 (exit lost, dwell 17 s);
- person 4 inside t=5..8, missed t=9..10, inside t=11..12, forgotten at t=15 (dwell 7 s);
- an unconfirmed person (no track id) inside at t=2 only: counted, never enters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vigil_analyzer.detectors.base import BoxDetection
from vigil_analyzer.occupancy import (
    LoiterEvent,
    OccupancyRow,
    ZoneAnalyzer,
    ZoneEntry,
    ZoneExit,
)
from vigil_analyzer.tracking import TrackedObject
from vigil_schema.camera import Zone, ZoneConfig
from vigil_schema.tables import OCCUPANCY_EVENTS

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LOT = Zone(
    name="lot",
    polygon=[(0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6)],
    classes=["person", "car"],
    capacity=10,
)
DOOR = Zone(name="door", polygon=[(0.7, 0.7), (0.9, 0.7), (0.9, 0.9), (0.7, 0.9)])
CONFIG = ZoneConfig(zones=[LOT, DOOR])
INSIDE, OUTSIDE, AT_DOOR = (0.4, 0.4), (0.95, 0.1), (0.8, 0.8)


def at(t: float) -> datetime:
    return T0 + timedelta(seconds=t)


def obj(cls: str, centre: tuple[float, float], track_id: int | None) -> TrackedObject:
    w, h = (0.1, 0.06) if cls == "car" else (0.04, 0.12)
    box = BoxDetection(
        2 if cls == "car" else 0, cls, 0.9, centre[0] - w / 2, centre[1] - h / 2, w, h
    )
    return TrackedObject(box, track_id, T0)


def scene(t: int) -> list[TrackedObject]:
    objects = []
    if t <= 10:
        objects.append(obj("person", INSIDE, 1))
    elif t <= 12:
        objects.append(obj("person", OUTSIDE, 1))
    objects.append(obj("person", AT_DOOR, 2))
    if 3 <= t <= 20:
        objects.append(obj("car", (0.3, 0.5), 3))
    if 5 <= t <= 8 or 11 <= t <= 12:
        objects.append(obj("person", (0.5, 0.3), 4))
    if t == 2:
        objects.append(obj("person", (0.25, 0.25), None))
    return objects


FORGOTTEN = {15: [4], 21: [3]}


@dataclass
class SceneRun:
    entries: list[ZoneEntry] = field(default_factory=list)
    exits: list[ZoneExit] = field(default_factory=list)
    loiters: list[LoiterEvent] = field(default_factory=list)
    rows: list[OccupancyRow] = field(default_factory=list)
    zone_ids: list[list[list[str]]] = field(default_factory=list)


def run_scene(loiter_s: float = 8.0) -> SceneRun:
    analyzer = ZoneAnalyzer("cam", CONFIG, heartbeat_s=5.0, loiter_s=loiter_s)
    run = SceneRun()
    for t in range(22):
        update = analyzer.update(scene(t), at(t), frame_number=t, forgotten=FORGOTTEN.get(t, ()))
        run.entries += update.entries
        run.exits += update.exits
        run.loiters += update.loitering
        run.rows += update.occupancy
        run.zone_ids.append(update.zone_ids)
    return run


def series(rows: list[OccupancyRow], zone: str, cls: str) -> list[tuple[int, int]]:
    return [
        (int((r.ts - T0).total_seconds()), r.occupied_count)
        for r in rows
        if r.zone_id == zone and r.object_class == cls
    ]


def test_occupancy_rows_on_change_and_heartbeat() -> None:
    rows = run_scene().rows
    assert series(rows, "lot", "person") == [
        (0, 1),
        (2, 2),
        (3, 1),
        (5, 2),
        (9, 1),
        (13, 0),
        (18, 0),
    ]
    assert series(rows, "lot", "car") == [(0, 0), (3, 1), (8, 1), (13, 1), (18, 1), (21, 0)]
    assert series(rows, "door", "person") == [(0, 1), (5, 1), (10, 1), (15, 1), (20, 1)]
    assert {r.object_class for r in rows if r.zone_id == "door"} == {"person"}
    assert all(r.capacity == 10 for r in rows if r.zone_id == "lot")
    assert all(r.capacity is None for r in rows if r.zone_id == "door")


def test_every_frames_count_matches_the_scene() -> None:
    analyzer = ZoneAnalyzer("cam", CONFIG, heartbeat_s=0.5, loiter_s=60)  # a row every frame
    expected_person = [1, 1, 2, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1] + [0] * 9
    expected_car = [0, 0, 0] + [1] * 18 + [0]
    for t in range(22):
        rows = analyzer.update(scene(t), at(t), t, FORGOTTEN.get(t, ())).occupancy
        counts = {r.object_class: r.occupied_count for r in rows if r.zone_id == "lot"}
        assert counts == {"person": expected_person[t], "car": expected_car[t]}, t


def test_entries_exits_and_dwell_times() -> None:
    run = run_scene()
    entries, exits = run.entries, run.exits
    assert [(e.zone_id, e.track_id, e.object_class, e.ts) for e in entries] == [
        ("lot", 1, "person", at(0)),
        ("door", 2, "person", at(0)),
        ("lot", 3, "car", at(3)),
        ("lot", 4, "person", at(5)),
    ]
    assert [(x.zone_id, x.track_id, x.dwell_s, x.lost, x.left_at, x.ts) for x in exits] == [
        ("lot", 1, 10.0, False, at(10), at(11)),
        ("lot", 4, 7.0, True, at(12), at(15)),
        ("lot", 3, 17.0, True, at(20), at(21)),
    ]


def test_loitering_once_per_visit() -> None:
    loiters = run_scene(loiter_s=8.0).loiters
    assert [
        (e.zone_id, e.track_id, e.object_class, e.dwell_s, e.ts, e.frame_number) for e in loiters
    ] == [
        ("lot", 1, "person", 8.0, at(8), 8),
        ("door", 2, "person", 8.0, at(8), 8),
        ("lot", 3, "car", 8.0, at(11), 11),
    ]
    assert all(e.camera_id == "cam" and e.entered_at <= e.ts for e in loiters)


def test_zone_ids_are_geometric_and_aligned_with_the_objects() -> None:
    zone_ids = run_scene().zone_ids
    assert zone_ids[0] == [["lot"], ["door"]]
    assert zone_ids[2] == [["lot"], ["door"], ["lot"]]
    assert zone_ids[11] == [[], ["door"], ["lot"], ["lot"]]
    cars_only = ZoneConfig(zones=[Zone(name="bay", polygon=LOT.polygon, classes=["car"])])
    analyzer = ZoneAnalyzer("cam", cars_only, heartbeat_s=60, loiter_s=60)
    update = analyzer.update([obj("person", INSIDE, 7)], at(0), 0)
    assert update.zone_ids == [["bay"]]  # it is in the bay ...
    assert [(r.object_class, r.occupied_count) for r in update.occupancy] == [("car", 0)]
    assert update.entries == []  # ... but persons do not count there


def test_reload_keeps_surviving_zones_and_drops_the_others() -> None:
    analyzer = ZoneAnalyzer("cam", CONFIG, heartbeat_s=60, loiter_s=60)
    for t in range(5):
        analyzer.update(scene(t), at(t), t)
    gate = Zone(name="gate", polygon=DOOR.polygon)
    renamed = Zone(name="LOT", polygon=LOT.polygon, classes=["person"], capacity=5)
    analyzer.reload(ZoneConfig(zones=[renamed, gate]))
    update = analyzer.update(scene(5), at(5), 5)
    # person 1 continues its visit (no new entry); person 4 is new; the car no longer counts
    assert [(e.zone_id, e.track_id) for e in update.entries] == [("gate", 2), ("LOT", 4)]
    assert [
        (r.zone_id, r.object_class, r.occupied_count, r.capacity) for r in update.occupancy
    ] == [
        ("LOT", "person", 2, 5),
        ("gate", "person", 1, None),
    ]
    exits = analyzer.update(scene(11), at(11), 11).exits
    assert [(x.zone_id, x.track_id, x.dwell_s) for x in exits] == [
        ("LOT", 1, 5.0)
    ]  # last seen inside at t=5


def test_row_tuple_follows_the_table_columns() -> None:
    rows = run_scene().rows
    created = at(100)
    record = dict(zip(OCCUPANCY_EVENTS.column_names, rows[1].as_row(created), strict=True))
    assert record["created_at"] == created
    assert record["zone_id"] == rows[1].zone_id
    lot_row = next(
        r
        for r in rows
        if r.zone_id == "lot" and r.object_class == "person" and r.occupied_count == 2
    )
    assert lot_row.raw_data["track_ids"] == [1, None]
    assert len(lot_row.raw_data["boxes"]) == 2


# ----------------------------------------------------------------- property: brute force

unit = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
centres = st.lists(st.tuples(unit, unit, st.sampled_from(["person", "car", "dog"])), max_size=30)


def inside_by_opencv(zone: Zone) -> Callable[[float, float], float]:
    contour = np.array(zone.polygon, dtype=np.float32).reshape(-1, 1, 2)
    return lambda x, y: cv2.pointPolygonTest(contour, (x, y), True)


@settings(max_examples=150, deadline=None)
@given(
    triangle=st.lists(st.tuples(unit, unit), min_size=3, max_size=3, unique=True), objects=centres
)
def test_counts_equal_brute_force(
    triangle: list[tuple[float, float]], objects: list[tuple[float, float, str]]
) -> None:
    (ax, ay), (bx, by), (cx, cy) = triangle
    assume(abs((bx - ax) * (cy - ay) - (by - ay) * (cx - ax)) > 0.02)
    zone = Zone(name="z", polygon=triangle, classes=["person", "car"])
    distance = inside_by_opencv(zone)
    assume(all(abs(distance(x, y)) > 1e-4 for x, y, _ in objects))  # no centre on the edge
    analyzer = ZoneAnalyzer("cam", ZoneConfig(zones=[zone]), heartbeat_s=60, loiter_s=60)
    tracked = [obj(cls, (x, y), i) for i, (x, y, cls) in enumerate(objects)]
    rows = analyzer.update(tracked, at(0), 0).occupancy
    got = {r.object_class: r.occupied_count for r in rows}
    for cls in ("person", "car"):
        want = sum(1 for x, y, c in objects if c == cls and distance(x, y) > 0)
        assert got[cls] == want
