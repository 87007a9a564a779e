"""MQTT payload models (camera → Vigil) and their parsers.

Choices that every producer must know (docs/contracts):

* **Unknown fields are rejected** (``extra="forbid"``): a misspelt field (``motion_scroe``)
  would otherwise be dropped or stored silently. Producer-specific data goes in the event's
  explicit ``extra`` object (kept in ``camera_events.extra``). Payloads evolve by adding
  optional fields here first, then in the producers.
* **Everything accepted is storable**: no U+0000 in strings, no NaN/infinity anywhere (also
  inside ``extra``), floats bounded so they fit PostgreSQL ``real`` columns. A payload that
  passes validation cannot make a COPY batch fail.
* **Numbers are strict**: integers must be JSON integers (not ``"3"``, ``3.0`` or ``true``),
  floats may be JSON integers or floats, ``NaN``/``Infinity`` are rejected everywhere.
* **Timestamps** must be RFC 3339 date-times with an offset (``2024-05-01T12:00:00Z``); a
  naive date-time, a bare date or a Unix number is a validation error. Whether a valid
  timestamp is *plausible* (far future, too old) depends on the ingest's clock and its
  configured window, so it is checked by :func:`timestamp_window_violation`, which the ingest
  calls, not by the model.
* **Sizes are capped**: at most :data:`MAX_EVENTS_PER_PAYLOAD` events per payload,
  :data:`MAX_OBJECTS_PER_EVENT` objects and :data:`MAX_REGIONS_PER_EVENT` motion regions per
  event, and the raw payload is refused above a byte limit before it is parsed.
* A batch (JSON array) is accepted or rejected **as a whole**: one MQTT message is one
  ``ingest_rejects`` row, never half stored.

The parsers build their ``TypeAdapter`` objects once at import; the ingest calls them for
every message. Every failure is a :class:`PayloadError` carrying a :class:`RejectReason`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Final, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from vigil_schema.enums import CameraStatus, EventType, HealthLevel, MetricType, RejectReason
from vigil_schema.ids import CAMERA_ID_PATTERN, CameraId

MAX_EVENTS_PER_PAYLOAD: Final = 1000
MAX_OBJECTS_PER_EVENT: Final = 256
MAX_REGIONS_PER_EVENT: Final = 256
DEFAULT_MAX_EVENTS_PAYLOAD_BYTES: Final = 4 * 1024 * 1024
DEFAULT_MAX_HEALTH_PAYLOAD_BYTES: Final = 64 * 1024
DEFAULT_MAX_FRAME_BYTES: Final = 8 * 1024 * 1024
INT64_MAX: Final = 2**63 - 1
INT32_MAX: Final = 2**31 - 1
MAX_COORDINATE: Final = 100_000.0
"""Bound of bbox coordinates (pixels or normalised); keeps them within ``real`` columns."""
MAX_MILLIS: Final = 86_400_000.0
"""Bound of durations in milliseconds (one day); keeps them within ``real`` columns."""
MAX_EXTRA_KEYS: Final = 64
MAX_EXTRA_DEPTH: Final = 8
MAX_DETAIL_ERRORS: Final = 10
"""How many validation errors a :class:`PayloadError` detail lists before summarising."""


class PayloadError(ValueError):
    """An MQTT payload was refused; ``reason`` is the ``ingest_rejects.reason`` code."""

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


# --------------------------------------------------------------------------- field types


def _require_rfc3339_text(value: Any) -> Any:
    """Let through only datetimes and RFC 3339 date-time strings.

    pydantic alone would also read ``1700000000`` or ``"1700000000"`` (Unix seconds) and
    ``"2024-05-01"`` (a date); an RFC 3339 date-time has its time separator at index 10.
    The offset itself is enforced by ``AwareDatetime``.
    """
    if isinstance(value, str):  # JSON text: the common case first
        if len(value) >= 20 and value[10] in "Tt ":
            return value
    elif isinstance(value, datetime):
        return value
    raise ValueError("must be an RFC 3339 date-time with a UTC offset, e.g. 2024-05-01T12:00:00Z")


def _to_utc(value: datetime) -> datetime:
    """Normalise to UTC; refuse instants that only exist with their offset (year 1 / 9999)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("date-time is out of range once converted to UTC") from None


Timestamp = Annotated[
    AwareDatetime, BeforeValidator(_require_rfc3339_text), AfterValidator(_to_utc)
]
"""A timezone-aware date-time, normalised to UTC; from JSON only as RFC 3339 text with an
offset."""

UnitFloat = Annotated[float, Field(strict=True, ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(strict=True, ge=0.0, allow_inf_nan=False)]
Coordinate = Annotated[NonNegFloat, Field(le=MAX_COORDINATE)]
Millis = Annotated[NonNegFloat, Field(le=MAX_MILLIS)]
NonNegInt = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX)]
NonNegInt32 = Annotated[int, Field(strict=True, ge=0, le=INT32_MAX)]
Percent = Annotated[float, Field(strict=True, ge=0.0, le=100.0, allow_inf_nan=False)]
BBox = tuple[Coordinate, Coordinate, Coordinate, Coordinate]
"""``[x, y, w, h]``: top-left corner and size, in the frame's pixels or normalised units."""
NO_NUL_PATTERN: Final = r"^[^\x00]*$"
"""PostgreSQL text and jsonb cannot hold U+0000: such a string would fail a whole COPY."""
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL_PATTERN)]
PayloadCameraId = Annotated[str, Field(pattern=CAMERA_ID_PATTERN)]
"""The optional ``camera_id`` inside a payload: the camera-id pattern checked by pydantic's
core (not :data:`~vigil_schema.ids.CameraId`'s Python validator, which costs about 1 µs per
event); a valid one must still equal the topic's camera (:func:`_check_camera`)."""
Text = Annotated[str, Field(max_length=1024, pattern=NO_NUL_PATTERN)]


def _check_json_value(value: JsonValue, depth: int) -> None:
    if depth > MAX_EXTRA_DEPTH:
        raise ValueError(f"nested deeper than {MAX_EXTRA_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("contains a NaN or infinite number")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("contains a U+0000 character")
    if isinstance(value, list):
        for item in value:
            _check_json_value(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise ValueError("contains a U+0000 character in a key")
            _check_json_value(item, depth + 1)


def _storable_json(value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
    """Refuse free-form JSON that ``jsonb`` cannot store (NaN, infinity, U+0000)."""
    if value is not None:
        _check_json_value(value, 0)
    return value


class PayloadModel(BaseModel):
    """Base of payload and message models: frozen, no unknown fields, no NaN/Infinity."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
    )


# --------------------------------------------------------------------------- events


class MotionRegion(PayloadModel):
    """A rectangle where motion was seen, with an optional strength."""

    bbox: BBox
    score: UnitFloat | None = None


class DetectedObject(PayloadModel):
    """One detected object: ``{"class", "confidence", "bbox", "track_id"?}``."""

    class_name: ShortText = Field(alias="class")
    confidence: UnitFloat
    bbox: BBox
    track_id: NonNegInt | ShortText | None = None
    """A tracker's id for the object across frames: an integer or a short string."""


class CameraEvent(PayloadModel):
    """One camera event (payload v1 of ``vigil/cameras/{id}/events``).

    ``camera_id`` is optional: the topic names the camera; if present it must match it.
    """

    event_type: EventType
    ts: Timestamp
    frame_number: NonNegInt
    camera_id: PayloadCameraId | None = None
    motion_score: UnitFloat | None = None
    motion_regions: list[MotionRegion] | None = Field(
        default=None, max_length=MAX_REGIONS_PER_EVENT
    )
    objects: list[DetectedObject] = Field(default_factory=list, max_length=MAX_OBJECTS_PER_EVENT)
    scene_hash: ShortText | None = None
    scene_change_score: UnitFloat | None = None
    fps_actual: Annotated[NonNegFloat, Field(le=1000.0)] | None = None
    image_quality_score: UnitFloat | None = None
    bandwidth_usage_bytes: NonNegInt | None = None
    inference_ms: Millis | None = None
    processing_ms: Millis | None = None
    extra: dict[ShortText, JsonValue] | None = Field(default=None, max_length=MAX_EXTRA_KEYS)
    """Producer-specific data, stored as is in ``camera_events.extra``."""

    @field_validator("extra")
    @classmethod
    def _storable_extra(cls, value: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
        return _storable_json(value)

    @property
    def object_count(self) -> int:
        """Number of detected objects (``camera_events.object_count``)."""
        return len(self.objects)

    @property
    def max_confidence(self) -> float | None:
        """Highest object confidence, ``None`` without objects."""
        if not self.objects:
            return None
        return max([obj.confidence for obj in self.objects])  # a list: faster than a generator


# --------------------------------------------------------------------------- health


class HealthSample(PayloadModel):
    """A health sample (``vigil/cameras/{id}/health``); each metric becomes a row.

    The metric fields are named exactly after :class:`MetricType` values (a test keeps them in
    step), so :meth:`metrics` can explode a sample into ``health_metrics`` rows.
    """

    ts: Timestamp
    camera_id: PayloadCameraId | None = None
    status: HealthLevel | None = None
    message: Text | None = None
    brightness: NonNegFloat | None = None
    noise_level: NonNegFloat | None = None
    blur_score: NonNegFloat | None = None
    bitrate_mbps: NonNegFloat | None = None
    fps_actual: Annotated[NonNegFloat, Field(le=1000.0)] | None = None
    frame_drops: NonNegInt | None = None
    latency_ms: Millis | None = None
    cpu_percent: Percent | None = None
    temperature_c: Annotated[float, Field(strict=True, ge=-100.0, le=200.0)] | None = None
    uptime_s: NonNegFloat | None = None

    METRIC_FIELDS: ClassVar[tuple[MetricType, ...]] = tuple(MetricType)

    def metrics(self) -> list[tuple[MetricType, float]]:
        """The metrics present in this sample as ``(metric_type, value)`` pairs."""
        pairs: list[tuple[MetricType, float]] = []
        for metric in self.METRIC_FIELDS:
            value = getattr(self, metric.value)
            if value is not None:
                pairs.append((metric, float(value)))
        return pairs


# --------------------------------------------------------------------------- status


class CameraStatusPayload(PayloadModel):
    """A camera's retained status: plain ``online``/``offline`` or ``{"status", "ts"?}``."""

    status: CameraStatus
    ts: Timestamp | None = None

    @field_validator("status")
    @classmethod
    def _online_or_offline(cls, value: CameraStatus) -> CameraStatus:
        if value is CameraStatus.UNKNOWN:
            raise ValueError("a camera reports 'online' or 'offline', not 'unknown'")
        return value


# --------------------------------------------------------------------------- frames


class FrameHeader(PayloadModel):
    """What the ingest knows about a frame from its topic, user properties and payload."""

    camera_id: CameraId
    ts: Timestamp
    frame_number: NonNegInt
    width: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None
    height: Annotated[int, Field(strict=True, ge=1, le=65535)] | None = None
    size_bytes: NonNegInt32

    REQUIRED_PROPERTIES: ClassVar[tuple[str, ...]] = ("ts", "frame_number")
    OPTIONAL_PROPERTIES: ClassVar[tuple[str, ...]] = ("width", "height")

    @classmethod
    def from_user_properties(
        cls, camera_id: str, props: Sequence[tuple[str, str]], size: int
    ) -> Self:
        """Build a header from MQTT v5 user properties ``ts``, ``frame_number`` (required),
        ``width``, ``height`` (optional); other properties are ignored.

        Raises :class:`PayloadError` with ``missing_property`` or ``validation_error``.
        """
        known = cls.REQUIRED_PROPERTIES + cls.OPTIONAL_PROPERTIES
        values: dict[str, str] = {key: value for key, value in props if key in known}
        missing = [name for name in cls.REQUIRED_PROPERTIES if name not in values]
        if missing:
            raise PayloadError(
                RejectReason.MISSING_PROPERTY,
                f"frame is missing MQTT user propert{'y' if len(missing) == 1 else 'ies'} "
                f"{', '.join(missing)}",
            )
        data = {"camera_id": camera_id, "size_bytes": str(size), **values}
        try:
            return cls.model_validate_strings(data)
        except ValidationError as exc:
            raise PayloadError(
                RejectReason.VALIDATION_ERROR, format_validation_error(exc)
            ) from None


# --------------------------------------------------------------------------- errors


MAX_DETAIL_CHARS: Final = 2000
"""Cap on a :class:`PayloadError` detail (it is logged and stored with the reject)."""


def _format_loc(loc: tuple[int | str, ...], root: str) -> str:
    text = root
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    text = text or "payload"
    return text if len(text) <= 120 else text[:117] + "..."


def _format_input(value: Any) -> str:
    if isinstance(value, bool | int | float) or value is None:
        return f" (got {value!r})"
    if isinstance(value, str) and len(value) <= 40:
        return f" (got {value!r})"
    return ""


def format_validation_error(exc: ValidationError, root: str = "") -> str:
    """One clause per error, ``path: message (got value)``, at most :data:`MAX_DETAIL_ERRORS`
    and :data:`MAX_DETAIL_CHARS` characters; ``root`` prefixes every path.
    """
    errors = exc.errors(include_url=False, include_context=False)
    clauses = [
        f"{_format_loc(error['loc'], root)}: "
        f"{error['msg'].removeprefix('Value error, ')}{_format_input(error.get('input'))}"
        for error in errors[:MAX_DETAIL_ERRORS]
    ]
    if len(errors) > MAX_DETAIL_ERRORS:
        clauses.append(f"... and {len(errors) - MAX_DETAIL_ERRORS} more errors")
    detail = "; ".join(clauses)
    return detail if len(detail) <= MAX_DETAIL_CHARS else detail[: MAX_DETAIL_CHARS - 3] + "..."


def _payload_error(exc: ValidationError, raw: bytes | bytearray, root: str) -> PayloadError:
    """Classify a failed ``validate_json``: bad UTF-8, bad JSON, or bad content."""
    errors = exc.errors(include_url=False, include_context=False)
    if errors and errors[0]["type"] == "json_invalid":
        try:
            bytes(raw).decode("utf-8")
        except UnicodeDecodeError as decode_error:
            return PayloadError(
                RejectReason.INVALID_UTF8,
                f"payload is not valid UTF-8 at byte {decode_error.start}",
            )
        return PayloadError(RejectReason.INVALID_JSON, errors[0]["msg"])
    return PayloadError(RejectReason.VALIDATION_ERROR, format_validation_error(exc, root))


def _check_size(raw: bytes | bytearray, max_bytes: int) -> None:
    if len(raw) > max_bytes:
        raise PayloadError(
            RejectReason.PAYLOAD_TOO_LARGE,
            f"payload is {len(raw)} bytes, the limit is {max_bytes}",
        )


def _check_camera(found: str | None, camera_id: str, where: str) -> None:
    if found is not None and found != camera_id:
        raise PayloadError(
            RejectReason.CAMERA_MISMATCH,
            f"{where}camera_id {found!r} does not match the topic's camera {camera_id!r}",
        )


# --------------------------------------------------------------------------- parsers

_EVENT_ADAPTER: Final = TypeAdapter(CameraEvent)
_EVENT_BATCH_ADAPTER: Final = TypeAdapter(
    Annotated[list[CameraEvent], Field(max_length=MAX_EVENTS_PER_PAYLOAD)]
)
_HEALTH_ADAPTER: Final = TypeAdapter(HealthSample)
_STATUS_ADAPTER: Final = TypeAdapter(CameraStatusPayload)
_JSON_WHITESPACE: Final = b" \t\r\n"


def _first_byte(raw: bytes | bytearray) -> int | None:
    """The first non-whitespace byte of ``raw`` (``None`` if there is none)."""
    for byte in raw:
        if byte not in _JSON_WHITESPACE:
            return byte
    return None


def parse_events_payload(
    raw: bytes | bytearray,
    camera_id: str,
    *,
    max_bytes: int = DEFAULT_MAX_EVENTS_PAYLOAD_BYTES,
) -> list[CameraEvent]:
    """Parse an events payload (one JSON object or an array of them) for ``camera_id``.

    ``camera_id`` is the (already validated) id from the topic. An empty array gives an empty
    list. Raises :class:`PayloadError` for anything else than valid events of this camera.
    """
    _check_size(raw, max_bytes)
    if _first_byte(raw) == ord("["):
        try:
            events = _EVENT_BATCH_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise _payload_error(exc, raw, "events") from None
        for index, event in enumerate(events):
            if event.camera_id is not None and event.camera_id != camera_id:  # per event: inline
                _check_camera(event.camera_id, camera_id, f"events[{index}].")
        return events
    try:
        event = _EVENT_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise _payload_error(exc, raw, "") from None
    _check_camera(event.camera_id, camera_id, "")
    return [event]


def parse_health_payload(
    raw: bytes | bytearray,
    camera_id: str,
    *,
    max_bytes: int = DEFAULT_MAX_HEALTH_PAYLOAD_BYTES,
) -> HealthSample:
    """Parse a health sample (a JSON object) for ``camera_id``; raises :class:`PayloadError`."""
    _check_size(raw, max_bytes)
    try:
        sample = _HEALTH_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise _payload_error(exc, raw, "") from None
    _check_camera(sample.camera_id, camera_id, "")
    return sample


def parse_status_payload(raw: bytes | bytearray) -> CameraStatusPayload | None:
    """Parse a status payload: ``online``/``offline`` (any case) or a JSON object.

    Returns ``None`` for an empty payload, which in MQTT clears the retained message and is
    not a status report. Raises :class:`PayloadError` for anything else.
    """
    _check_size(raw, DEFAULT_MAX_HEALTH_PAYLOAD_BYTES)
    stripped = bytes(raw).strip()
    if not stripped:
        return None
    if not stripped.startswith(b"{"):
        text = stripped.lower()
        if text in (b"online", b"offline"):
            return CameraStatusPayload(status=CameraStatus(text.decode("ascii")))
        raise PayloadError(
            RejectReason.VALIDATION_ERROR,
            "status payload must be 'online', 'offline' or a JSON object "
            '{"status": "online"|"offline", "ts"?: "<RFC 3339>"}',
        )
    try:
        return _STATUS_ADAPTER.validate_json(stripped)
    except ValidationError as exc:
        raise _payload_error(exc, stripped, "") from None


# --------------------------------------------------------------------------- checks

JPEG_SOI: Final = b"\xff\xd8\xff"
JPEG_EOI: Final = b"\xff\xd9"


def validate_jpeg(data: bytes | bytearray, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
    """Check that ``data`` looks like one whole JPEG: SOI at the start, EOI at the end
    (trailing zero padding allowed) and at most ``max_bytes``. Raises :class:`PayloadError`.
    """
    _check_size(data, max_bytes)
    if not data.startswith(JPEG_SOI):
        raise PayloadError(
            RejectReason.VALIDATION_ERROR, "frame is not a JPEG (no SOI marker FF D8 FF)"
        )
    if not (data.endswith(JPEG_EOI) or bytes(data).rstrip(b"\x00").endswith(JPEG_EOI)):
        raise PayloadError(
            RejectReason.VALIDATION_ERROR, "JPEG is truncated (no EOI marker FF D9 at the end)"
        )


_SOF_MARKERS: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS: Final = frozenset(range(0xD0, 0xDA)) | {0x01}


def jpeg_dimensions(data: bytes | bytearray) -> tuple[int, int] | None:
    """``(width, height)`` from a JPEG's start-of-frame segment, ``None`` if not found."""
    pos = 2
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE_MARKERS:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS:
            if pos + 9 > end:
                return None
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            width = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return (width, height) if width and height else None
        if marker == 0xDA or length < 2:  # start of scan before any SOF, or corrupt
            return None
        pos += 2 + length
    return None


def timestamp_window_violation(
    ts: datetime, now: datetime, *, max_future: timedelta, max_age: timedelta
) -> RejectReason | None:
    """``timestamp_future`` / ``timestamp_too_old`` if ``ts`` lies outside the accepted
    window around ``now``, else ``None``. The ingest owns the window (configurable).
    """
    if ts > now + max_future:
        return RejectReason.TIMESTAMP_FUTURE
    if ts < now - max_age:
        return RejectReason.TIMESTAMP_TOO_OLD
    return None
