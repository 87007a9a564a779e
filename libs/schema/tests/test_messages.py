"""Stream message models: alert fingerprints, dead letters, detections, requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import (
    AlertCandidate,
    DeadLetter,
    Detection,
    DetectionMessage,
    OptimizerAction,
    OptimizerRequest,
    label_fingerprint,
)

TS = datetime(2024, 5, 1, 12, tzinfo=UTC)


def _alert(**overrides: object) -> AlertCandidate:
    fields: dict[str, object] = {
        "source": "analyzer",
        "alertname": "PersonInZone",
        "severity": "warning",
        "camera_id": "cam-1",
        "labels": {"zone": "lot-a"},
        "starts_at": TS,
    }
    fields.update(overrides)
    return AlertCandidate.model_validate(fields)


def test_fingerprint_matches_prometheus_reference_values() -> None:
    # prometheus/common model/signature_test.go: labelSetToFingerprint / LabelsToSignature.
    assert int(label_fingerprint({}), 16) == 14695981039346656037
    labels = {"name": "garland, briggs", "fear": "love is not enough"}
    assert int(label_fingerprint(labels), 16) == 5799056148416392346
    assert len(label_fingerprint(labels)) == 16


def test_alert_fingerprint_covers_name_camera_and_labels() -> None:
    alert = _alert()
    assert alert.all_labels() == {
        "zone": "lot-a",
        "alertname": "PersonInZone",
        "camera_id": "cam-1",
    }
    assert alert.fingerprint() == label_fingerprint(alert.all_labels())
    assert (
        alert.fingerprint()
        == _alert(annotations={"summary": "x"}, severity="critical").fingerprint()
    )
    assert alert.fingerprint() != _alert(camera_id="cam-2").fingerprint()
    assert alert.fingerprint() != _alert(labels={"zone": "lot-b"}).fingerprint()
    assert alert.fingerprint() != _alert(alertname="Other").fingerprint()


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), st.text(max_size=8)))
def test_fingerprint_ignores_label_order(labels: dict[str, str]) -> None:
    reordered = dict(reversed(list(labels.items())))
    assert label_fingerprint(labels) == label_fingerprint(reordered)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"status": "acknowledged"}, "'firing' or 'resolved'"),
        ({"labels": {"alertname": "x"}}, "set from the fields"),
        ({"labels": {"bad-name": "x"}}, "String should match pattern"),
        ({"labels": {"zone": "a\x00"}}, "String should match pattern"),
        ({"ends_at": TS - timedelta(seconds=1)}, "ends_at is before starts_at"),
        ({"starts_at": "2024-05-01T12:00:00"}, "RFC 3339"),
        ({"severity": "fatal"}, "severity"),
        ({"camera_id": "Cam 1"}, "invalid camera id"),
    ],
)
def test_alert_validation(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _alert(**overrides)


def test_alert_defaults() -> None:
    alert = AlertCandidate(
        source="ingest", alertname="CameraOffline", severity=AlertSeverity.CRITICAL
    )
    assert alert.status is CandidateStatus.FIRING
    assert alert.starts_at.tzinfo is not None
    assert _alert(status="resolved", ends_at=TS).status is CandidateStatus.RESOLVED


def test_dead_letter_keeps_text_and_binary_fields() -> None:
    fields = {
        b"v": b"1",
        b"type": b"frame",
        b"data": b"{}",
        b"jpeg": b"\xff\xd8\xff\xd9",
        b"t": b"a\x00",
    }
    letter = DeadLetter.from_entry(
        stream="vigil:frames",
        group="analyzer",
        entry_id=b"1714564800000-3",
        fields=fields,
        deliveries=6,
        error="boom\x00",
        consumer="analyzer-1",
    )
    assert letter.fields["type"] == "frame"
    assert sorted(letter.binary_fields) == ["jpeg", "t"]
    assert "\x00" not in letter.error
    assert letter.original_fields() == fields
    again = DeadLetter.model_validate_json(letter.model_dump_json())
    assert again.original_fields() == fields


def test_dead_letter_rejects_bad_ids_and_base64() -> None:
    with pytest.raises(ValidationError, match="entry_id"):
        DeadLetter(stream="s", group="g", entry_id="nope", deliveries=1, error="e")
    letter = DeadLetter(
        stream="s",
        group="g",
        entry_id="1-1",
        deliveries=1,
        error="e",
        fields={"x": "!!"},
        binary_fields=["x"],
    )
    with pytest.raises(ValueError, match="not valid base64"):
        letter.original_fields()


def test_detection_message() -> None:
    detection = {"class": "car", "confidence": 0.7, "bbox": [1, 2, 3, 4], "zone_ids": ["lot-a"]}
    payload = {"camera_id": "cam-1", "ts": "2024-05-01T12:00:00Z", "frame_number": 3}
    payload |= {"model": "yolov8n", "detections": [detection]}
    message = DetectionMessage.model_validate_json(json.dumps(payload))
    assert message.detections == [
        Detection(class_name="car", confidence=0.7, bbox=(1, 2, 3, 4), zone_ids=["lot-a"])
    ]
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Detection(class_name="car", confidence=1.7, bbox=(1, 2, 3, 4))


def test_optimizer_request_defaults() -> None:
    first = OptimizerRequest(
        camera_id="cam-1", action=OptimizerAction.APPLY, requested_by="ops", optimization_id=4
    )
    second = OptimizerRequest(camera_id="cam-1", action=OptimizerAction.APPLY, requested_by="ops")
    assert first.request_id != second.request_id
    assert first.requested_at.tzinfo is not None
    with pytest.raises(ValidationError, match="action"):
        OptimizerRequest.model_validate(
            {"camera_id": "cam-1", "action": "reboot", "requested_by": "ops"}
        )


def test_event_batch_message_round_trips_through_the_envelope() -> None:
    from vigil_schema.messages import EventBatchMessage
    from vigil_schema.mqtt import CameraEvent
    from vigil_schema.streams import EVENTS, Envelope

    events = [
        CameraEvent.model_validate(
            {"event_type": "motion", "ts": "2024-05-01T12:00:00Z", "frame_number": n}
        )
        for n in range(3)
    ]
    message = EventBatchMessage(camera_id="cam-1", events=events, received_at=TS)
    envelope = Envelope.wrap(message)
    assert (envelope.type, envelope.stream) == ("events", EVENTS)
    decoded = Envelope.from_fields(envelope.to_fields()).unwrap(EventBatchMessage)  # type: ignore[arg-type]
    assert [event.frame_number for event in decoded.events] == [0, 1, 2]
    assert decoded.source == "camera"
    with pytest.raises(ValidationError):
        EventBatchMessage(camera_id="cam-1", events=events * 400)
