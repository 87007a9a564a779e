"""The rule evaluator: episodes, coalescing, resolving, maintenance, decoding stream entries.

A continuous stream of matching detections is one alert refreshed at most once a second per
(rule, camera, zone), not one intake call per frame; it resolves ``resolve_after`` after the
last match; a camera in maintenance never fires; a failed intake is retried, never lost.
The sink records what ``Intake.ingest`` would receive; time is a :class:`ManualClock`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta

import pytest

from vigil_alerter.clock import ManualClock
from vigil_alerter.engine.incoming import IncomingAlert
from vigil_alerter.rules import RuleEvaluator
from vigil_runtime.streams import StreamEntry
from vigil_schema.enums import AlertSeverity
from vigil_schema.messages import label_fingerprint
from vigil_schema.streams import Envelope, EnvelopeError

from .rules_support import NIGHT, Holder, detection, event, events, frame


class Sink:
    """Records each intake call; ``fail`` makes the next call raise."""

    def __init__(self) -> None:
        self.calls: list[list[IncomingAlert]] = []
        self.fail = False

    async def __call__(self, alerts: Sequence[IncomingAlert]) -> None:
        if self.fail:
            self.fail = False
            raise ConnectionError("intake down")
        self.calls.append(list(alerts))

    @property
    def alerts(self) -> list[IncomingAlert]:
        return [alert for call in self.calls for alert in call]


class Maintenance:
    def __init__(self, *ids: str) -> None:
        self.ids = set(ids)

    def in_maintenance(self, camera_id: str) -> bool:
        return camera_id in self.ids


def evaluator(
    holder: Holder | None = None, maintenance: Maintenance | None = None
) -> tuple[RuleEvaluator, Sink, ManualClock]:
    sink, clock = Sink(), ManualClock(NIGHT)
    rules = RuleEvaluator(holder or Holder.from_yaml(), maintenance or Maintenance(), sink, clock)
    return rules, sink, clock


def person_at_door(number: int = 1, camera: str = "lot-1") -> list[StreamEntry]:
    message = frame(camera, NIGHT, detection("person", 0.9, ["door"]), number=number)
    fields = Envelope.wrap(message).to_fields()
    encoded = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}
    return [StreamEntry(f"{number}-0".encode(), encoded, 1)]


async def test_a_match_raises_an_alert_with_the_rules_labels_and_annotations() -> None:
    rules, sink, _ = evaluator()
    await rules.handle_entries(person_at_door())
    [alert] = sink.alerts
    assert dict(alert.labels) == {
        "alertname": "intruder", "camera_id": "lot-1", "zone": "door",
        "object_class": "person", "severity": "critical", "team": "security",
    }  # fmt: skip
    identity = {k: v for k, v in alert.labels.items() if k != "severity"}
    assert alert.fingerprint == label_fingerprint(identity)
    assert alert.source == "rule"
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.camera_id == "lot-1"
    assert alert.annotations["summary"] == "person at door of lot-1"
    assert alert.annotations["description"] == "see {nothing}"
    assert alert.title == "person at door of lot-1"
    assert alert.starts_at == NIGHT
    assert alert.ends_at == NIGHT + timedelta(minutes=2)  # expires unless refreshed
    assert not alert.is_resolved(NIGHT + timedelta(seconds=119))
    assert not alert.resolved
    assert alert.data["frame_number"] == 1
    assert alert.data["confidence"] == 0.9


async def test_thousands_of_matching_frames_are_one_alert_refreshed_once_a_second() -> None:
    rules, sink, clock = evaluator()
    for number in range(1, 1001):  # 1000 frames at 100 fps: 10 seconds
        await rules.handle_entries(person_at_door(number))
        clock.advance(0.01)
    assert {alert.fingerprint for alert in sink.alerts} == {sink.alerts[0].fingerprint}
    assert 10 <= len(sink.calls) <= 11
    assert all(len(call) == 1 for call in sink.calls)
    assert sink.alerts[-1].data["matches"] < 1000
    assert await rules.tick() == 1  # the matches of the last second, sent by the tick
    assert sink.alerts[-1].data["matches"] == 1000
    assert await rules.tick() == 0


async def test_an_alert_resolves_resolve_after_its_last_match() -> None:
    rules, sink, clock = evaluator()
    await rules.handle_entries(person_at_door(1))
    clock.advance(30)
    await rules.handle_entries(person_at_door(2))  # a refresh: the last one was 30 s ago
    assert [a.resolved for a in sink.alerts] == [False, False]
    last_match = clock()
    clock.advance(timedelta(minutes=2) - timedelta(seconds=1))
    assert await rules.tick() == 0
    clock.advance(1)
    assert await rules.tick() == 1
    resolved = sink.alerts[-1]
    assert resolved.resolved
    assert resolved.ends_at == last_match + timedelta(minutes=2)
    assert resolved.is_resolved(clock())
    assert rules.open_episodes == 0
    assert await rules.tick() == 0
    await rules.handle_entries(person_at_door(3))  # a new episode: a new firing alert
    assert not sink.alerts[-1].resolved
    assert sink.alerts[-1].starts_at == NIGHT


async def test_each_zone_and_camera_is_its_own_alert() -> None:
    rules, sink, _ = evaluator()
    await rules.handle_entries(person_at_door(1, "lot-1") + person_at_door(1, "lot-2"))
    message = frame("lot-1", NIGHT, detection("person", 0.9, ["gate"]))
    rules.record(message, NIGHT)
    await rules.tick()
    keys = sorted((a.labels["camera_id"], a.labels["zone"]) for a in sink.alerts)
    assert keys == [("lot-1", "door"), ("lot-1", "gate"), ("lot-2", "door")]
    assert len(sink.calls) == 2


async def test_a_camera_in_maintenance_never_fires() -> None:
    rules, sink, _ = evaluator(maintenance=Maintenance("lot-1"))
    await rules.handle_entries(person_at_door(1, "lot-1"))
    rules.record(events("lot-1", event("scene_change", NIGHT, scene_change_score=0.9)), NIGHT)
    await rules.tick()
    assert sink.calls == []
    await rules.handle_entries(person_at_door(1, "lot-2"))
    assert [a.labels["camera_id"] for a in sink.alerts] == ["lot-2"]


async def test_an_event_rule_fires_per_event_type() -> None:
    rules, sink, _ = evaluator()
    rules.record(events("cam-1", event("scene_change", NIGHT, scene_change_score=0.9)), NIGHT)
    await rules.tick()
    [alert] = sink.alerts
    assert alert.labels["alertname"] == "tamper"
    assert alert.labels["event_type"] == "scene_change"
    assert alert.annotations["summary"] == "tamper: scene_change on camera cam-1"


async def test_a_failed_intake_is_sent_again_not_lost() -> None:
    rules, sink, clock = evaluator()
    sink.fail = True
    with pytest.raises(ConnectionError):
        await rules.handle_entries(person_at_door(1))
    assert sink.calls == []
    clock.advance(0.1)
    assert await rules.tick() == 1
    assert not sink.alerts[0].resolved
    clock.advance(timedelta(minutes=3))
    sink.fail = True
    with pytest.raises(ConnectionError):
        await rules.tick()
    assert await rules.tick() == 1
    assert sink.alerts[-1].resolved


async def test_a_removed_rule_resolves_its_alerts_at_the_next_tick() -> None:
    holder = Holder.from_yaml()
    rules, sink, _ = evaluator(holder)
    await rules.handle_entries(person_at_door())
    config = holder.current.config
    holder.current = dataclasses.replace(
        holder.current,
        config=config.model_copy(
            update={"rules": [r for r in config.rules if r.name != "intruder"]}
        ),
    )
    assert await rules.tick() == 1
    assert sink.alerts[-1].resolved
    assert rules.open_episodes == 0


async def test_an_unreadable_entry_raises_before_anything_changes() -> None:
    rules, sink, _ = evaluator()
    bad = StreamEntry(b"9-0", {b"v": b"1", b"type": b"detection", b"data": b"{}"}, 1)
    with pytest.raises(EnvelopeError):
        await rules.handle_entries([*person_at_door(), bad])
    assert sink.calls == []
    assert rules.open_episodes == 0


async def test_entries_of_other_types_are_ignored() -> None:
    rules, sink, _ = evaluator()
    message = events("lot-1", event("motion", NIGHT, motion_score=0.9))
    fields = Envelope.wrap(message).to_fields()
    encoded = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in fields.items()}
    await rules.handle_entries([StreamEntry(b"1-0", encoded, 1)])
    assert sink.calls == []


async def test_a_match_while_a_resolve_is_being_sent_fires_again() -> None:
    holder = Holder.from_yaml()
    sent: list[IncomingAlert] = []
    clock = ManualClock(NIGHT)
    rules: RuleEvaluator

    async def sink(alerts: Sequence[IncomingAlert]) -> None:
        sent.extend(alerts)
        if any(alert.resolved for alert in alerts):  # a frame handled during the call
            rules.record(frame("lot-1", clock(), detection("person", 0.9, ["door"])), clock())

    rules = RuleEvaluator(holder, Maintenance(), sink, clock)
    await rules.handle_entries(person_at_door())
    clock.advance(timedelta(minutes=5))
    assert await rules.tick() == 1
    assert sent[-1].resolved
    assert rules.open_episodes == 1
    assert await rules.tick() == 1
    assert not sent[-1].resolved
    assert sent[-1].starts_at == clock()
