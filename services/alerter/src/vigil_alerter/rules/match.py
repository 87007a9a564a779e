"""What a rule matched, and the checks every rule kind shares (cameras, active intervals).

A :class:`RuleMatch` is one reason for a rule to fire: the rule, the camera, the labels that
tell this occurrence apart from the rule's others on that camera (``zone`` and
``object_class`` for detections, ``event_type`` for events), when it happened and what was
seen. The evaluator keys its state by rule, camera and these labels.

``cameras`` entries are camera ids or shell-style patterns (``lot-*``); an empty list selects
every camera. ``active_time_intervals`` holds when any named interval contains the moment
(Alertmanager's rule for routes); an empty list: always.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any, Protocol

from vigil_alerter.config.models import EventRule

__all__ = ["IntervalView", "RuleMatch", "camera_selected", "rule_active"]


class IntervalView(Protocol):
    """Named time intervals (``vigil_alerter.config.time_intervals.TimeIntervals``)."""

    def contains(self, name: str, at: datetime) -> bool: ...


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One occurrence a rule fires on."""

    rule: EventRule
    camera_id: str
    key_labels: Mapping[str, str]
    """``zone``/``object_class`` (detections) or ``event_type`` (events): part of the identity."""
    at: datetime
    """The occurrence's own time (the frame's or the event's)."""
    confidence: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    """What was seen (frame number, box, track id...): the alert's ``data``, never labels."""

    @property
    def key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """The evaluator's state key: rule, camera and the identifying labels."""
        return (self.rule.name, self.camera_id, tuple(sorted(self.key_labels.items())))


def camera_selected(rule: EventRule, camera_id: str) -> bool:
    """Whether ``rule.cameras`` (ids or ``fnmatch`` patterns; empty: all) selects the camera."""
    return not rule.cameras or any(fnmatchcase(camera_id, pattern) for pattern in rule.cameras)


def rule_active(rule: EventRule, intervals: IntervalView, at: datetime) -> bool:
    """Whether ``at`` lies in one of the rule's active time intervals (none given: always)."""
    return not rule.active_time_intervals or any(
        intervals.contains(name, at) for name in rule.active_time_intervals
    )
