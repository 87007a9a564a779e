"""Builders shared by the rule tests: a configuration with rules, frames and events.

The configuration is the real :class:`~vigil_alerter.config.holder.LoadedConfig` of a YAML
text (loader, routing tree, time intervals); ``Holder`` gives it as ``current``, like the
file-backed ``ConfigHolder``, and lets a test swap it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vigil_alerter.config.holder import LoadedConfig
from vigil_schema.messages import DetectionMessage, EventBatchMessage

NIGHT = datetime(2026, 1, 6, 23, 0, tzinfo=UTC)
DAY = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)

RULES_YAML = """
route:
  receiver: log
receivers:
  - name: log
    log_configs: [{}]
time_intervals:
  - name: night
    time_intervals:
      - times: [{start_time: "22:00", end_time: "24:00"}]
      - times: [{start_time: "00:00", end_time: "06:00"}]
rules:
  - name: intruder
    stream: detections
    severity: critical
    cameras: ["lot-*"]
    zones: [door, gate]
    classes: [person]
    min_confidence: 0.5
    active_time_intervals: [night]
    resolve_after: 2m
    labels: {team: security}
    annotations: {summary: "person at {zone} of {camera_id}", description: "see {nothing}"}
  - name: vehicle
    stream: detections
    classes: [car, truck]
    resolve_after: 30s
  - name: tamper
    stream: events
    event_types: [scene_change]
    min_confidence: 0.7
    resolve_after: 1m
"""


@dataclass
class Holder:
    current: LoadedConfig

    @classmethod
    def from_yaml(cls, text: str = RULES_YAML) -> Holder:
        return cls(LoadedConfig.parse(text, "rules.yml", NIGHT))


def detection(
    cls: str, confidence: float = 0.9, zones: Sequence[str] = (), track: int | None = None
) -> dict[str, Any]:
    return {"class": cls, "confidence": confidence, "bbox": [10.0, 20.0, 30.0, 40.0],
            "zone_ids": list(zones), "track_id": track}  # fmt: skip


def frame(
    camera: str, at: datetime, *detections: dict[str, Any], number: int = 1
) -> DetectionMessage:
    return DetectionMessage.model_validate({
        "camera_id": camera, "ts": at, "frame_number": number, "model": "yolov8n",
        "detections": list(detections),
    })  # fmt: skip


def events(camera: str, *items: dict[str, Any]) -> EventBatchMessage:
    return EventBatchMessage.model_validate({"camera_id": camera, "events": list(items)})


def event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"event_type": kind, "ts": at, "frame_number": 7, **fields}
