"""Publish messages to the broker from the CLI, each confirmed by the broker (QoS 1 PUBACK).

Used by `vigil rejects replay` to put stored payloads back on their original topics, so they
take the ingest's real path again. One short-lived MQTT v5 connection (clean start, a random
client id) per command; a message the broker did not acknowledge is an error.
"""

from __future__ import annotations

import secrets
import ssl
import time
from collections.abc import Iterable

import click
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vigil_runtime.settings import MqttEndpoint

__all__ = ["publish_all"]

CONNECT_TIMEOUT_S = 10.0
PUBACK_TIMEOUT_S = 30.0


def publish_all(endpoint: MqttEndpoint, messages: Iterable[tuple[str, bytes]]) -> int:
    """Publish ``(topic, payload)`` pairs at QoS 1 and wait for every PUBACK; the count."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"vigil-cli-{secrets.token_hex(4)}",
        protocol=mqtt.MQTTv5,
    )
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set_context(ssl.create_default_context())
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=30, clean_start=True)
    except OSError as exc:
        raise click.ClickException(
            f"cannot connect to the MQTT broker at {endpoint.host}:{endpoint.port}: {exc}"
        ) from None
    client.loop_start()
    try:
        _wait_connected(client, endpoint)
        pending = [client.publish(topic, payload, qos=1) for topic, payload in messages]
        deadline = time.monotonic() + PUBACK_TIMEOUT_S
        for info in pending:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise click.ClickException(
                    f"the broker did not acknowledge a replayed message within "
                    f"{PUBACK_TIMEOUT_S:.0f} s; nothing was removed"
                )
        return len(pending)
    finally:
        client.disconnect()
        client.loop_stop()


def _wait_connected(client: mqtt.Client, endpoint: MqttEndpoint) -> None:
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while not client.is_connected():
        if time.monotonic() > deadline:
            raise click.ClickException(
                f"the MQTT broker at {endpoint.host}:{endpoint.port} did not accept the connection"
            )
        time.sleep(0.02)
