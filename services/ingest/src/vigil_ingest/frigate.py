"""The Frigate bridge: Frigate's ``frigate/events`` messages → ``camera_events`` rows. Pure.

Frigate (https://docs.frigate.video/integrations/mqtt/) publishes one JSON message per change
of a tracked object: ``{"type": "new"|"update"|"end", "before": {...}, "after": {...}}``,
where ``before`` and ``after`` are the tracked object (``id``, ``camera``, ``frame_time``,
``label``, ``sub_label``, ``score``, ``top_score``, ``box`` ``[x1, y1, x2, y2]``, zones,
``stationary``...) before and after the change. Each message becomes one ``object_detected``
event of the registered camera, built from ``after``:

* camera: ``frigate_camera_map[after.camera]`` if mapped, else ``after.camera`` itself when it
  is a registered Vigil camera id (otherwise ``unknown_camera``);
* ``ts`` = ``after.frame_time`` (Unix seconds) in UTC;
* ``objects`` = one ``{class: label, confidence: score (else top_score), bbox: [x, y, w, h]
  from box, track_id: Frigate's id}``;
* Frigate's own fields (id, type, sub_label, zones, stationary, false_positive, times...) in
  ``extra``, stored as is;
* ``frame_number``: Frigate has none, and the dedup key is ``(camera_id, event_type,
  frame_number, ts)``. Frigate tracks several objects in the same frame, and its ``end``
  message may repeat the last ``update``'s ``frame_time``, so the frame time alone would
  merge distinct events. The number is therefore the first 63 bits of
  ``blake2b(id, type, frame_time)``: a redelivered message maps to the same row (harmless),
  while different objects, types or frames map to different rows.

Unlike Vigil's own payloads, unknown Frigate fields are ignored (not rejected): Frigate adds
fields between releases and the bridge must keep working.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil_ingest.decode import (
    CameraLookup,
    Decoded,
    DecodeLimits,
    Rejected,
    event_rows,
    events_entry,
    utc_from_epoch,
)
from vigil_schema.enums import EventSource, EventType, RejectReason
from vigil_schema.ids import CAMERA_ID_PATTERN
from vigil_schema.mqtt import (
    NO_NUL_PATTERN,
    CameraEvent,
    DetectedObject,
    format_validation_error,
    timestamp_window_violation,
)
from vigil_schema.tables import CAMERA_EVENTS

__all__ = ["FRIGATE_KIND", "FrigateInbound", "decode_frigate_event", "frigate_frame_number"]

FRIGATE_KIND: Final = "frigate"
"""``Decoded.kind`` / ``Rejected.kind`` of Frigate messages."""

MAX_FRAME_TIME: Final = 253_402_300_799.0
"""9999-12-31T23:59:59Z: the largest Unix time a ``timestamptz`` round trip needs."""

EXTRA_FIELDS: Final = (
    "sub_label", "top_score", "score", "false_positive", "start_time", "end_time",
    "box", "area", "ratio", "region", "current_zones", "entered_zones",
    "active", "stationary", "motionless_count", "position_changes",
    "has_clip", "has_snapshot", "snapshot", "attributes", "current_attributes",
    "current_estimated_speed", "velocity_angle",
    "recognized_license_plate", "recognized_license_plate_score",
)  # fmt: skip
"""Fields of Frigate's tracked object copied into ``camera_events.extra`` when present."""

_INT63_MASK: Final = (1 << 63) - 1
_CAMERA_ID_RE: Final = re.compile(CAMERA_ID_PATTERN)
_DEFAULT_LIMITS: Final = DecodeLimits()

FrigateText = Annotated[
    str, Field(strict=True, min_length=1, max_length=64, pattern=NO_NUL_PATTERN)
]
Score = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
PixelCoordinate = Annotated[float, Field(strict=True, ge=0.0, le=100_000.0, allow_inf_nan=False)]


class FrigateInbound(Protocol):
    """What the bridge needs of an MQTT message (``vigil_ingest.mqtt_link.Inbound``)."""

    @property
    def payload(self) -> bytes: ...

    @property
    def received_at(self) -> float: ...


class FrigateObject(BaseModel):
    """The fields of Frigate's tracked object the bridge relies on (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)

    id: FrigateText
    camera: Annotated[str, Field(strict=True, min_length=1, max_length=256, pattern=NO_NUL_PATTERN)]
    frame_time: Annotated[float, Field(strict=True, gt=0.0, le=MAX_FRAME_TIME)]
    label: FrigateText
    box: tuple[PixelCoordinate, PixelCoordinate, PixelCoordinate, PixelCoordinate]
    score: Score | None = None
    top_score: Score | None = None

    def confidence(self) -> float | None:
        """The current score, else the best score so far."""
        return self.score if self.score is not None else self.top_score


class FrigateMessage(BaseModel):
    """One ``frigate/events`` message; ``before`` is not used (``after`` is the new state)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    type: Literal["new", "update", "end"]
    after: FrigateObject


def frigate_frame_number(frigate_id: str, message_type: str, frame_time: float) -> int:
    """The stable, non-negative 63-bit frame number of one Frigate message (see module doc)."""
    key = f"{frigate_id}\x00{message_type}\x00{frame_time!r}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") & _INT63_MASK


def decode_frigate_event(
    inbound: FrigateInbound,
    registry: CameraLookup,
    now: datetime,
    limits: DecodeLimits = _DEFAULT_LIMITS,
    camera_map: Mapping[str, str] | None = None,
) -> Decoded | Rejected:
    """Validate one ``frigate/events`` message into a ``camera_events`` row, or reject it."""
    raw = _load_json(inbound.payload, limits.max_payload_bytes)
    if isinstance(raw, Rejected):
        return raw
    try:
        message = FrigateMessage.model_validate(raw)
    except ValidationError as exc:
        return _reject(RejectReason.VALIDATION_ERROR, format_validation_error(exc))
    after = message.after
    camera_id = _camera_id(after.camera, registry, camera_map or {})
    if isinstance(camera_id, Rejected):
        return camera_id
    event = _event(message, raw["after"], camera_id)
    if isinstance(event, Rejected):
        return event
    window = _window_violation(event.ts, now, registry, limits)
    if window is not None:
        return _reject(*window, camera_id)
    received_at = utc_from_epoch(inbound.received_at)
    return Decoded(
        camera_id,
        FRIGATE_KIND,
        rows={CAMERA_EVENTS.name: event_rows(camera_id, [event], received_at, EventSource.FRIGATE)},
        entries=(events_entry(camera_id, [event], received_at, EventSource.FRIGATE),),
        state={"last_seen": received_at.isoformat(), "last_event_ts": event.ts.isoformat()},
        source_ts=event.ts,
        events=1,
    )


def _load_json(payload: bytes, max_bytes: int) -> dict[str, Any] | Rejected:
    """The payload as a JSON object, or the reason it is not one."""
    if len(payload) > max_bytes:
        detail = f"{len(payload)} bytes, more than {max_bytes}"
        return _reject(RejectReason.PAYLOAD_TOO_LARGE, detail)
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        return _reject(RejectReason.INVALID_UTF8, f"invalid UTF-8 at byte {exc.start}")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        return _reject(RejectReason.INVALID_JSON, f"not JSON: {exc}"[:2000])
    if not isinstance(value, dict) or not isinstance(value.get("after"), dict):
        expected = 'expected a Frigate event object {"type", "before", "after": {...}}'
        return _reject(RejectReason.VALIDATION_ERROR, expected)
    return value


def _reject(reason: RejectReason, detail: str, camera_id: str | None = None) -> Rejected:
    return Rejected(reason, detail, camera_id, FRIGATE_KIND)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _camera_id(
    frigate_camera: str, registry: CameraLookup, camera_map: Mapping[str, str]
) -> str | Rejected:
    """The registered, enabled Vigil camera a Frigate camera name stands for."""
    camera_id = camera_map.get(frigate_camera, frigate_camera)
    camera = registry.get(camera_id) if _is_camera_id(camera_id) else None
    if camera is None:
        mapped = f" (mapped to {camera_id!r})" if camera_id != frigate_camera else ""
        return _reject(
            RejectReason.UNKNOWN_CAMERA,
            f"Frigate camera {frigate_camera!r}{mapped} is not a registered camera; register it "
            "under the same id or map it with frigate_camera_map",
        )
    if camera.disabled:
        detail = f"camera {camera_id!r} is disabled"
        return _reject(RejectReason.CAMERA_DISABLED, detail, camera_id)
    return camera_id


def _is_camera_id(value: str) -> bool:
    return _CAMERA_ID_RE.fullmatch(value) is not None


def _event(
    message: FrigateMessage, after: Mapping[str, Any], camera_id: str
) -> CameraEvent | Rejected:
    """The ``object_detected`` event of a validated message (``extra`` validated too)."""
    obj = message.after
    x1, y1, x2, y2 = obj.box
    confidence = obj.confidence()
    if confidence is None:
        return _reject(RejectReason.VALIDATION_ERROR, "after: no score or top_score", camera_id)
    if x2 < x1 or y2 < y1:
        detail = f"after.box: {list(obj.box)} is not [x1, y1, x2, y2] with x1 <= x2, y1 <= y2"
        return _reject(RejectReason.VALIDATION_ERROR, detail, camera_id)
    extra: dict[str, Any] = {"frigate_id": obj.id, "type": message.type, "camera": obj.camera}
    extra.update((name, after[name]) for name in EXTRA_FIELDS if name in after)
    try:
        return CameraEvent(
            event_type=EventType.OBJECT_DETECTED,
            ts=datetime.fromtimestamp(obj.frame_time, UTC),
            frame_number=frigate_frame_number(obj.id, message.type, obj.frame_time),
            objects=[DetectedObject.model_validate({
                "class": obj.label, "confidence": confidence,
                "bbox": (x1, y1, x2 - x1, y2 - y1), "track_id": obj.id,
            })],
            extra=extra,
        )  # fmt: skip
    except ValidationError as exc:
        detail = format_validation_error(exc, "after")
        return _reject(RejectReason.VALIDATION_ERROR, detail, camera_id)


def _window_violation(
    ts: datetime, now: datetime, registry: CameraLookup, limits: DecodeLimits
) -> tuple[RejectReason, str] | None:
    """Whether ``frame_time`` is too far ahead or older than camera_events' retention."""
    max_age: timedelta = registry.max_age(CAMERA_EVENTS.name, limits.default_max_age)
    violation = timestamp_window_violation(ts, now, max_future=limits.max_future, max_age=max_age)
    if violation is RejectReason.TIMESTAMP_FUTURE:
        ahead = limits.max_future.total_seconds()
        return violation, f"after.frame_time {ts.isoformat()} is more than {ahead:g} s ahead"
    if violation is not None:
        return violation, (f"after.frame_time {ts.isoformat()} is older than the "
                           f"{max_age.days}-day retention of {CAMERA_EVENTS.name}")  # fmt: skip
    return None
