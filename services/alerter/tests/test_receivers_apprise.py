"""The Apprise integration against real receivers: ``mailto://`` to a local SMTP server
(aiosmtpd) and ``mqtt://`` to the stack's Mosquitto; rendering and failures."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from vigil_alerter.config.models import AppriseConfig
from vigil_alerter.receivers.apprise_sender import AppriseIntegration, render_title
from vigil_alerter.receivers.base import DeliveryError, SendOutcome
from vigil_runtime.settings import parse_mqtt_url
from vigil_runtime.testing.mqtt_publisher import mqtt_client

from .delivery_helpers import until, v4_payload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Mailbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def apprise(*urls: str, **options: Any) -> AppriseIntegration:
    return AppriseIntegration(AppriseConfig(urls=list(urls), **options))


async def test_mailto_reaches_the_smtp_server_with_title_and_body(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    url = f"mailto://127.0.0.1:{port}?from=vigil@example.com&to=ops@example.com"

    outcome = await apprise(url).send(v4_payload("mail", firing=2), "key-mail")

    assert outcome is SendOutcome.SENT
    [message] = mailbox.messages
    assert message["Subject"] == "[FIRING:2] Intrusion"
    assert "ops@example.com" in message["To"]
    body = message.get_body(preferencelist=("plain", "html"))
    assert body is not None
    text = body.get_content()
    assert "person in zone on cam-1" in text
    assert "Idempotency-Key: key-mail" in text


async def test_mqtt_reaches_mosquitto(mqtt_url: str) -> None:
    topic = f"vigil/test/alerts/{uuid.uuid4().hex}"
    received: list[bytes | bytearray] = []
    subscribed = threading.Event()
    client, host, port = mqtt_client(mqtt_url, f"delivery-test-{uuid.uuid4().hex[:8]}")
    client.on_subscribe = lambda *_args: subscribed.set()
    client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.connect(host, port)
    client.loop_start()
    try:
        client.subscribe(topic, qos=1)
        await until(subscribed.is_set)
        endpoint = parse_mqtt_url(mqtt_url)
        auth = f"{endpoint.username}:{endpoint.password}@" if endpoint.username else ""
        url = f"mqtt://{auth}{host}:{port}/{topic}?qos=1"

        outcome = await apprise(url).send(v4_payload("mq", severity="critical"), "key-mqtt")

        assert outcome is SendOutcome.SENT
        await until(lambda: bool(received))
    finally:
        client.loop_stop()
        client.disconnect()
    text = bytes(received[0]).decode()
    assert "person in zone on cam-0" in text
    assert "Idempotency-Key: key-mqtt" in text


async def test_an_unreachable_smtp_server_is_a_retryable_failure() -> None:
    url = f"mailto://127.0.0.1:{free_port()}?from=vigil@example.com&to=ops@example.com"

    with pytest.raises(DeliveryError) as raised:
        await apprise(url).send(v4_payload("mail"), "key-down")

    assert raised.value.retryable
    assert str(raised.value).startswith("apprise: ")


async def test_an_unparsable_url_is_not_retryable_and_its_secret_is_not_quoted() -> None:
    with pytest.raises(DeliveryError) as raised:
        await apprise("nosuchscheme://token-s3cret@host").send(v4_payload("x"), "key-bad")

    assert not raised.value.retryable
    assert "s3cret" not in str(raised.value)
    assert "nosuchscheme://" in str(raised.value)


async def test_without_send_resolved_a_resolved_group_is_suppressed() -> None:
    integration = apprise("json://127.0.0.1:9/never", send_resolved=False)

    outcome = await integration.send(v4_payload("x", firing=0, resolved=1), "key-r")

    assert outcome is SendOutcome.SUPPRESSED


def test_titles_follow_the_template_or_alertmanagers_default() -> None:
    body = v4_payload("ops", firing=3, resolved=1)

    assert render_title(body, None) == "[FIRING:3] Intrusion"
    assert render_title(body, "{alertname} x{count} to {receiver}") == "Intrusion x3 to ops"
    assert render_title(body, "{nonsense}") == "[FIRING:3] Intrusion"
    resolved = v4_payload("ops", firing=0, resolved=2)
    assert render_title(resolved, None) == "[RESOLVED:2] Intrusion"
