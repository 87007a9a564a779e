"""Idempotency keys (from the stored rows' dedup keys) and stream policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from vigil_schema.entry_keys import KEY_LENGTH, entry_key, events_key, rows_key
from vigil_schema.messages import (
    DeadLetter,
    EventBatchMessage,
    FrameMessage,
    HealthMessage,
    OptimizerAction,
    OptimizerRequest,
)
from vigil_schema.mqtt import CameraEvent, FrameHeader, HealthSample
from vigil_schema.streams import (
    ALL_RETAINED,
    ALL_STREAMS,
    DLQ,
    FRAMES,
    LIVE,
    STREAM_POLICIES,
    Envelope,
    stream_policy,
)
from vigil_schema.tables import CAMERA_EVENTS

TS = datetime(2024, 5, 1, 12, tzinfo=UTC)


def event(frame: int, ts: datetime = TS, kind: str = "motion", **extra: object) -> CameraEvent:
    return CameraEvent.model_validate(
        {"event_type": kind, "ts": ts, "frame_number": frame, **extra}
    )


def test_the_events_key_is_the_rows_dedup_keys_not_the_payload() -> None:
    """Same rows, other spelling (offset, optional fields): same key; another dedup-key
    value: another key."""
    base = events_key("cam-1", [event(1), event(2)])
    plus_two = TS.astimezone(timezone(timedelta(hours=2)))
    assert events_key("cam-1", [event(1, plus_two), event(2, motion_score=0.5)]) == base
    assert len(base) == KEY_LENGTH
    assert events_key("cam-2", [event(1), event(2)]) != base
    assert events_key("cam-1", [event(1), event(3)]) != base
    assert events_key("cam-1", [event(1), event(2, kind="scene_change")]) != base
    assert events_key("cam-1", [event(1), event(2, TS + timedelta(microseconds=1))]) != base
    assert events_key("cam-1", [event(1)]) != base


def test_rows_key_checks_the_dedup_key_width() -> None:
    with pytest.raises(ValueError, match="4 values"):
        rows_key(CAMERA_EVENTS.name, [("cam-1", "motion", 1)], CAMERA_EVENTS.dedup_key)


def test_an_envelope_carries_its_messages_key_and_reads_it_back() -> None:
    batch = EventBatchMessage(camera_id="cam-1", events=[event(1)], received_at=TS)
    later = batch.model_copy(update={"received_at": TS + timedelta(seconds=5)})
    envelope = Envelope.wrap(batch)
    assert envelope.key == events_key("cam-1", [event(1)]) == Envelope.wrap(later).key
    fields = envelope.to_fields()
    assert fields["key"] == envelope.key
    assert Envelope.from_fields({name: str(value) for name, value in fields.items()}) == envelope
    legacy = {"v": "1", "type": "events", "data": batch.model_dump_json()}
    assert Envelope.from_fields(legacy).key is None


def test_frame_and_health_keys_follow_their_tables() -> None:
    header = FrameHeader(camera_id="cam-1", ts=TS, frame_number=9, size_bytes=10)
    frame = entry_key(FrameMessage(header=header, received_at=TS))
    assert frame == entry_key(FrameMessage(header=header, received_at=TS + timedelta(1)))
    assert frame != entry_key(FrameMessage(header=header.model_copy(update={"frame_number": 10})))
    sample = HealthSample(ts=TS, cpu_percent=5.0)
    health = entry_key(HealthMessage(camera_id="cam-1", sample=sample))
    assert health == entry_key(HealthMessage(camera_id="cam-1", sample=sample, received_at=TS))
    other = HealthSample(ts=TS, cpu_percent=5.0, brightness=1.0)
    assert health != entry_key(HealthMessage(camera_id="cam-1", sample=other))


def test_a_request_is_identified_by_its_id() -> None:
    request = OptimizerRequest(camera_id="cam-1", action=OptimizerAction.INSPECT, requested_by="x")
    assert entry_key(request) == entry_key(request.model_copy())
    assert entry_key(request) != entry_key(request.model_copy(update={"request_id": "other"}))


def test_dead_letters_of_different_entries_have_different_keys() -> None:
    """A producer's dead letter names no real entry id (``0-0``): its entry's fields tell two
    apart, so the DLQ's consumer group does not skip the second as a duplicate."""

    def letter(entry_id: str, fields: dict[bytes, bytes], error: str = "e") -> DeadLetter:
        return DeadLetter.from_entry(stream="vigil:events", group="vigil-ingest-fanout",
                                     entry_id=entry_id, fields=fields, deliveries=3,
                                     error=error)  # fmt: skip

    first = letter("0-0", {b"key": b"a" * 32, b"data": b"{}"})
    assert entry_key(first) == entry_key(letter("0-0", {b"data": b"{}", b"key": b"a" * 32}, "x"))
    assert entry_key(first) != entry_key(letter("0-0", {b"key": b"b" * 32, b"data": b"{}"}))
    assert entry_key(first) != entry_key(letter("1-0", {b"key": b"a" * 32, b"data": b"{}"}))


def test_every_stream_has_a_bounded_policy() -> None:
    assert set(STREAM_POLICIES) == set(ALL_STREAMS)
    for policy in STREAM_POLICIES.values():
        assert policy.maxlen > 0, policy.stream
        assert policy.reason
    assert STREAM_POLICIES[DLQ].max_age is None  # until handled, capped by length only
    with pytest.raises(KeyError, match="vigil:nope"):
        stream_policy("vigil:nope")


def test_start_positions() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    millis = int(now.timestamp() * 1000)
    frames = STREAM_POLICIES[FRAMES]
    assert frames.start == LIVE
    assert frames.start_id(now) == "$"
    replay = frames.__class__(FRAMES, 10, None, timedelta(hours=1), timedelta(1), "t")
    assert replay.start_id(now) == f"{millis - 3_600_001}-{2**64 - 1}"
    assert STREAM_POLICIES[DLQ].start == ALL_RETAINED


def test_the_events_fast_path_is_the_generic_rows_key() -> None:
    events = [event(1), event(2, TS.astimezone(timezone(timedelta(hours=-5))), "scene_change")]
    rows = [("cam-1", e.event_type.value, e.frame_number, e.ts) for e in events]
    assert events_key("cam-1", events) == rows_key(
        CAMERA_EVENTS.name, rows, CAMERA_EVENTS.dedup_key
    )
