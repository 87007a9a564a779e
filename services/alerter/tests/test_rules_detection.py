"""Detection and event rules: which detections and events a rule fires on, with what identity.

Pure functions over the real stream message models and the real configuration models; the
time intervals are part A's (a ``night`` interval 22:00-06:00 UTC).
"""

from __future__ import annotations

from vigil_alerter.config.models import EventRule
from vigil_alerter.rules import detection_matches, event_matches
from vigil_alerter.rules.event_rule import event_score

from .rules_support import DAY, NIGHT, Holder, detection, event, events, frame

HOLDER = Holder.from_yaml()
INTERVALS = HOLDER.current.intervals


def rule(name: str) -> EventRule:
    return next(r for r in HOLDER.current.config.rules if r.name == name)


def test_a_person_in_a_listed_zone_at_night_matches_with_zone_and_class() -> None:
    message = frame("lot-1", NIGHT, detection("person", 0.8, ["door", "hall"], track=4))
    [match] = detection_matches(rule("intruder"), message, INTERVALS)
    assert match.camera_id == "lot-1"
    assert dict(match.key_labels) == {"zone": "door", "object_class": "person"}
    assert match.confidence == 0.8
    assert match.at == NIGHT
    assert match.details["track_id"] == 4
    assert match.details["bbox"] == [10.0, 20.0, 30.0, 40.0]


def test_the_same_person_in_two_listed_zones_is_two_matches() -> None:
    message = frame("lot-1", NIGHT, detection("person", 0.8, ["gate", "door"]))
    zones = sorted(m.key_labels["zone"] for m in detection_matches(rule("intruder"), message,
                                                                   INTERVALS))  # fmt: skip
    assert zones == ["door", "gate"]


def test_outside_the_active_interval_nothing_matches() -> None:
    message = frame("lot-1", DAY, detection("person", 0.99, ["door"]))
    assert detection_matches(rule("intruder"), message, INTERVALS) == []


def test_class_zone_confidence_and_camera_filters_each_exclude() -> None:
    intruder = rule("intruder")
    assert detection_matches(intruder, frame("lot-1", NIGHT, detection("dog", 0.9, ["door"])),
                             INTERVALS) == []  # fmt: skip
    assert detection_matches(intruder, frame("lot-1", NIGHT, detection("person", 0.9, ["hall"])),
                             INTERVALS) == []  # fmt: skip
    assert detection_matches(intruder, frame("lot-1", NIGHT, detection("person", 0.49, ["door"])),
                             INTERVALS) == []  # fmt: skip
    assert detection_matches(intruder, frame("yard-1", NIGHT, detection("person", 0.9, ["door"])),
                             INTERVALS) == []  # fmt: skip


def test_the_most_confident_detection_of_an_identity_is_kept() -> None:
    message = frame("lot-1", NIGHT, detection("person", 0.6, ["door"], track=1),
                    detection("person", 0.95, ["door"], track=2),
                    detection("person", 0.7, ["door"], track=3))  # fmt: skip
    [match] = detection_matches(rule("intruder"), message, INTERVALS)
    assert match.confidence == 0.95
    assert match.details["det_index"] == 1


def test_a_rule_without_zones_is_per_class_anywhere_and_any_camera() -> None:
    message = frame("cam-9", DAY, detection("car", 0.3, ["p1"]), detection("truck", 0.9),
                    detection("person", 0.9))  # fmt: skip
    found = detection_matches(rule("vehicle"), message, INTERVALS)
    assert sorted(dict(m.key_labels)["object_class"] for m in found) == ["car", "truck"]
    assert all("zone" not in m.key_labels for m in found)


def test_a_detection_rule_ignores_events_and_an_event_rule_detections() -> None:
    batch = events("lot-1", event("scene_change", NIGHT, scene_change_score=0.9))
    assert event_matches(rule("intruder"), batch, INTERVALS) == []
    message = frame("lot-1", NIGHT, detection("person", 0.9, ["door"]))
    assert detection_matches(rule("tamper"), message, INTERVALS) == []


def test_an_event_rule_matches_its_types_above_the_score() -> None:
    batch = events(
        "cam-1",
        event("scene_change", DAY, scene_change_score=0.65),
        event("motion", DAY, motion_score=0.99),
        event("scene_change", DAY, scene_change_score=0.8),
    )
    [match] = event_matches(rule("tamper"), batch, INTERVALS)
    assert dict(match.key_labels) == {"event_type": "scene_change"}
    assert match.confidence == 0.8
    low = events("cam-1", event("scene_change", DAY, scene_change_score=0.65))
    assert event_matches(rule("tamper"), low, INTERVALS) == []


def test_an_events_score_is_objects_then_motion_then_scene_change() -> None:
    objects = events("cam-1", event("object_detected", DAY, motion_score=0.1, objects=[
        {"class": "person", "confidence": 0.4, "bbox": [0, 0, 1, 1]},
        {"class": "car", "confidence": 0.9, "bbox": [0, 0, 1, 1]}]))  # fmt: skip
    assert event_score(objects.events[0]) == 0.9
    assert event_score(events("c", event("motion", DAY, motion_score=0.3)).events[0]) == 0.3
    assert event_score(events("c", event("manual_trigger", DAY)).events[0]) is None
