"""The log integration and ``build_integrations``' channel keys."""

from __future__ import annotations

import json

import pytest

from vigil_alerter.config.models import Receiver
from vigil_alerter.receivers import build_integrations
from vigil_alerter.receivers.apprise_sender import AppriseIntegration
from vigil_alerter.receivers.base import SendOutcome
from vigil_alerter.receivers.log import LogIntegration
from vigil_alerter.receivers.webhook import WebhookIntegration

from .delivery_helpers import v4_payload


def test_integrations_are_keyed_by_kind_and_index() -> None:
    receiver = Receiver.model_validate({
        "name": "ops",
        "webhook_configs": [{"url": "http://a.test/1"}, {"url": "http://a.test/2"}],
        "apprise_configs": [{"urls": ["json://a.test/x"]}],
        "log_configs": [{}],
    })  # fmt: skip

    integrations = build_integrations(receiver)

    assert sorted(integrations) == ["apprise:0", "log:0", "webhook:0", "webhook:1"]
    assert isinstance(integrations["webhook:1"], WebhookIntegration)
    assert isinstance(integrations["apprise:0"], AppriseIntegration)
    assert isinstance(integrations["log:0"], LogIntegration)
    assert build_integrations(Receiver(name="blackhole")) == {}


async def test_the_log_integration_logs_one_line_per_notification(
    service_logs: pytest.CaptureFixture[str],
) -> None:
    log = build_integrations(Receiver.model_validate({"name": "l", "log_configs": [{}]}))["log:0"]

    outcome = await log.send(v4_payload("l", firing=1, resolved=1), "key-1")

    assert outcome is SendOutcome.SENT
    logs = [json.loads(text) for text in service_logs.readouterr().err.splitlines() if text]
    [line] = [entry for entry in logs if entry["event"] == "alert_notification"]
    assert (line["receiver"], line["status"], line["idempotency_key"]) == ("l", "firing", "key-1")
    assert [a["status"] for a in line["alerts"]] == ["firing", "resolved"]


async def test_without_send_resolved_a_resolved_group_is_suppressed(
    service_logs: pytest.CaptureFixture[str],
) -> None:
    log = LogIntegration(Receiver.model_validate(
        {"name": "l", "log_configs": [{"send_resolved": False}]}).log_configs[0])  # fmt: skip

    outcome = await log.send(v4_payload("l", firing=0, resolved=2), "key-2")

    assert outcome is SendOutcome.SUPPRESSED
    assert "alert_notification" not in service_logs.readouterr().err
