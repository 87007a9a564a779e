"""Models of the ``data`` of Redis stream entries (see :mod:`vigil_schema.streams`).

Each model names its envelope ``type`` in ``MESSAGE_TYPE``. Unlike MQTT payloads, stream
messages **ignore unknown fields**: a producer that gains an optional field must not send the
consumers that do not know it yet to the dead-letter stream. Payload models nested inside
them (``CameraEvent``, ``HealthSample``...) keep forbidding unknown fields, so a new payload
field reaches the consumers before the producers (deploy consumers first). A change that old
consumers cannot read raises ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, ClassVar, Final, Self
from uuid import uuid4

from pydantic import ConfigDict, Field, field_validator, model_validator

from vigil_schema.clock import utc_now
from vigil_schema.enums import AlertSeverity, CameraStatus, CandidateStatus, EventSource
from vigil_schema.ids import CameraId
from vigil_schema.mqtt import (
    MAX_EVENTS_PER_PAYLOAD,
    NO_NUL_PATTERN,
    CameraEvent,
    DetectedObject,
    FrameHeader,
    HealthSample,
    Millis,
    NonNegInt,
    PayloadModel,
    ShortText,
    Text,
    Timestamp,
)

MAX_DETECTIONS_PER_FRAME: Final = 1000
MAX_LABELS: Final = 64
LABEL_NAME_PATTERN: Final = r"^[a-zA-Z_][a-zA-Z0-9_]*$"
"""Prometheus/Alertmanager label name syntax."""

JPEG_FIELD: Final = "jpeg"
"""Name of the extra binary stream field that carries a frame's JPEG bytes."""

LabelName = Annotated[str, Field(pattern=LABEL_NAME_PATTERN, max_length=128)]
LabelValue = Annotated[str, Field(max_length=1024, pattern=NO_NUL_PATTERN)]
AnnotationValue = Annotated[str, Field(max_length=8192, pattern=NO_NUL_PATTERN)]


class StreamMessage(PayloadModel):
    """Base of stream message models: frozen, unknown fields ignored, typed by ``MESSAGE_TYPE``."""

    model_config = ConfigDict(extra="ignore")

    MESSAGE_TYPE: ClassVar[str]


class EventMessage(StreamMessage):
    """A camera event the ingest has committed to ``camera_events`` (``vigil:events``)."""

    MESSAGE_TYPE: ClassVar[str] = "event"

    camera_id: CameraId
    event: CameraEvent
    source: EventSource = EventSource.CAMERA
    event_id: NonNegInt | None = None
    """``camera_events.event_id`` when the writer knows it (COPY does not return it)."""
    received_at: Timestamp = Field(default_factory=utc_now)


class EventBatchMessage(StreamMessage):
    """The events of one MQTT message, committed to ``camera_events`` (``vigil:events``).

    The ingest writes one entry per MQTT message rather than one per event: a batch of 50
    events then costs one ``XADD`` and one serialisation, which keeps the fan-out off the
    ingest's critical path. Consumers iterate ``events`` (in the camera's order).
    """

    MESSAGE_TYPE: ClassVar[str] = "events"

    camera_id: CameraId
    source: EventSource = EventSource.CAMERA
    received_at: Timestamp = Field(default_factory=utc_now)
    events: list[CameraEvent] = Field(default_factory=list, max_length=MAX_EVENTS_PER_PAYLOAD)


class HealthMessage(StreamMessage):
    """A health sample the ingest has committed to ``health_metrics`` (``vigil:health``)."""

    MESSAGE_TYPE: ClassVar[str] = "health"

    camera_id: CameraId
    sample: HealthSample
    received_at: Timestamp = Field(default_factory=utc_now)


class CameraStatusMessage(StreamMessage):
    """A camera went online or offline (its retained status / Last Will; ``vigil:health``)."""

    MESSAGE_TYPE: ClassVar[str] = "camera_status"

    camera_id: CameraId
    status: CameraStatus
    ts: Timestamp
    """When the camera reported it, or when the ingest received it if it gave no time."""


class FrameMessage(StreamMessage):
    """A frame the ingest has recorded in ``frame_metadata`` (``vigil:frames``).

    The JPEG bytes travel in the stream entry's :data:`JPEG_FIELD` field, not in ``data``.
    """

    MESSAGE_TYPE: ClassVar[str] = "frame"

    header: FrameHeader
    metadata_id: NonNegInt | None = None
    received_at: Timestamp = Field(default_factory=utc_now)

    @property
    def camera_id(self) -> str:
        """The frame's camera."""
        return self.header.camera_id


class Detection(DetectedObject):
    """A detected object and the zones (``Zone.name``) its box centre falls in."""

    zone_ids: list[ShortText] = Field(default_factory=list, max_length=64)


class DetectionMessage(StreamMessage):
    """The analyzer's detections on one frame (``vigil:detections``, ``detections`` rows;
    a detection's index in ``detections`` is its ``det_index``).
    """

    MESSAGE_TYPE: ClassVar[str] = "detection"

    camera_id: CameraId
    ts: Timestamp
    frame_number: NonNegInt
    model: ShortText
    """Detector model name and version, e.g. ``yolov8n``."""
    detections: list[Detection] = Field(default_factory=list, max_length=MAX_DETECTIONS_PER_FRAME)
    inference_ms: Millis | None = None
    width: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None
    height: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None


class AlertCandidate(StreamMessage):
    """An alert a service wants raised or resolved (``vigil:alerts``), Alertmanager-style.

    ``alertname`` and ``camera_id`` are labels too (see :meth:`all_labels`); the alerter
    groups and deduplicates by :meth:`fingerprint`.
    """

    MESSAGE_TYPE: ClassVar[str] = "alert_candidate"
    RESERVED_LABELS: ClassVar[frozenset[str]] = frozenset({"alertname", "camera_id"})

    source: ShortText
    """The producing service or rule set, e.g. ``analyzer``."""
    alertname: Annotated[str, Field(min_length=1, max_length=128, pattern=NO_NUL_PATTERN)]
    severity: AlertSeverity
    status: CandidateStatus = CandidateStatus.FIRING
    camera_id: CameraId | None = None
    labels: dict[LabelName, LabelValue] = Field(default_factory=dict, max_length=MAX_LABELS)
    annotations: dict[LabelName, AnnotationValue] = Field(
        default_factory=dict, max_length=MAX_LABELS
    )
    starts_at: Timestamp = Field(default_factory=utc_now)
    ends_at: Timestamp | None = None

    @field_validator("labels")
    @classmethod
    def _no_reserved_labels(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = sorted(cls.RESERVED_LABELS & value.keys())
        if reserved:
            raise ValueError(f"labels {reserved} are set from the fields of the same name")
        return value

    @model_validator(mode="after")
    def _ends_after_start(self) -> Self:
        if self.ends_at is not None and self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        return self

    def all_labels(self) -> dict[str, str]:
        """The identifying label set: ``labels`` plus ``alertname`` and ``camera_id``."""
        merged = dict(self.labels)
        merged["alertname"] = self.alertname
        if self.camera_id is not None:
            merged["camera_id"] = self.camera_id
        return merged

    def fingerprint(self) -> str:
        """Alertmanager's fingerprint of :meth:`all_labels` (16 hex digits)."""
        return label_fingerprint(self.all_labels())


_FNV64_OFFSET: Final = 0xCBF29CE484222325
_FNV64_PRIME: Final = 0x100000001B3
_MASK64: Final = 0xFFFFFFFFFFFFFFFF
_SEPARATOR: Final = b"\xff"


def label_fingerprint(labels: Mapping[str, str]) -> str:
    """FNV-1a 64 over ``name 0xFF value 0xFF`` for the labels sorted by name, as 16 hex
    digits: the same value as Prometheus' ``LabelSet.Fingerprint()`` used by Alertmanager.
    """
    digest = _FNV64_OFFSET
    for name in sorted(labels):
        for byte in name.encode() + _SEPARATOR + labels[name].encode() + _SEPARATOR:
            digest = ((digest ^ byte) * _FNV64_PRIME) & _MASK64
    return f"{digest:016x}"


class OptimizerAction(StrEnum):
    """What the optimizer is asked to do for a camera."""

    INSPECT = "inspect"
    RECOMMEND = "recommend"
    APPLY = "apply"
    VERIFY = "verify"


class OptimizerRequest(StreamMessage):
    """A request to the optimizer (``vigil:optimizer:requests``), e.g. from ``vigil optimize``."""

    MESSAGE_TYPE: ClassVar[str] = "optimizer_request"

    request_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        default_factory=lambda: uuid4().hex
    )
    camera_id: CameraId
    action: OptimizerAction
    requested_by: ShortText
    requested_at: Timestamp = Field(default_factory=utc_now)
    optimization_id: NonNegInt | None = None
    """The recommendation to apply or verify (``optimizations.id``)."""
    reason: Text | None = None


class DeadLetter(StreamMessage):
    """An entry a consumer gave up on after too many deliveries (``vigil:dlq``).

    The original fields are kept so the entry can be inspected and replayed: UTF-8 values as
    text, other values (and text containing U+0000) base64-encoded and listed in
    ``binary_fields``.
    """

    MESSAGE_TYPE: ClassVar[str] = "dead_letter"

    stream: Annotated[str, Field(min_length=1)]
    group: Annotated[str, Field(min_length=1)]
    consumer: str | None = None
    entry_id: Annotated[str, Field(pattern=r"^\d+-\d+$")]
    deliveries: Annotated[int, Field(strict=True, ge=0)]
    error: Annotated[str, Field(max_length=8192, pattern=NO_NUL_PATTERN)]
    failed_at: Timestamp = Field(default_factory=utc_now)
    fields: dict[str, str] = Field(default_factory=dict)
    binary_fields: list[str] = Field(default_factory=list)

    @classmethod
    def from_entry(
        cls,
        *,
        stream: str,
        group: str,
        entry_id: str | bytes,
        fields: Mapping[bytes, bytes],
        deliveries: int,
        error: str,
        consumer: str | None = None,
    ) -> Self:
        """Record a stream entry as read by redis-py (bytes field names and values)."""
        text: dict[str, str] = {}
        binary: list[str] = []
        for raw_name, raw_value in fields.items():
            name = raw_name.decode("utf-8", errors="backslashreplace")
            try:
                if b"\x00" in raw_value:
                    raise UnicodeDecodeError("utf-8", raw_value, 0, 1, "U+0000 is not storable")
                text[name] = raw_value.decode("utf-8")
            except UnicodeDecodeError:
                text[name] = base64.b64encode(raw_value).decode("ascii")
                binary.append(name)
        if isinstance(entry_id, bytes):
            entry_id = entry_id.decode("ascii", errors="replace")
        return cls(
            stream=stream,
            group=group,
            consumer=consumer,
            entry_id=entry_id,
            deliveries=deliveries,
            error=error.replace("\x00", "\\0")[:8192],
            fields=text,
            binary_fields=binary,
        )

    def original_fields(self) -> dict[bytes, bytes]:
        """The entry's fields as they were, for a replay with ``XADD``."""
        restored: dict[bytes, bytes] = {}
        binary = set(self.binary_fields)
        for name, value in self.fields.items():
            if name in binary:
                try:
                    restored[name.encode()] = base64.b64decode(value, validate=True)
                except binascii.Error as exc:
                    raise ValueError(f"field {name!r} is not valid base64") from exc
            else:
                restored[name.encode()] = value.encode()
        return restored


MESSAGE_MODELS: Final[tuple[type[StreamMessage], ...]] = (
    EventMessage,
    EventBatchMessage,
    HealthMessage,
    CameraStatusMessage,
    FrameMessage,
    DetectionMessage,
    AlertCandidate,
    OptimizerRequest,
    DeadLetter,
)
"""Every stream message model; ``streams.MESSAGE_TYPES`` indexes them by type name."""
