"""The webhook integration against a real aiohttp server: signature, headers, filters and
which failures are retryable."""

from __future__ import annotations

import hashlib
import hmac
import socket
from typing import Any

import pytest

from vigil_alerter.config.models import WebhookConfig
from vigil_alerter.receivers.base import DeliveryError, SendOutcome
from vigil_alerter.receivers.webhook import WebhookIntegration, sign

from .delivery_helpers import HMAC_SECRET, WebhookServer, v4_payload

pytest_plugins = ["services.alerter.tests.conftest_delivery"]


def integration(url: str, **options: Any) -> WebhookIntegration:
    return WebhookIntegration(WebhookConfig(url=url, **options), unix_time=lambda: 1767700800.5)


def test_sign_is_hmac_sha256_of_timestamp_dot_body() -> None:
    expected = hmac.new(b"s3cret", b"1767700800.{}", hashlib.sha256).hexdigest()
    assert sign("s3cret", "1767700800", b"{}") == f"sha256={expected}"


async def test_a_signed_post_carries_the_key_timestamp_and_a_valid_signature(
    webhook_server: WebhookServer,
) -> None:
    hook = integration(webhook_server.endpoint("hook"), hmac_secret_env="DELIVERY_TEST_HMAC")

    outcome = await hook.send(v4_payload("ops", firing=2, resolved=1), "key-1")

    assert outcome is SendOutcome.SENT
    assert webhook_server.problems == []  # signature and v4 fields checked by the server
    [received] = webhook_server.got("hook")
    assert received.idempotency_key == "key-1"
    assert received.headers["X-Vigil-Timestamp"] == "1767700800"
    assert received.headers["X-Vigil-Signature"].startswith("sha256=")
    assert HMAC_SECRET not in str(received.headers)
    assert [a["status"] for a in received.body["alerts"]] == ["firing", "firing", "resolved"]
    assert received.body["status"] == "firing"


async def test_an_unsigned_post_has_no_signature_headers(webhook_server: WebhookServer) -> None:
    await integration(webhook_server.endpoint("plain")).send(v4_payload("ops"), "key-2")

    [received] = webhook_server.got("plain")
    assert "X-Vigil-Signature" not in received.headers
    assert "X-Vigil-Timestamp" not in received.headers


async def test_send_resolved_false_and_max_alerts_filter_the_body(
    webhook_server: WebhookServer,
) -> None:
    hook = integration(webhook_server.endpoint("f"), send_resolved=False, max_alerts=2)

    await hook.send(v4_payload("ops", firing=3, resolved=2), "key-3")
    outcome = await hook.send(v4_payload("ops", firing=0, resolved=2), "key-4")

    [received] = webhook_server.got("f")
    assert [a["labels"]["camera_id"] for a in received.body["alerts"]] == ["cam-0", "cam-1"]
    assert received.body["truncatedAlerts"] == 1
    assert outcome is SendOutcome.SUPPRESSED  # only resolved alerts: nothing sent
    assert webhook_server.attempts["f"] == 1


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (400, False)])
async def test_error_answers_raise_retryable_or_not(
    webhook_server: WebhookServer, status: int, retryable: bool
) -> None:
    webhook_server.fail_next["e"], webhook_server.fail_status = 1, status

    with pytest.raises(DeliveryError) as raised:
        await integration(webhook_server.endpoint("e")).send(v4_payload("ops"), "key-5")

    assert raised.value.retryable is retryable
    assert f"HTTP {status}" in str(raised.value)


async def test_a_refused_connection_is_retryable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there

    with pytest.raises(DeliveryError) as raised:
        await integration(f"http://127.0.0.1:{port}/x").send(v4_payload("ops"), "key-6")

    assert raised.value.retryable


async def test_a_missing_secret_variable_is_not_retryable(
    webhook_server: WebhookServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DELIVERY_TEST_UNSET", raising=False)
    hook = integration(webhook_server.endpoint("s"), hmac_secret_env="DELIVERY_TEST_UNSET")

    with pytest.raises(DeliveryError, match="DELIVERY_TEST_UNSET") as raised:
        await hook.send(v4_payload("ops"), "key-7")

    assert not raised.value.retryable
    assert webhook_server.attempts == {}
