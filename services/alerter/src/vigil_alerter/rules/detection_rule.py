"""Detection rules: which detections of one analysed frame a ``stream: detections`` rule fires on.

A detection (:class:`vigil_schema.messages.Detection` of a
:class:`~vigil_schema.messages.DetectionMessage` on ``vigil:detections``, as the analyzer
writes them) matches a rule when its camera is selected by ``cameras``, the frame's time lies
in the rule's ``active_time_intervals``, its class is one of ``classes`` (empty: any), its
confidence is at least ``min_confidence``, and, when ``zones`` is given, one of its
``zone_ids`` (the names of the camera's zones its box centre falls in) is one of them.

Each match is identified by ``object_class`` and, for a rule with ``zones``, ``zone`` (one
match per listed zone the object is in); a rule without ``zones`` has no ``zone`` label
(one alert per camera and class, wherever the object is). Of several detections with the same
identity on one frame the most confident one is kept.
"""

from __future__ import annotations

from vigil_alerter.config.models import EventRule
from vigil_alerter.rules.match import IntervalView, RuleMatch, camera_selected, rule_active
from vigil_schema.messages import Detection, DetectionMessage

__all__ = ["detection_matches"]


def detection_matches(
    rule: EventRule, message: DetectionMessage, intervals: IntervalView
) -> list[RuleMatch]:
    """The matches of ``rule`` on one frame's detections (none if the rule does not apply)."""
    if rule.stream != "detections" or not camera_selected(rule, message.camera_id):
        return []
    if not rule_active(rule, intervals, message.ts):
        return []
    best: dict[tuple[tuple[str, str], ...], RuleMatch] = {}
    for index, detection in enumerate(message.detections):
        if not _object_matches(rule, detection):
            continue
        for key_labels in _identities(rule, detection):
            match = _match(rule, message, index, detection, key_labels)
            key = tuple(sorted(key_labels.items()))
            kept = best.get(key)
            if kept is None or (kept.confidence or 0.0) < detection.confidence:
                best[key] = match
    return list(best.values())


def _object_matches(rule: EventRule, detection: Detection) -> bool:
    if rule.classes and detection.class_name not in rule.classes:
        return False
    return detection.confidence >= rule.min_confidence


def _identities(rule: EventRule, detection: Detection) -> list[dict[str, str]]:
    """The identifying labels of each match of the detection (one per matching zone)."""
    if not rule.zones:
        return [{"object_class": detection.class_name}]
    zones = [zone for zone in rule.zones if zone in detection.zone_ids]
    return [{"zone": zone, "object_class": detection.class_name} for zone in zones]


def _match(
    rule: EventRule,
    message: DetectionMessage,
    index: int,
    detection: Detection,
    key_labels: dict[str, str],
) -> RuleMatch:
    details = {
        "frame_number": message.frame_number,
        "det_index": index,
        "model": message.model,
        "bbox": list(detection.bbox),
        "track_id": detection.track_id,
        "zone_ids": list(detection.zone_ids),
    }
    return RuleMatch(
        rule=rule,
        camera_id=message.camera_id,
        key_labels=key_labels,
        at=message.ts,
        confidence=detection.confidence,
        details=details,
    )
