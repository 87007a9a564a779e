"""Rows, stream messages and alert candidates built from one analysed frame (pure).

* ``detections`` rows: one per object, ``det_index`` its position in the frame's list (the
  dedup key with camera, frame number and time, so a redelivered frame stores nothing twice);
  ``track_id`` the tracker's id as text (NULL while a track is unconfirmed); ``zone_ids`` the
  zones its anchor point falls in.
* the frame's :class:`~vigil_schema.messages.DetectionMessage` for ``vigil:detections``.
* alert candidates (``source = analyzer``), each a pure function of the frame so a
  redelivered frame yields the same fingerprint, start and idempotency key:
  ``loitering`` (a track stayed in a zone past ``loiter_s``; labels zone and class),
  ``zone_entry`` and ``object_detected`` for the configured alert classes (a new track entering
  a zone, or first confirmed anywhere). Labels identify the alert (Alertmanager groups and
  deduplicates by them): camera, zone, class, site; the track id, dwell time and frame go to
  annotations, so one loiterer after another is one alert, not a storm.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from vigil_analyzer.occupancy import LoiterEvent, ZoneEntry
from vigil_analyzer.tracking import TrackedObject
from vigil_runtime.copy_writer import Row
from vigil_schema.enums import AlertSeverity
from vigil_schema.messages import AlertCandidate, Detection, DetectionMessage
from vigil_schema.tables import DETECTIONS

__all__ = [
    "detection_message",
    "detection_rows",
    "entry_candidate",
    "loiter_candidate",
    "new_track_candidate",
]

SOURCE = "analyzer"


def detection_rows(
    camera_id: str,
    ts: datetime,
    frame_number: int,
    objects: Sequence[TrackedObject],
    zone_ids: Sequence[Sequence[str]],
    model: str,
    created_at: datetime,
) -> list[Row]:
    """The frame's ``detections`` rows in ``DETECTIONS.column_names`` order."""
    rows: list[Row] = []
    for index, (obj, zones) in enumerate(zip(objects, zone_ids, strict=True)):
        box = obj.detection
        values = {
            "camera_id": camera_id, "ts": ts, "frame_number": frame_number,
            "det_index": index, "class_name": box.class_name,
            "confidence": min(1.0, max(0.0, float(box.confidence))),
            "bbox_x": box.x, "bbox_y": box.y, "bbox_w": box.w, "bbox_h": box.h,
            "track_id": None if obj.track_id is None else str(obj.track_id),
            "zone_ids": list(zones), "model": model, "created_at": created_at,
        }  # fmt: skip
        rows.append(tuple(values[name] for name in DETECTIONS.column_names))
    return rows


def detection_message(
    camera_id: str,
    ts: datetime,
    frame_number: int,
    objects: Sequence[TrackedObject],
    zone_ids: Sequence[Sequence[str]],
    *,
    model: str,
    size: tuple[int, int],
    inference_ms: float | None,
) -> DetectionMessage:
    """The frame's ``vigil:detections`` entry (``size`` = height, width in pixels)."""
    detections = [
        Detection.model_validate({
            "class": obj.class_name,
            "confidence": min(1.0, max(0.0, float(obj.detection.confidence))),
            "bbox": (obj.detection.x, obj.detection.y, obj.detection.w, obj.detection.h),
            "track_id": obj.track_id,
            "zone_ids": list(zones),
        })
        for obj, zones in zip(objects, zone_ids, strict=True)
    ]  # fmt: skip
    return DetectionMessage(
        camera_id=camera_id, ts=ts, frame_number=frame_number, model=model,
        detections=detections, width=size[1], height=size[0],
        inference_ms=None if inference_ms is None else round(inference_ms, 3),
    )  # fmt: skip


def _labels(site: str | None, **labels: str) -> dict[str, str]:
    if site:
        labels["site"] = site
    return labels


def loiter_candidate(event: LoiterEvent, site: str | None) -> AlertCandidate:
    """A track stayed in a zone past the loitering time."""
    return AlertCandidate(
        source=SOURCE, alertname="loitering", severity=AlertSeverity.WARNING,
        camera_id=event.camera_id,
        labels=_labels(site, zone=event.zone_id, object_class=event.object_class),
        annotations={
            "summary": f"{event.object_class} loitering in {event.zone_id} "
                       f"for {event.dwell_s:.0f} s",
            "track_id": str(event.track_id), "dwell_s": f"{event.dwell_s:.1f}",
            "frame_number": str(event.frame_number),
            "entered_at": event.entered_at.isoformat(),
        },
        starts_at=event.ts,
    )  # fmt: skip


def entry_candidate(camera_id: str, entry: ZoneEntry, site: str | None) -> AlertCandidate:
    """An object of an alert class entered a zone."""
    return AlertCandidate(
        source=SOURCE, alertname="zone_entry", severity=AlertSeverity.WARNING,
        camera_id=camera_id,
        labels=_labels(site, zone=entry.zone_id, object_class=entry.object_class),
        annotations={
            "summary": f"{entry.object_class} entered {entry.zone_id}",
            "track_id": str(entry.track_id), "frame_number": str(entry.frame_number),
        },
        starts_at=entry.ts,
    )  # fmt: skip


def new_track_candidate(
    camera_id: str, obj: TrackedObject, ts: datetime, frame_number: int, site: str | None
) -> AlertCandidate:
    """A new track of an alert class was confirmed."""
    return AlertCandidate(
        source=SOURCE, alertname="object_detected", severity=AlertSeverity.INFO,
        camera_id=camera_id, labels=_labels(site, object_class=obj.class_name),
        annotations={
            "summary": f"{obj.class_name} in view",
            "track_id": str(obj.track_id), "frame_number": str(frame_number),
            "confidence": f"{obj.detection.confidence:.2f}",
        },
        starts_at=ts,
    )  # fmt: skip
