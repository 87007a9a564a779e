"""Redis names, stream bounds, group start positions and the stream entry envelope.

Every stream entry has the fields ``v`` (schema version), ``type`` (a message type name,
see :data:`MESSAGE_TYPES`), ``data`` (the JSON of that message model) and ``key`` (its
idempotency key, :mod:`vigil_schema.entry_keys`); a frame entry also carries its JPEG bytes
in a ``jpeg`` field (an *attachment*). :class:`Envelope` builds and reads these entries so
that no service hand-writes the field layout.

Every stream has a :class:`StreamPolicy` (:data:`STREAM_POLICIES`): the bound its producers
apply on every ``XADD`` (an age, trimmed with ``MINID ~``, and an approximate ``MAXLEN ~``
cap) and the position a new consumer group starts at.

Redis state keys follow seed 001 §2 with the ``vigil:`` namespace.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Final, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vigil_schema.entry_keys import IDEMPOTENCY_FIELD, entry_key
from vigil_schema.ids import validate_camera_id
from vigil_schema.messages import MESSAGE_MODELS, StreamMessage
from vigil_schema.mqtt import format_validation_error

# --------------------------------------------------------------------------- stream names

EVENTS: Final = "vigil:events"
FRAMES: Final = "vigil:frames"
HEALTH: Final = "vigil:health"
DETECTIONS: Final = "vigil:detections"
ALERTS: Final = "vigil:alerts"
OPTIMIZER_REQUESTS: Final = "vigil:optimizer:requests"
DLQ: Final = "vigil:dlq"
ALL_STREAMS: Final = (EVENTS, FRAMES, HEALTH, DETECTIONS, ALERTS, OPTIMIZER_REQUESTS, DLQ)

FRAMES_MAXLEN: Final = 1000
"""Default approximate bound (``MAXLEN ~``) of ``vigil:frames``, which carries JPEG bytes."""

# --------------------------------------------------------------------------- bounds

LIVE: Final = "$"
"""Group start position: only entries added after the group was created."""
ALL_RETAINED: Final = "0"
"""Group start position: everything the stream still holds."""


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """How long a stream keeps entries and where a new consumer group starts reading.

    Producers trim on every ``XADD``: entries older than ``max_age`` (``XTRIM MINID ~``; no
    age bound when ``None``) and beyond ``maxlen`` entries (``XTRIM MAXLEN ~``), whichever
    bites first; both are approximate (whole radix-tree nodes, ~100 entries). A new group
    starts at ``start``: :data:`LIVE` (``$``), :data:`ALL_RETAINED` (``0``) or a
    ``timedelta`` (replay what was added that long before the group was created).
    ``dedup_window`` is how long a consumer group remembers the keys it completed.
    """

    stream: str
    maxlen: int
    max_age: timedelta | None
    start: str | timedelta
    dedup_window: timedelta
    reason: str

    def start_id(self, now: datetime) -> str:
        """The id a group created at ``now`` starts after (``XGROUP CREATE ... <id>``)."""
        if isinstance(self.start, timedelta):
            return f"{max(0, _millis(now - self.start) - 1)}-{_MAX_SEQUENCE}"
        return self.start


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


_MAX_SEQUENCE: Final = 2**64 - 1
_MINUTE: Final = timedelta(minutes=1)
_HOUR: Final = timedelta(hours=1)
_DAY: Final = timedelta(days=1)

STREAM_POLICIES: Final[Mapping[str, StreamPolicy]] = {
    policy.stream: policy
    for policy in (
        StreamPolicy(
            FRAMES, FRAMES_MAXLEN, timedelta(seconds=30), LIVE, 2 * _MINUTE,
            "JPEG bytes (up to MiBs each): a frame older than seconds is of no use to a "
            "detector, and the cap bounds memory when every camera sends frames",
        ),
        StreamPolicy(
            EVENTS, 1_000_000, 2 * _HOUR, LIVE, 15 * _MINUTE,
            "every MQTT events message: hours cover a consumer's restart or a short outage; "
            "the rows stay in camera_events. The cap (~1 KiB/entry: ~1 GiB) bounds a burst. "
            "A new alerter group reads live: it must not alert on hours-old events",
        ),
        StreamPolicy(
            HEALTH, 500_000, 2 * _HOUR, LIVE, 15 * _MINUTE,
            "one sample per camera per interval plus status changes: hours, like events; "
            "history is in health_metrics and health_logs",
        ),
        StreamPolicy(
            DETECTIONS, 500_000, _HOUR, LIVE, 15 * _MINUTE,
            "one entry per analysed frame: an hour covers a consumer's restart; rows are "
            "in detections",
        ),
        StreamPolicy(
            ALERTS, 100_000, 3 * _DAY, _DAY, 3 * _DAY,
            "alert candidates are rare and must not be missed: days, and a new alerter "
            "group replays the last day",
        ),
        StreamPolicy(
            OPTIMIZER_REQUESTS, 10_000, 7 * _DAY, ALL_RETAINED, 7 * _DAY,
            "operator requests (vigil optimize): a week, and a new optimizer group takes "
            "every request still held",
        ),
        StreamPolicy(
            DLQ, 100_000, None, ALL_RETAINED, 7 * _DAY,
            "kept until handled (no age bound); the cap stops a poison flood from growing "
            "it without limit: past 100,000 entries the oldest dead letters are dropped "
            "(watch vigil_stream_length{stream=\"vigil:dlq\"})",
        ),
    )
}  # fmt: skip
"""The policy of every stream in :data:`ALL_STREAMS`."""


def stream_policy(
    stream: str, policies: Mapping[str, StreamPolicy] = STREAM_POLICIES
) -> StreamPolicy:
    """The policy of ``stream`` in ``policies``; ``KeyError`` names a stream without one."""
    try:
        return policies[stream]
    except KeyError:
        raise KeyError(f"no StreamPolicy for stream {stream!r}") from None


# --------------------------------------------------------------------------- state keys

ACTIVE_CAMERAS_KEY: Final = "vigil:cameras:active"
"""Set of the ids of cameras currently online."""
RATELIMIT_PREFIX: Final = "vigil:ratelimit:"
"""Prefix of rate-limit and token-budget counters (e.g. ``vigil:ratelimit:claude:tokens``)."""
CLAUDE_QUESTIONS_KEY: Final = "vigil:claude:questions"
"""Hash camera id → an operator's question for Claude (``vigil ask``), answered by the
analyzer on the camera's next analysed frame."""
SERVICE_KEY_PREFIX: Final = "vigil:service:"
"""Prefix of the service heartbeat hashes (:func:`service_key`); ``vigil status`` scans it."""


def camera_state_key(camera_id: str) -> str:
    """``vigil:camera:{id}:state``: hash of live camera state (:class:`CameraStateField`)."""
    return f"vigil:camera:{validate_camera_id(camera_id)}:state"


def camera_scene_key(camera_id: str) -> str:
    """``vigil:camera:{id}:scene``: list of recent scene summaries (Claude context)."""
    return f"vigil:camera:{validate_camera_id(camera_id)}:scene"


def ratelimit_key(*parts: str) -> str:
    """``vigil:ratelimit:{part}:{part}...``, e.g. ``ratelimit_key("claude", "tokens")``."""
    if not parts or any(not part or ":" in part for part in parts):
        raise ValueError(f"rate-limit key parts must be non-empty and contain no ':': {parts!r}")
    return RATELIMIT_PREFIX + ":".join(parts)


def service_key(name: str, instance: str) -> str:
    """``vigil:service:{name}:{instance}``: hash where a running service instance heartbeats.

    Written by every service (``vigil_runtime.heartbeat``), read by ``vigil status``.
    """
    return f"{SERVICE_KEY_PREFIX}{name}:{instance}"


def added_marker_key(stream: str, key: str) -> str:
    """``{stream}:added:{key}``: a producer added an entry with idempotency key ``key`` to
    ``stream`` moments ago (expiring; ``vigil_runtime.stream_writer``)."""
    return f"{stream}:added:{key}"


def completed_key(stream: str, group: str, key: str) -> str:
    """``{stream}:done:{group}:{key}``: consumer group ``group`` completed the entry with
    idempotency key ``key`` (expiring after the policy's ``dedup_window``)."""
    return f"{stream}:done:{group}:{key}"


class CameraStateField(StrEnum):
    """Field names of the ``vigil:camera:{id}:state`` hash."""

    STATUS = "status"
    """``online`` / ``offline`` / ``unknown``."""
    LAST_SEEN = "last_seen"
    """RFC 3339 time of the last message of any kind."""
    LAST_EVENT_TS = "last_event_ts"
    LAST_FRAME_NUMBER = "last_frame_number"
    FPS_ACTUAL = "fps_actual"
    ANALYZER_FPS = "analyzer_fps"
    """Frames the analyzer ran through the detector per second (last ten seconds)."""
    ANALYZER_OBJECTS = "analyzer_objects"
    """Objects on the camera's last analysed frame."""
    ANALYZER_OCCUPANCY = "analyzer_occupancy"
    """JSON ``{zone: objects}`` on the last analysed frame."""
    ANALYZER_AT = "analyzer_at"
    """RFC 3339 time of the last analysed frame."""
    ANALYZER_INSTANCE = "analyzer_instance"
    """The analyzer replica that owns the camera."""


# --------------------------------------------------------------------------- envelope

SCHEMA_VERSION: Final = 1
"""Version written by this build; raised when old consumers could not read new entries."""
SUPPORTED_VERSIONS: Final = frozenset({1})
"""Versions this build can read."""
RESERVED_FIELDS: Final = frozenset({"v", "type", "data", IDEMPOTENCY_FIELD})
REQUIRED_FIELDS: Final = frozenset({"v", "type", "data"})
"""An entry without ``key`` (written before keys existed) is still readable."""

MESSAGE_TYPES: Final[Mapping[str, type[StreamMessage]]] = {
    model.MESSAGE_TYPE: model for model in MESSAGE_MODELS
}
"""Message type name → data model, for consumers that decode any entry."""

STREAM_OF_TYPE: Final[Mapping[str, str]] = {
    "event": EVENTS,
    "events": EVENTS,
    "health": HEALTH,
    "camera_status": HEALTH,
    "frame": FRAMES,
    "detection": DETECTIONS,
    "alert_candidate": ALERTS,
    "optimizer_request": OPTIMIZER_REQUESTS,
    "dead_letter": DLQ,
}
"""Message type name → the stream it is published to."""

M = TypeVar("M", bound=StreamMessage)


class EnvelopeError(ValueError):
    """A stream entry is not a readable envelope, or its data does not fit its model."""


def _text(value: bytes | str, name: str) -> str:
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise EnvelopeError(f"stream entry field {name!r} is not valid UTF-8") from None


class Envelope(BaseModel):
    """One stream entry: ``{v, type, data, key}`` plus binary attachments such as ``jpeg``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Annotated[int, Field(ge=1)] = SCHEMA_VERSION
    type: Annotated[str, Field(min_length=1, max_length=64)]
    data: str
    key: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """Idempotency key (:func:`vigil_schema.entry_keys.entry_key`); ``None`` on entries
    written before keys existed."""
    attachments: dict[str, bytes] = Field(default_factory=dict)

    @classmethod
    def wrap(
        cls,
        message: StreamMessage,
        type: str | None = None,
        attachments: Mapping[str, bytes] | None = None,
        *,
        key: str | None = None,
    ) -> Self:
        """Envelope ``message`` (``type`` defaults to its ``MESSAGE_TYPE``, ``key`` to
        :func:`~vigil_schema.entry_keys.entry_key`), with optional binary attachments such
        as ``{"jpeg": ...}``.
        """
        attachments = dict(attachments or {})
        clash = RESERVED_FIELDS & attachments.keys()
        if clash:
            raise EnvelopeError(f"attachment names {sorted(clash)} are reserved")
        return cls(
            type=type or message.MESSAGE_TYPE,
            data=message.model_dump_json(),
            key=key or entry_key(message),
            attachments=attachments,
        )

    @property
    def stream(self) -> str:
        """The stream this type of message is published to."""
        try:
            return STREAM_OF_TYPE[self.type]
        except KeyError:
            raise EnvelopeError(f"no stream is defined for message type {self.type!r}") from None

    def to_fields(self) -> dict[str, bytes | str]:
        """The entry's fields for ``XADD``."""
        fields: dict[str, bytes | str] = {"v": str(self.v), "type": self.type, "data": self.data}
        if self.key is not None:
            fields[IDEMPOTENCY_FIELD] = self.key
        fields.update(self.attachments)
        return fields

    @classmethod
    def from_fields(cls, fields: Mapping[bytes, bytes] | Mapping[str, str]) -> Self:
        """Read an entry as returned by redis-py (bytes, or str with ``decode_responses``).

        Raises :class:`EnvelopeError` for a missing or malformed field or a version this
        build does not read. Unknown extra fields are kept as attachments.
        """
        named: dict[str, bytes | str] = {
            (name if isinstance(name, str) else _text(name, repr(name))): value
            for name, value in fields.items()
        }
        missing = sorted(REQUIRED_FIELDS - named.keys())
        if missing:
            raise EnvelopeError(f"stream entry lacks field(s) {', '.join(missing)}")
        version_text = _text(named.pop("v"), "v")
        if not version_text.isascii() or not version_text.isdigit():
            raise EnvelopeError(f"stream entry version {version_text[:20]!r} is not an integer")
        version = int(version_text)
        if version not in SUPPORTED_VERSIONS:
            raise EnvelopeError(
                f"unsupported schema version {version} (this build reads "
                f"{', '.join(map(str, sorted(SUPPORTED_VERSIONS)))})"
            )
        message_type = _text(named.pop("type"), "type")
        data = _text(named.pop("data"), "data")
        raw_key = named.pop(IDEMPOTENCY_FIELD, None)
        key = None if raw_key is None else _text(raw_key, IDEMPOTENCY_FIELD)
        attachments = {
            name: value.encode() if isinstance(value, str) else value
            for name, value in named.items()
        }
        try:
            return cls(v=version, type=message_type, data=data, key=key, attachments=attachments)
        except ValidationError as exc:
            raise EnvelopeError(format_validation_error(exc)) from None

    def unwrap(self, model_type: builtins.type[M]) -> M:
        """Validate ``data`` as ``model_type``; the envelope type must be that model's."""
        if self.type != model_type.MESSAGE_TYPE:
            raise EnvelopeError(
                f"entry has type {self.type!r}, expected {model_type.MESSAGE_TYPE!r}"
            )
        try:
            return model_type.model_validate_json(self.data)
        except ValidationError as exc:
            raise EnvelopeError(
                f"invalid {self.type!r} data: {format_validation_error(exc)}"
            ) from None

    def decode(self) -> StreamMessage:
        """Validate ``data`` with the model registered for ``type`` in :data:`MESSAGE_TYPES`."""
        model_type = MESSAGE_TYPES.get(self.type)
        if model_type is None:
            raise EnvelopeError(f"unknown message type {self.type!r}")
        return self.unwrap(model_type)
