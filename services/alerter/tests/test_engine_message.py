"""Alertmanager's v4 webhook body for a group."""

from __future__ import annotations

from datetime import UTC, datetime

from vigil_alerter.notify.message import NotifiedAlert, go_time, webhook_body
from vigil_schema.enums import NotificationKind

T0 = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)


def notified(alert_id: int, instance: str, *, firing: bool = True) -> NotifiedAlert:
    return NotifiedAlert(
        alert_id=alert_id, fingerprint=f"{alert_id:016x}", firing=firing,
        labels={"alertname": "Down", "instance": instance, "job": "node"},
        annotations={"summary": "down", "runbook": instance},
        starts_at=T0, ends_at=None if firing else T0, generator_url=None, status="new",
    )  # fmt: skip


def test_the_body_is_alertmanagers_version_4() -> None:
    body = webhook_body(
        receiver="hook", group_key='{}:{alertname="Down"}', group_labels={"alertname": "Down"},
        alerts=[notified(2, "b", firing=False), notified(1, "a")],
        external_url="http://vigil:9104/",
    )  # fmt: skip

    assert body["version"] == "4"
    assert body["status"] == "firing"
    assert body["truncatedAlerts"] == 0
    assert body["externalURL"] == "http://vigil:9104"
    assert body["commonLabels"] == {"alertname": "Down", "job": "node"}
    assert body["commonAnnotations"] == {"summary": "down"}
    assert [a["labels"]["instance"] for a in body["alerts"]] == ["a", "b"]
    first, second = body["alerts"]
    assert first["status"] == "firing"
    assert first["endsAt"] == "0001-01-01T00:00:00Z"
    assert first["startsAt"] == "2026-01-06T12:00:00Z"
    assert first["generatorURL"] == ""
    assert first["vigil"]["historyURL"] == "http://vigil:9104/api/vigil/v1/alerts/1/history"
    assert second["status"] == "resolved"
    assert second["endsAt"] == go_time(T0)
    assert body["vigil"] == {"alertIds": [1, 2], "kind": "firing"}


def test_a_body_without_firing_alerts_is_resolved() -> None:
    body = webhook_body(
        receiver="hook", group_key="k", group_labels={},
        alerts=[notified(1, "a", firing=False)], external_url="http://x",
    )  # fmt: skip

    assert body["status"] == "resolved"
    assert body["vigil"]["kind"] == "resolved"


def test_an_escalation_says_so() -> None:
    body = webhook_body(
        receiver="boss", group_key="k", group_labels={}, alerts=[notified(1, "a")],
        external_url="http://x", kind=NotificationKind.ESCALATION,
    )  # fmt: skip

    assert body["vigil"]["kind"] == "escalation"
    assert body["status"] == "firing"
