"""Health samples, status payloads, frame headers and JPEG checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil_schema.enums import CameraStatus, HealthLevel, MetricType, RejectReason
from vigil_schema.mqtt import (
    FrameHeader,
    HealthSample,
    PayloadError,
    jpeg_dimensions,
    parse_health_payload,
    parse_status_payload,
    validate_jpeg,
)

CAMERA = "cam-1"
TS = "2024-05-01T12:00:00Z"


def _jpeg(width: int = 640, height: int = 480, body: bytes = b"\x00" * 32) -> bytes:
    """A minimal baseline JPEG byte layout: SOI, APP0, SOF0, SOS, data, EOI."""
    app0 = b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = (
        b"\xff\xc0\x00\x11\x08"
        + height.to_bytes(2, "big")
        + width.to_bytes(2, "big")
        + b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    )
    sos = b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof0 + sos + body + b"\xff\xd9"


# --------------------------------------------------------------------------- health


def test_health_metric_fields_match_metric_type() -> None:
    """Every MetricType is a HealthSample field and vice versa (keeps the two in step)."""
    non_metric = {"ts", "camera_id", "status", "message"}
    assert set(HealthSample.model_fields) - non_metric == {metric.value for metric in MetricType}


def test_health_sample_explodes_into_metric_rows() -> None:
    raw = json.dumps(
        {"ts": TS, "status": "warning", "fps_actual": 9.5, "cpu_percent": 40, "frame_drops": 3}
    ).encode()
    sample = parse_health_payload(raw, CAMERA)
    assert sample.status is HealthLevel.WARNING
    assert dict(sample.metrics()) == {
        MetricType.FPS_ACTUAL: 9.5,
        MetricType.CPU_PERCENT: 40.0,
        MetricType.FRAME_DROPS: 3.0,
    }


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"{", RejectReason.INVALID_JSON, "Invalid JSON"),
        (b"\xc3(", RejectReason.INVALID_UTF8, "UTF-8"),
        (b"[]", RejectReason.VALIDATION_ERROR, "Input should be an object"),
        (json.dumps({"ts": TS, "cpu_percent": 140}), RejectReason.VALIDATION_ERROR, "cpu_percent"),
        (json.dumps({"ts": TS, "status": "bad"}), RejectReason.VALIDATION_ERROR, "status"),
        (json.dumps({"fps_actual": 3}), RejectReason.VALIDATION_ERROR, "ts: Field required"),
        (json.dumps({"ts": TS, "camera_id": "cam-2"}), RejectReason.CAMERA_MISMATCH, "cam-2"),
        (json.dumps({"ts": TS, "x": 1}), RejectReason.VALIDATION_ERROR, "x: Extra inputs"),
        (
            b'{"ts": "2024-05-01T12:00:00Z", "latency_ms": NaN}',
            RejectReason.VALIDATION_ERROR,
            "finite",
        ),
    ],
)
def test_health_rejections(payload: bytes | str, reason: RejectReason, detail: str) -> None:
    raw = payload.encode() if isinstance(payload, str) else payload
    with pytest.raises(PayloadError) as info:
        parse_health_payload(raw, CAMERA)
    assert info.value.reason is reason
    assert detail in info.value.detail


def test_health_size_limit() -> None:
    with pytest.raises(PayloadError) as info:
        parse_health_payload(b" " * 100, CAMERA, max_bytes=10)
    assert info.value.reason is RejectReason.PAYLOAD_TOO_LARGE


@given(st.binary(max_size=128))
def test_health_random_bytes_only_raise_payload_error(raw: bytes) -> None:
    try:
        sample = parse_health_payload(raw, CAMERA)
    except PayloadError as error:
        assert isinstance(error.reason, RejectReason)  # noqa: PT017
    else:
        assert sample.ts.tzinfo is not None


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"online", CameraStatus.ONLINE),
        (b"offline", CameraStatus.OFFLINE),
        (b" Online\n", CameraStatus.ONLINE),
        (b'{"status": "offline"}', CameraStatus.OFFLINE),
    ],
)
def test_status_payloads(raw: bytes, status: CameraStatus) -> None:
    parsed = parse_status_payload(raw)
    assert parsed is not None
    assert parsed.status is status


def test_status_json_with_time() -> None:
    parsed = parse_status_payload(b'{"status": "online", "ts": "2024-05-01T12:00:00+00:00"}')
    assert parsed is not None
    assert parsed.ts == datetime(2024, 5, 1, 12, tzinfo=UTC)


def test_empty_status_clears_retained_message() -> None:
    assert parse_status_payload(b"") is None
    assert parse_status_payload(b"  \n") is None


@pytest.mark.parametrize(
    "raw", [b"up", b"unknown", b'{"status": "unknown"}', b'{"status": "online", "x": 1}', b"{"]
)
def test_status_rejections(raw: bytes) -> None:
    with pytest.raises(PayloadError) as info:
        parse_status_payload(raw)
    assert info.value.reason in (RejectReason.VALIDATION_ERROR, RejectReason.INVALID_JSON)


# --------------------------------------------------------------------------- frames


def test_frame_header_from_user_properties() -> None:
    props = [
        ("ts", "2024-05-01T12:00:00+02:00"),
        ("frame_number", "17"),
        ("width", "640"),
        ("vendor", "x"),
    ]
    header = FrameHeader.from_user_properties(CAMERA, props, 1234)
    assert header.camera_id == CAMERA
    assert header.ts == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert header.frame_number == 17
    assert (header.width, header.height, header.size_bytes) == (640, None, 1234)


@pytest.mark.parametrize(
    ("props", "reason", "detail"),
    [
        ([("frame_number", "1")], RejectReason.MISSING_PROPERTY, "property ts"),
        ([], RejectReason.MISSING_PROPERTY, "properties ts, frame_number"),
        ([("ts", TS), ("frame_number", "-1")], RejectReason.VALIDATION_ERROR, "frame_number"),
        ([("ts", TS), ("frame_number", "1.5")], RejectReason.VALIDATION_ERROR, "frame_number"),
        (
            [("ts", "2024-05-01T12:00:00"), ("frame_number", "1")],
            RejectReason.VALIDATION_ERROR,
            "ts",
        ),
        ([("ts", "1714564800"), ("frame_number", "1")], RejectReason.VALIDATION_ERROR, "ts"),
        (
            [("ts", TS), ("frame_number", "1"), ("height", "0")],
            RejectReason.VALIDATION_ERROR,
            "height",
        ),
    ],
)
def test_frame_header_rejections(
    props: list[tuple[str, str]], reason: RejectReason, detail: str
) -> None:
    with pytest.raises(PayloadError) as info:
        FrameHeader.from_user_properties(CAMERA, props, 10)
    assert info.value.reason is reason
    assert detail in info.value.detail


def test_frame_header_needs_a_valid_camera() -> None:
    with pytest.raises(PayloadError, match="camera_id"):
        FrameHeader.from_user_properties("Bad", [("ts", TS), ("frame_number", "1")], 10)


def test_jpeg_checks() -> None:
    image = _jpeg(1920, 1080)
    validate_jpeg(image)
    validate_jpeg(image + b"\x00\x00")  # zero padding after EOI
    assert jpeg_dimensions(image) == (1920, 1080)
    cases: list[tuple[bytes, dict[str, Any], RejectReason, str]] = [
        (b"GIF89a", {}, RejectReason.VALIDATION_ERROR, "SOI"),
        (image[:-2], {}, RejectReason.VALIDATION_ERROR, "EOI"),
        (b"", {}, RejectReason.VALIDATION_ERROR, "SOI"),
        (image, {"max_bytes": 10}, RejectReason.PAYLOAD_TOO_LARGE, "limit is 10"),
    ]
    for data, kwargs, reason, detail in cases:
        with pytest.raises(PayloadError) as info:
            validate_jpeg(data, **kwargs)
        assert info.value.reason is reason
        assert detail in info.value.detail


def test_jpeg_dimensions_of_non_jpegs() -> None:
    assert jpeg_dimensions(b"\xff\xd8\xff\xda\x00\x02") is None  # scan before any SOF
    assert jpeg_dimensions(b"\xff\xd8") is None
    assert jpeg_dimensions(b"\xff\xd8\x00\x00\x00\x00") is None


@given(st.binary(max_size=64))
def test_jpeg_helpers_never_crash(tail: bytes) -> None:
    data = b"\xff\xd8" + tail
    dims = jpeg_dimensions(data)
    assert dims is None or (dims[0] > 0 and dims[1] > 0)
    try:
        validate_jpeg(data)
    except PayloadError as error:
        assert error.reason is RejectReason.VALIDATION_ERROR  # noqa: PT017
