"""Event rules: which camera events a ``stream: events`` rule fires on.

The ingest writes the events of each MQTT message to ``vigil:events`` as one
:class:`~vigil_schema.messages.EventBatchMessage` (type ``events``); single
:class:`~vigil_schema.messages.EventMessage` entries (type ``event``) are read too. An event
(:class:`vigil_schema.mqtt.CameraEvent`) matches a rule when its camera is selected by
``cameras``, its ``ts`` lies in the rule's ``active_time_intervals``, its ``event_type`` is
one of ``event_types`` (empty: any), and its score reaches ``min_confidence``: the highest
confidence of its ``objects``, else its ``motion_score``, else its ``scene_change_score``
(an event with none of these, e.g. ``manual_trigger``, always passes).

Each match is identified by ``event_type`` (one alert per rule, camera and event type); of
several events of one type in a batch the last one is kept (they refresh one alert).
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil_alerter.config.models import EventRule
from vigil_alerter.rules.match import IntervalView, RuleMatch, camera_selected, rule_active
from vigil_schema.messages import EventBatchMessage, EventMessage
from vigil_schema.mqtt import CameraEvent

__all__ = ["event_matches", "event_score", "events_of"]


def events_of(message: EventMessage | EventBatchMessage) -> tuple[str, Sequence[CameraEvent]]:
    """The camera and the events an ``event`` or ``events`` stream message carries."""
    if isinstance(message, EventBatchMessage):
        return message.camera_id, message.events
    return message.camera_id, [message.event]


def event_score(event: CameraEvent) -> float | None:
    """What ``min_confidence`` is compared with (``None``: the event has no score)."""
    if event.objects:
        return max(obj.confidence for obj in event.objects)
    if event.motion_score is not None:
        return event.motion_score
    return event.scene_change_score


def event_matches(
    rule: EventRule, message: EventMessage | EventBatchMessage, intervals: IntervalView
) -> list[RuleMatch]:
    """The matches of ``rule`` on the events of one stream message."""
    camera_id, events = events_of(message)
    if rule.stream != "events" or not camera_selected(rule, camera_id):
        return []
    found: dict[str, RuleMatch] = {}
    for event in events:
        if rule.event_types and event.event_type.value not in rule.event_types:
            continue
        score = event_score(event)
        if score is not None and score < rule.min_confidence:
            continue
        if not rule_active(rule, intervals, event.ts):
            continue
        found[event.event_type.value] = RuleMatch(
            rule=rule,
            camera_id=camera_id,
            key_labels={"event_type": event.event_type.value},
            at=event.ts,
            confidence=score,
            details={
                "frame_number": event.frame_number,
                "objects": [obj.class_name for obj in event.objects],
                "source": message.source.value,
            },
        )
    return list(found.values())
