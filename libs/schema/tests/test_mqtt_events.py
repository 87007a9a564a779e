"""Camera event payloads: the model, ``parse_events_payload`` and its error reporting.

Decisions under test (see ``vigil_schema.mqtt``): unknown top-level fields are rejected
(producer data goes in ``extra``); NaN/infinity and naive or non-RFC 3339 timestamps are
rejected by the model; a far-future or very old but well-formed timestamp is accepted by the
model and left to the ingest's window check (``timestamp_window_violation``).
"""

from __future__ import annotations

import json
import math
import struct
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vigil_schema import mqtt
from vigil_schema.enums import EventType, RejectReason
from vigil_schema.mqtt import (
    MAX_EVENTS_PER_PAYLOAD,
    MAX_OBJECTS_PER_EVENT,
    CameraEvent,
    PayloadError,
    parse_events_payload,
)

CAMERA = "cam-1"

# --------------------------------------------------------------------------- strategies

unit = st.floats(0.0, 1.0)
coordinate = st.floats(0.0, 4096.0)
bbox = st.lists(coordinate, min_size=4, max_size=4)
safe_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))
short_text = safe_text.filter(lambda text: 1 <= len(text) <= 64)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
timestamps = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=offsets
)


def _rfc3339(ts: datetime) -> str:
    return ts.isoformat()


objects = st.fixed_dictionaries(
    {"class": short_text, "confidence": unit, "bbox": bbox},
    optional={"track_id": st.one_of(st.integers(0, 2**63 - 1), short_text)},
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    safe_text,
)
extra = st.dictionaries(short_text, json_leaf, max_size=5)

event_dicts = st.fixed_dictionaries(
    {
        "event_type": st.sampled_from([kind.value for kind in EventType]),
        "ts": timestamps.map(_rfc3339),
        "frame_number": st.integers(0, 2**63 - 1),
    },
    optional={
        "camera_id": st.just(CAMERA),
        "motion_score": unit,
        "motion_regions": st.lists(
            st.fixed_dictionaries({"bbox": bbox}, optional={"score": unit}), max_size=3
        ),
        "objects": st.lists(objects, max_size=4),
        "scene_hash": st.text("0123456789abcdef", min_size=1, max_size=64),
        "scene_change_score": unit,
        "fps_actual": st.floats(0.0, 1000.0),
        "image_quality_score": unit,
        "bandwidth_usage_bytes": st.integers(0, 2**63 - 1),
        "inference_ms": st.floats(0.0, 1e6),
        "processing_ms": st.floats(0.0, 1e6),
        "extra": extra,
    },
)

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_type": "object_detected",
        "ts": "2024-05-01T12:00:00.250+02:00",
        "frame_number": 42,
        "objects": [{"class": "car", "confidence": 0.91, "bbox": [10, 20, 30, 40], "track_id": 7}],
    }
    base.update(overrides)
    return base


def _parse_or_error(raw: bytes) -> list[CameraEvent] | PayloadError:
    try:
        return parse_events_payload(raw, CAMERA)
    except PayloadError as error:
        return error


def _reject(raw: bytes, camera_id: str = CAMERA) -> PayloadError:
    with pytest.raises(PayloadError) as info:
        parse_events_payload(raw, camera_id)
    return info.value


# --------------------------------------------------------------------------- valid input


def test_single_object_and_array_are_both_accepted() -> None:
    single = parse_events_payload(_dumps(_event()), CAMERA)
    batch = parse_events_payload(_dumps([_event(), _event(frame_number=43)]), CAMERA)
    assert len(single) == 1
    assert [event.frame_number for event in batch] == [42, 43]
    event = single[0]
    assert event.event_type is EventType.OBJECT_DETECTED
    assert event.ts == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert event.objects[0].class_name == "car"
    assert event.objects[0].bbox == (10.0, 20.0, 30.0, 40.0)
    assert event.object_count == 1
    assert event.max_confidence == pytest.approx(0.91)


def test_timestamps_are_normalised_to_utc() -> None:
    event = parse_events_payload(_dumps(_event(ts="2024-05-01T02:30:00-07:30")), CAMERA)[0]
    assert event.ts.utcoffset() == timedelta(0)
    assert event.ts == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert '"ts":"2024-05-01T10:00:00Z"' in event.model_dump_json()


def test_leading_whitespace_and_empty_array() -> None:
    assert len(parse_events_payload(b"\n  " + _dumps([_event()]), CAMERA)) == 1
    assert parse_events_payload(b"[]", CAMERA) == []


def test_serialises_class_by_alias() -> None:
    event = parse_events_payload(_dumps(_event()), CAMERA)[0]
    dumped = json.loads(event.model_dump_json(exclude_none=True))
    assert dumped["objects"][0]["class"] == "car"
    assert "class_name" not in dumped["objects"][0]


def test_matching_camera_id_is_accepted() -> None:
    assert parse_events_payload(_dumps(_event(camera_id=CAMERA)), CAMERA)[0].camera_id == CAMERA


def test_far_future_and_old_timestamps_are_left_to_the_window_check() -> None:
    far = parse_events_payload(_dumps(_event(ts="2999-01-01T00:00:00Z")), CAMERA)[0]
    now = datetime(2024, 1, 1, tzinfo=UTC)
    window = {"max_future": timedelta(minutes=5), "max_age": timedelta(days=7)}
    assert mqtt.timestamp_window_violation(far.ts, now, **window) is RejectReason.TIMESTAMP_FUTURE
    old = now - timedelta(days=8)
    assert mqtt.timestamp_window_violation(old, now, **window) is RejectReason.TIMESTAMP_TOO_OLD
    assert mqtt.timestamp_window_violation(now, now, **window) is None


@given(
    st.datetimes(timezones=offsets).filter(lambda ts: _utc_representable(ts)),
)
def test_window_check_never_raises(ts: datetime) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    result = mqtt.timestamp_window_violation(
        ts, now, max_future=timedelta(minutes=5), max_age=timedelta(days=30)
    )
    assert result in (None, RejectReason.TIMESTAMP_FUTURE, RejectReason.TIMESTAMP_TOO_OLD)


def _utc_representable(ts: datetime) -> bool:
    try:
        ts.astimezone(UTC)
    except OverflowError:
        return False
    return True


@given(st.lists(event_dicts, min_size=1, max_size=5))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_valid_events_round_trip(dicts: list[dict[str, Any]]) -> None:
    events = parse_events_payload(_dumps(dicts), CAMERA)
    assert len(events) == len(dicts)
    for source, event in zip(dicts, events, strict=True):
        assert event.frame_number == source["frame_number"]
        assert event.ts == datetime.fromisoformat(source["ts"])
        again = parse_events_payload(event.model_dump_json().encode(), CAMERA)
        assert again == [event]


# --------------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", RejectReason.INVALID_UTF8),
        (b'{"event_type": "motion\xc3"}', RejectReason.INVALID_UTF8),
        (b"", RejectReason.INVALID_JSON),
        (b"{", RejectReason.INVALID_JSON),
        (b"[{]", RejectReason.INVALID_JSON),
        (b"nope", RejectReason.INVALID_JSON),
        (b"42", RejectReason.VALIDATION_ERROR),
        (b'"motion"', RejectReason.VALIDATION_ERROR),
        (b"[1, 2]", RejectReason.VALIDATION_ERROR),
        (b"null", RejectReason.VALIDATION_ERROR),
        (b"{}", RejectReason.VALIDATION_ERROR),
    ],
)
def test_reason_codes(raw: bytes, reason: RejectReason) -> None:
    error = _reject(raw)
    assert error.reason is reason
    assert error.detail
    assert reason.value in str(error)


@pytest.mark.parametrize(
    ("overrides", "detail"),
    [
        ({"ts": "2024-05-01T12:00:00"}, "ts: must be an RFC 3339 date-time"),
        ({"ts": "2024-05-01"}, "ts: must be an RFC 3339 date-time"),
        ({"ts": 1714564800}, "ts: must be an RFC 3339 date-time"),
        ({"ts": "1714564800"}, "ts: must be an RFC 3339 date-time"),
        ({"ts": "2024-13-01T00:00:00Z"}, "ts: "),
        ({"ts": "0001-01-01T00:00:00+01:00"}, "ts: date-time is out of range once converted"),
        ({"ts": "9999-12-31T23:59:59-01:00"}, "ts: date-time is out of range once converted"),
        ({"frame_number": -1}, "frame_number: Input should be greater than or equal to 0"),
        ({"frame_number": 2**63}, "frame_number: Input should be less than or equal to"),
        ({"frame_number": "42"}, "frame_number: Input should be a valid integer"),
        ({"frame_number": 4.0}, "frame_number: Input should be a valid integer"),
        ({"frame_number": True}, "frame_number: Input should be a valid integer"),
        ({"event_type": "explosion"}, "event_type: Input should be 'motion'"),
        ({"motion_score": 1.5}, "motion_score: Input should be less than or equal to 1"),
        ({"fps_actual": 1e300}, "fps_actual: Input should be less than or equal to 1000"),
        ({"inference_ms": 1e300}, "inference_ms: Input should be less than or equal to"),
        ({"camera_id": "Bad Id"}, "camera_id: String should match pattern"),
        ({"motion_scroe": 0.5}, "motion_scroe: Extra inputs are not permitted"),
        (
            {"objects": [{"class": "car", "confidence": 1.2, "bbox": [0, 0, 1, 1]}]},
            "objects[0].confidence: Input should be less than or equal to 1",
        ),
        (
            {"objects": [{"class": "car", "confidence": 0.2, "bbox": [0, 0, -1, 1]}]},
            "objects[0].bbox[2]: Input should be greater than or equal to 0",
        ),
        (
            {"objects": [{"class": "car", "confidence": 0.2, "bbox": [0, 0, 1]}]},
            "objects[0].bbox[3]: Field required",
        ),
        (
            {"objects": [{"class": "c\x00r", "confidence": 0.2, "bbox": [0, 0, 1, 1]}]},
            "objects[0].class: String should match pattern",
        ),
        ({"extra": {"k": "a\x00b"}}, "extra: contains a U+0000 character"),
        ({"extra": {"k": {"deep": [float("inf")]}}}, "extra: contains a NaN or infinite number"),
        (
            {"objects": [{"confidence": 0.2, "bbox": [0, 0, 1, 1]}] * (MAX_OBJECTS_PER_EVENT + 1)},
            f"objects: List should have at most {MAX_OBJECTS_PER_EVENT} items",
        ),
    ],
)
def test_validation_details_name_the_field(overrides: dict[str, Any], detail: str) -> None:
    error = _reject(_dumps(_event(**overrides)))
    assert error.reason is RejectReason.VALIDATION_ERROR
    assert detail in error.detail


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers_are_rejected(literal: bytes) -> None:
    raw = _dumps(_event(motion_score=0.5)).replace(b"0.5", literal)
    error = _reject(raw)
    assert error.reason is RejectReason.VALIDATION_ERROR
    assert "motion_score: Input should be a finite number" in error.detail


def test_batch_errors_are_prefixed_with_the_index() -> None:
    error = _reject(_dumps([_event(), _event(frame_number=-5)]))
    assert error.detail.startswith("events[1].frame_number:")


def test_batch_is_capped() -> None:
    error = _reject(_dumps([_event()] * (MAX_EVENTS_PER_PAYLOAD + 1)))
    assert error.reason is RejectReason.VALIDATION_ERROR
    assert f"at most {MAX_EVENTS_PER_PAYLOAD} items" in error.detail


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError) as info:
        parse_events_payload(b"[" + b" " * 2048 + b"]", CAMERA, max_bytes=1024)
    error = info.value
    assert error.reason is RejectReason.PAYLOAD_TOO_LARGE
    assert "2050 bytes" in error.detail


def test_camera_mismatch() -> None:
    error = _reject(_dumps([_event(), _event(camera_id="cam-2")]))
    assert error.reason is RejectReason.CAMERA_MISMATCH
    assert "events[1].camera_id 'cam-2'" in error.detail
    assert "'cam-1'" in error.detail


def test_detail_is_bounded() -> None:
    bad = [_event(frame_number=-1, motion_score=2.0) for _ in range(50)]
    error = _reject(_dumps(bad))
    assert "more errors" in error.detail
    assert len(error.detail) <= mqtt.MAX_DETAIL_CHARS
    huge_key = {"x" * 10_000: 1}
    assert len(_reject(_dumps(_event(**huge_key))).detail) < 400


# --------------------------------------------------------------------------- properties


@given(st.binary(max_size=256))
def test_random_bytes_only_raise_payload_error(raw: bytes) -> None:
    outcome = _parse_or_error(raw)
    assert isinstance(outcome, list) or isinstance(outcome.reason, RejectReason)


@given(json_values)
def test_random_json_only_raises_payload_error(value: Any) -> None:
    outcome = _parse_or_error(json.dumps(value).encode())
    if value == []:
        assert outcome == []
    else:  # the strategy cannot produce a valid event (no RFC 3339 "ts")
        assert isinstance(outcome, PayloadError)
        assert outcome.reason is RejectReason.VALIDATION_ERROR


@given(
    event_dicts, st.sampled_from([*sorted(CameraEvent.model_fields), "class", "zzz"]), json_values
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_mutated_events_are_rejected_cleanly_or_storable(
    event: dict[str, Any], key: str, value: Any
) -> None:
    """Whatever is accepted can be stored: no NaN/inf, no U+0000, floats fit ``real``."""
    event = {**event, key: value}
    outcome = _parse_or_error(json.dumps(event).encode())
    if isinstance(outcome, PayloadError):
        assert outcome.reason in (RejectReason.VALIDATION_ERROR, RejectReason.CAMERA_MISMATCH)
    else:
        _assert_storable(outcome[0].model_dump(mode="python"))


def _assert_storable(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
        struct.pack("<d", value)
    elif isinstance(value, str):
        assert "\x00" not in value
    elif isinstance(value, dict):
        for key, item in value.items():
            _assert_storable(key)
            _assert_storable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _assert_storable(item)


def test_real_columns_stay_in_float32_range() -> None:
    event = parse_events_payload(_dumps(_event(inference_ms=86_400_000.0)), CAMERA)[0]
    assert event.inference_ms is not None
    struct.pack("<f", event.inference_ms)  # would raise OverflowError beyond float32


# --------------------------------------------------------------------------- no per-call setup


def test_parsers_do_not_build_adapters_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapters are built at import; parsing must not construct new ones."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("TypeAdapter built on the hot path")

    assert CameraEvent.__pydantic_complete__
    monkeypatch.setattr(pydantic.TypeAdapter, "__init__", forbidden)
    assert len(parse_events_payload(_dumps(_event()), CAMERA)) == 1
    assert len(parse_events_payload(_dumps([_event()] * 3), CAMERA)) == 3
    with pytest.raises(PayloadError):
        parse_events_payload(b"{", CAMERA)
    assert mqtt.parse_health_payload(b'{"ts": "2024-01-01T00:00:00Z"}', CAMERA) is not None
