"""decode(): every kind of camera message, and every reason a message is refused."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from vigil_ingest.decode import Decoded, DecodeLimits, Rejected, decode, reject_row
from vigil_ingest.registry import CameraInfo
from vigil_schema.enums import CameraStatus, DesiredState, RejectReason
from vigil_schema.messages import EventBatchMessage, FrameMessage, HealthMessage
from vigil_schema.streams import EVENTS, FRAMES, HEALTH, Envelope
from vigil_schema.tables import (
    CAMERA_EVENTS,
    FRAME_METADATA,
    HEALTH_METRICS,
    INGEST_REJECT_PAYLOAD_MAX_BYTES,
    INGEST_REJECTS,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=UTC)
JPEG = (
    b"\xff\xd8"  # SOI
    + b"\xff\xe0\x00\x10" + b"\x00" * 14  # APP0
    + b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40" + b"\x00" * 12  # SOF0: 48 x 64
    + b"\xff\xd9"  # EOI
)  # fmt: skip


@dataclass(frozen=True)
class Msg:
    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...] = ()
    retain: bool = False
    received_at: float = NOW.timestamp()


@dataclass
class Cameras:
    """The two methods decode() needs of the registry, over a plain dict."""

    cameras: dict[str, CameraInfo] = field(default_factory=dict)
    retention: dict[str, timedelta] = field(default_factory=dict)

    def get(self, camera_id: str) -> CameraInfo | None:
        return self.cameras.get(camera_id)

    def max_age(self, table: str, default: timedelta) -> timedelta:
        return self.retention.get(table, default)


REGISTRY = Cameras(
    {
        "cam-1": CameraInfo("cam-1", DesiredState.ACTIVE, 60),
        "cam-off": CameraInfo("cam-off", DesiredState.DISABLED, 60),
        "cam-m": CameraInfo("cam-m", DesiredState.MAINTENANCE, 60),
    },
    {CAMERA_EVENTS.name: timedelta(days=30), FRAME_METADATA.name: timedelta(days=7)},
)


def _envelope(fields: Mapping[str, bytes | str]) -> Envelope:
    """Read an entry as Redis would return it (bytes names and values)."""
    raw = {name.encode(): value if isinstance(value, bytes) else value.encode()
           for name, value in fields.items()}  # fmt: skip
    return Envelope.from_fields(raw)


def _event(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_type": "object_detected",
        "ts": "2024-05-01T11:59:59.500Z",
        "frame_number": 7,
        "motion_score": 0.5,
        "motion_regions": [{"bbox": [0.1, 0.2, 0.3, 0.4], "score": 0.9}],
        "objects": [
            {"class": "person", "confidence": 0.8, "bbox": [1, 2, 3, 4], "track_id": 3},
            {"class": "car", "confidence": 0.95, "bbox": [5, 6, 7, 8]},
        ],
        "fps_actual": 14.5,
        "extra": {"fw": "1.2"},
    }
    event.update(overrides)
    return event


def _decode(topic: str, payload: object, **kwargs: object) -> Decoded | Rejected:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return decode(Msg(topic, raw, **kwargs), REGISTRY, NOW)  # type: ignore[arg-type]


def _accepted(result: Decoded | Rejected) -> Decoded:
    assert isinstance(result, Decoded), result
    return result


def _rejected(result: Decoded | Rejected, reason: RejectReason) -> Rejected:
    assert isinstance(result, Rejected), result
    assert result.reason is reason, result
    assert result.detail
    return result


def test_event_rows_follow_the_table_spec() -> None:
    result = _accepted(_decode("vigil/cameras/cam-1/events", _event()))
    (row,) = result.rows[CAMERA_EVENTS.name]
    named = dict(zip(CAMERA_EVENTS.column_names, row, strict=True))
    assert named["camera_id"] == "cam-1"
    assert named["ts"] == datetime(2024, 5, 1, 11, 59, 59, 500000, tzinfo=UTC)
    assert named["received_at"] == NOW
    assert named["source"] == "camera"
    assert named["object_count"] == 2
    assert named["max_confidence"] == 0.95
    assert named["objects"][0] == {"class": "person", "confidence": 0.8,
                                   "bbox": [1.0, 2.0, 3.0, 4.0], "track_id": 3}  # fmt: skip
    assert named["motion_regions"] == [{"bbox": [0.1, 0.2, 0.3, 0.4], "score": 0.9}]
    assert named["extra"] == {"fw": "1.2"}
    assert result.events == 1
    (entry,) = result.entries  # a single object travels as a one-event batch
    (event,) = _envelope(entry.fields).unwrap(EventBatchMessage).events
    assert event.objects[1].class_name == "car"
    assert result.state["last_frame_number"] == "7"
    assert result.state["fps_actual"] == "14.5"


def test_a_batch_is_one_stream_entry_that_round_trips() -> None:
    events = [_event(frame_number=n, objects=[]) for n in range(5)]
    result = _accepted(_decode("vigil/cameras/cam-1/events", events))
    assert len(result.rows[CAMERA_EVENTS.name]) == 5
    assert all(row[CAMERA_EVENTS.column_names.index("objects")] is None
               for row in result.rows[CAMERA_EVENTS.name])  # fmt: skip
    (entry,) = result.entries
    assert entry.stream == EVENTS
    message = _envelope(entry.fields).unwrap(EventBatchMessage)
    assert message.camera_id == "cam-1"
    assert message.received_at == NOW
    assert [event.frame_number for event in message.events] == list(range(5))


def test_empty_batch_is_accepted_without_rows() -> None:
    result = _accepted(_decode("vigil/cameras/cam-1/events", []))
    assert result.rows == {}
    assert result.entries == ()


def test_one_bad_event_rejects_the_whole_batch() -> None:
    events = [_event(), _event(frame_number=-1)]
    _rejected(_decode("vigil/cameras/cam-1/events", events), RejectReason.VALIDATION_ERROR)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("vigil/cameras/cam-1/nonsense", _event(), RejectReason.UNSUPPORTED_TOPIC),
        ("other/topic", _event(), RejectReason.UNSUPPORTED_TOPIC),
        ("vigil/cameras/ghost/events", _event(), RejectReason.UNKNOWN_CAMERA),
        ("vigil/cameras/cam-off/events", _event(), RejectReason.CAMERA_DISABLED),
        ("vigil/cameras/cam-1/events", b"{not json", RejectReason.INVALID_JSON),
        ("vigil/cameras/cam-1/events", b'{"a": "\xff"}', RejectReason.INVALID_UTF8),
        ("vigil/cameras/cam-1/events", _event(camera_id="cam-2"), RejectReason.CAMERA_MISMATCH),
        ("vigil/cameras/cam-1/events", _event(ts="2024-05-01T12:06:00Z"),
         RejectReason.TIMESTAMP_FUTURE),
        ("vigil/cameras/cam-1/events", [_event(), _event(ts="2024-03-01T12:00:00Z")],
         RejectReason.TIMESTAMP_TOO_OLD),
        ("vigil/cameras/cam-1/health", {"ts": "2024-05-01T12:00:00Z", "brightness": "x"},
         RejectReason.VALIDATION_ERROR),
        ("vigil/cameras/cam-1/status", b"sleeping", RejectReason.VALIDATION_ERROR),
    ],
)  # fmt: skip
def test_reject_reasons(topic: str, payload: object, reason: RejectReason) -> None:
    _rejected(_decode(topic, payload), reason)


def test_reject_keeps_camera_id_when_the_topic_names_one() -> None:
    result = _rejected(_decode("vigil/cameras/ghost/events", _event()), RejectReason.UNKNOWN_CAMERA)
    assert result.camera_id == "ghost"


def test_maintenance_cameras_are_accepted() -> None:
    _accepted(_decode("vigil/cameras/cam-m/events", _event()))


def test_oversized_payload() -> None:
    limits = DecodeLimits(max_payload_bytes=100)
    result = decode(Msg("vigil/cameras/cam-1/events", json.dumps(_event()).encode()),
                    REGISTRY, NOW, limits)  # fmt: skip
    _rejected(result, RejectReason.PAYLOAD_TOO_LARGE)


def test_health_explodes_into_metric_rows() -> None:
    sample = {"ts": "2024-05-01T12:00:00Z", "status": "warning", "brightness": 100.5,
              "fps_actual": 12.0, "frame_drops": 3}  # fmt: skip
    result = _accepted(_decode("vigil/cameras/cam-1/health", sample))
    rows = result.rows[HEALTH_METRICS.name]
    named = [dict(zip(HEALTH_METRICS.column_names, row, strict=True)) for row in rows]
    assert {(r["metric_type"], r["value"]) for r in named} == {
        ("brightness", 100.5), ("fps_actual", 12.0), ("frame_drops", 3.0)}  # fmt: skip
    assert {r["status"] for r in named} == {"warning"}
    (entry,) = result.entries
    assert entry.stream == HEALTH
    assert _envelope(entry.fields).unwrap(HealthMessage).sample.frame_drops == 3


def test_frame_row_and_entry() -> None:
    props = (("ts", "2024-05-01T12:00:00Z"), ("frame_number", "42"), ("other", "x"))
    result = _accepted(_decode("vigil/cameras/cam-1/frames", JPEG, user_properties=props))
    (row,) = result.rows[FRAME_METADATA.name]
    named = dict(zip(FRAME_METADATA.column_names, row, strict=True))
    assert (named["frame_number"], named["size_bytes"], named["format"]) == (42, len(JPEG), "jpeg")
    assert (named["width"], named["height"]) == (64, 48)  # read from the SOF segment
    assert len(named["frame_hash"]) == 32
    (entry,) = result.entries
    assert entry.stream == FRAMES
    envelope = _envelope(entry.fields)
    assert envelope.attachments["jpeg"] == JPEG
    assert envelope.unwrap(FrameMessage).header.frame_number == 42


@pytest.mark.parametrize(
    ("payload", "props", "reason"),
    [
        (JPEG, (("ts", "2024-05-01T12:00:00Z"),), RejectReason.MISSING_PROPERTY),
        (b"GIF89a", (("ts", "2024-05-01T12:00:00Z"), ("frame_number", "1")),
         RejectReason.VALIDATION_ERROR),
        (JPEG, (("ts", "2024-04-01T12:00:00Z"), ("frame_number", "1")),
         RejectReason.TIMESTAMP_TOO_OLD),
        (JPEG + b"\x00" * 2048, (("ts", "2024-05-01T12:00:00Z"), ("frame_number", "1")),
         RejectReason.PAYLOAD_TOO_LARGE),
    ],
)  # fmt: skip
def test_frame_rejects(
    payload: bytes, props: tuple[tuple[str, str], ...], reason: RejectReason
) -> None:
    limits = DecodeLimits(max_frame_bytes=1024)
    result = decode(Msg("vigil/cameras/cam-1/frames", payload, props), REGISTRY, NOW, limits)
    _rejected(result, reason)


def test_status_reports_go_to_liveness_not_to_live_state() -> None:
    result = _accepted(_decode("vigil/cameras/cam-1/status", b"offline"))
    assert result.status is CameraStatus.OFFLINE
    assert result.source_ts == NOW
    assert result.state == {}
    assert result.rows == {}
    assert result.entries[0].stream == HEALTH
    timed = _accepted(_decode("vigil/cameras/cam-1/status",
                              {"status": "online", "ts": "2024-05-01T11:00:00Z"}))  # fmt: skip
    assert (timed.status, timed.source_ts) == (CameraStatus.ONLINE, NOW - timedelta(hours=1))
    cleared = _accepted(_decode("vigil/cameras/cam-1/status", b""))
    assert cleared.status is None
    assert cleared.entries == ()


def test_reject_row_caps_the_payload() -> None:
    rejected = Rejected(RejectReason.INVALID_JSON, "bad", "cam-1")
    payload = b"x" * (INGEST_REJECT_PAYLOAD_MAX_BYTES + 10)
    row = reject_row("vigil/cameras/cam-1/events", payload, rejected, NOW)
    named = dict(zip(INGEST_REJECTS.column_names, row, strict=True))
    assert len(named["payload"]) == INGEST_REJECT_PAYLOAD_MAX_BYTES
    assert named["payload_size"] == len(payload)
    assert (named["reason"], named["source"], named["camera_id"]) == (
        "invalid_json",
        "ingest",
        "cam-1",
    )
