"""Stream names, Redis keys and the ``{v, type, data}`` envelope."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil_schema import streams
from vigil_schema.enums import AlertSeverity, CameraStatus, EventType
from vigil_schema.messages import (
    JPEG_FIELD,
    AlertCandidate,
    CameraStatusMessage,
    DeadLetter,
    DetectionMessage,
    EventBatchMessage,
    EventMessage,
    FrameMessage,
    HealthMessage,
    OptimizerAction,
    OptimizerRequest,
    StreamMessage,
)
from vigil_schema.mqtt import CameraEvent, FrameHeader, HealthSample
from vigil_schema.streams import (
    MESSAGE_TYPES,
    SCHEMA_VERSION,
    STREAM_OF_TYPE,
    Envelope,
    EnvelopeError,
)

TS = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _event_message() -> EventMessage:
    event = CameraEvent.model_validate(
        {
            "event_type": "object_detected",
            "ts": TS,
            "frame_number": 9,
            "objects": [{"class": "person", "confidence": 0.8, "bbox": [1, 2, 3, 4]}],
        }
    )
    return EventMessage(camera_id="cam-1", event=event, received_at=TS)


def _examples() -> list[StreamMessage]:
    header = FrameHeader(camera_id="cam-1", ts=TS, frame_number=9, size_bytes=10)
    return [
        _event_message(),
        EventBatchMessage(camera_id="cam-1", events=[_event_message().event]),
        HealthMessage(camera_id="cam-1", sample=HealthSample(ts=TS, cpu_percent=5.0)),
        CameraStatusMessage(camera_id="cam-1", status=CameraStatus.OFFLINE, ts=TS),
        FrameMessage(header=header),
        DetectionMessage(camera_id="cam-1", ts=TS, frame_number=9, model="yolov8n"),
        AlertCandidate(source="analyzer", alertname="PersonInZone", severity=AlertSeverity.INFO),
        OptimizerRequest(camera_id="cam-1", action=OptimizerAction.INSPECT, requested_by="cli"),
        DeadLetter(stream="vigil:events", group="alerter", entry_id="1-0", deliveries=5, error="x"),
    ]


def _as_redis(fields: dict[str, bytes | str]) -> dict[bytes, bytes]:
    """What redis-py (bytes responses) returns for an entry written with these fields."""
    return {
        name.encode(): value if isinstance(value, bytes) else value.encode()
        for name, value in fields.items()
    }


def test_names_follow_the_contract() -> None:
    assert streams.EVENTS == "vigil:events"
    assert streams.OPTIMIZER_REQUESTS == "vigil:optimizer:requests"
    assert streams.DLQ == "vigil:dlq"
    assert len(set(streams.ALL_STREAMS)) == 7
    assert streams.camera_state_key("cam-1") == "vigil:camera:cam-1:state"
    assert streams.camera_scene_key("cam-1") == "vigil:camera:cam-1:scene"
    assert streams.ACTIVE_CAMERAS_KEY == "vigil:cameras:active"
    assert streams.ratelimit_key("claude", "tokens") == "vigil:ratelimit:claude:tokens"
    with pytest.raises(ValueError, match="invalid camera id"):
        streams.camera_state_key("a:b")
    with pytest.raises(ValueError, match="rate-limit"):
        streams.ratelimit_key("a:b")


def test_registry_covers_every_message_model_and_stream() -> None:
    assert set(MESSAGE_TYPES) == set(STREAM_OF_TYPE)
    assert set(STREAM_OF_TYPE.values()) <= set(streams.ALL_STREAMS)
    assert {type(message) for message in _examples()} == set(MESSAGE_TYPES.values())


@pytest.mark.parametrize("message", _examples(), ids=lambda message: message.MESSAGE_TYPE)
def test_every_message_round_trips_through_redis_fields(message: StreamMessage) -> None:
    envelope = Envelope.wrap(message)
    fields = envelope.to_fields()
    assert fields["v"] == str(SCHEMA_VERSION)
    assert fields["type"] == message.MESSAGE_TYPE
    read = Envelope.from_fields(_as_redis(fields))
    assert read == envelope
    assert read.decode() == message
    assert read.unwrap(type(message)) == message
    assert envelope.stream == STREAM_OF_TYPE[message.MESSAGE_TYPE]


def test_frame_jpeg_travels_as_binary_attachment() -> None:
    header = FrameHeader(camera_id="cam-1", ts=TS, frame_number=1, size_bytes=4)
    jpeg = b"\xff\xd8\xff\xd9"
    envelope = Envelope.wrap(FrameMessage(header=header), attachments={JPEG_FIELD: jpeg})
    fields = envelope.to_fields()
    assert fields[JPEG_FIELD] == jpeg
    read = Envelope.from_fields(_as_redis(fields))
    assert read.attachments == {JPEG_FIELD: jpeg}
    assert read.unwrap(FrameMessage).camera_id == "cam-1"


def test_str_fields_are_accepted_too() -> None:
    envelope = Envelope.wrap(_event_message())
    text_fields = {name: str(value) for name, value in envelope.to_fields().items()}
    assert Envelope.from_fields(text_fields) == envelope


def test_event_data_keeps_the_class_alias() -> None:
    data = Envelope.wrap(_event_message()).data
    assert '"class":"person"' in data
    assert (
        Envelope.wrap(_event_message()).unwrap(EventMessage).event.event_type
        is EventType.OBJECT_DETECTED
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({b"type": b"event", b"data": b"{}"}, "lacks field"),
        ({b"v": b"1", b"data": b"{}"}, "lacks field"),
        ({b"v": b"one", b"type": b"event", b"data": b"{}"}, "not an integer"),
        ({b"v": b"-1", b"type": b"event", b"data": b"{}"}, "not an integer"),
        ({b"v": b"2", b"type": b"event", b"data": b"{}"}, "unsupported schema version 2"),
        ({b"v": b"0", b"type": b"event", b"data": b"{}"}, "unsupported schema version 0"),
        ({b"v": b"1", b"type": b"event", b"data": b"\xff"}, "'data' is not valid UTF-8"),
        ({b"v": b"1", b"type": b"", b"data": b"{}"}, "type"),
    ],
)
def test_from_fields_errors(fields: dict[bytes, bytes], message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        Envelope.from_fields(fields)


def test_unwrap_errors() -> None:
    envelope = Envelope.wrap(_event_message())
    with pytest.raises(EnvelopeError, match="expected 'health'"):
        envelope.unwrap(HealthMessage)
    bad = Envelope(type="event", data='{"camera_id": "cam-1"}')
    with pytest.raises(EnvelopeError, match="invalid 'event' data: event: Field required"):
        bad.decode()
    with pytest.raises(EnvelopeError, match="unknown message type 'mystery'"):
        Envelope(type="mystery", data="{}").decode()
    with pytest.raises(EnvelopeError, match="reserved"):
        Envelope.wrap(_event_message(), attachments={"data": b"x"})


def test_stream_messages_ignore_unknown_fields() -> None:
    """A newer producer's extra field must not send entries to the dead-letter stream."""
    data = Envelope.wrap(_event_message()).data.replace("{", '{"added_later": 1, ', 1)
    assert Envelope(type="event", data=data).unwrap(EventMessage) == _event_message()


def _decode_or_error(fields: dict[bytes, bytes]) -> StreamMessage | EnvelopeError:
    try:
        return Envelope.from_fields(fields).decode()
    except EnvelopeError as error:
        return error


@given(st.dictionaries(st.binary(max_size=8), st.binary(max_size=16), max_size=5))
def test_from_fields_only_raises_envelope_error(fields: dict[bytes, bytes]) -> None:
    outcome = _decode_or_error(fields)
    assert isinstance(outcome, EnvelopeError)  # random bytes never make a valid message
    assert str(outcome)


@given(st.sampled_from(_examples()), st.sampled_from([b"v", b"type", b"data"]), st.binary())
def test_corrupted_entries_only_raise_envelope_error(
    message: StreamMessage, field: bytes, value: bytes
) -> None:
    fields = _as_redis(Envelope.wrap(message).to_fields())
    fields[field] = value
    outcome = _decode_or_error(fields)
    assert isinstance(outcome, StreamMessage | EnvelopeError)
