"""IncomingAlert from stream candidates and from Alertmanager's postable alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil_alerter.engine.incoming import IncomingAlert
from vigil_schema.enums import AlertSeverity, CandidateStatus
from vigil_schema.messages import AlertCandidate, label_fingerprint

NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def test_a_candidate_keeps_its_fingerprint_and_gains_a_severity_label() -> None:
    candidate = AlertCandidate(
        source="ingest", alertname="camera_offline", severity=AlertSeverity.CRITICAL,
        camera_id="cam-1", labels={"site": "hq"}, starts_at=NOW,
        annotations={"summary": "Camera down", "description": "no heartbeat for 5m"},
    )  # fmt: skip

    alert = IncomingAlert.from_candidate(candidate)

    assert alert.labels == {
        "alertname": "camera_offline", "camera_id": "cam-1", "site": "hq",
        "severity": "critical",
    }  # fmt: skip
    assert alert.fingerprint == candidate.fingerprint()
    assert alert.fingerprint != label_fingerprint(alert.labels)
    assert (alert.title, alert.description) == ("Camera down", "no heartbeat for 5m")
    assert alert.camera_id == "cam-1"
    assert not alert.is_resolved(NOW)


def test_a_candidate_without_summary_is_titled_by_its_alertname() -> None:
    candidate = AlertCandidate(
        source="analyzer", alertname="intrusion", severity=AlertSeverity.WARNING,
        status=CandidateStatus.RESOLVED,
    )  # fmt: skip

    alert = IncomingAlert.from_candidate(candidate)

    assert alert.title == "intrusion"
    assert alert.description == ""
    assert alert.is_resolved(NOW)


def test_a_postable_alert_without_times_fires_until_the_resolve_timeout() -> None:
    alert = IncomingAlert.from_postable(
        {"labels": {"alertname": "HighLoad", "instance": "db1", "empty": ""}},
        NOW,
        timedelta(minutes=5),
    )

    assert alert.labels == {"alertname": "HighLoad", "instance": "db1"}
    assert alert.fingerprint == label_fingerprint({"alertname": "HighLoad", "instance": "db1"})
    assert alert.starts_at == NOW
    assert alert.ends_at == NOW + timedelta(minutes=5)
    assert alert.source == "api"
    assert alert.severity is AlertSeverity.WARNING
    assert not alert.is_resolved(NOW)
    assert alert.is_resolved(NOW + timedelta(minutes=5))


def test_a_postable_alert_reads_rfc3339_with_nanoseconds() -> None:
    alert = IncomingAlert.from_postable(
        {
            "labels": {"alertname": "X", "severity": "critical", "camera_id": "lot-1"},
            "annotations": {"summary": "s"},
            "startsAt": "2026-01-06T11:00:00.123456789Z",
            "endsAt": "2026-01-06T11:30:00Z",
            "generatorURL": "http://prometheus/graph",
        },
        NOW,
        timedelta(minutes=5),
    )

    assert alert.starts_at == datetime(2026, 1, 6, 11, 0, 0, 123456, tzinfo=UTC)
    assert alert.is_resolved(NOW)
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.camera_id == "lot-1"
    assert alert.generator_url == "http://prometheus/graph"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"labels": {}},
        {"labels": {"alertname": 1}},
        {"labels": {"bad-name": "x"}},
        {"labels": {"a": "b"}, "startsAt": "yesterday"},
        {"labels": {"a": "b"}, "startsAt": "2026-01-06T12:00:00Z", "endsAt": "2026-01-06T11:00Z"},
    ],
)
def test_an_invalid_postable_alert_is_refused(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        IncomingAlert.from_postable(body, NOW, timedelta(minutes=5))
