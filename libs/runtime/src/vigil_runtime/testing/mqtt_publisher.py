"""A stock paho MQTT v5 publisher for tests: QoS 1, and :meth:`Publisher.wait_acked` waits
for every PUBACK, so a test knows what the broker accepted (what must then be stored).

    publisher = Publisher(mqtt_url, "fuzz-1234")
    publisher.publish(topic, payload, [("ts", "...")])
    assert publisher.wait_acked() == 1
    publisher.close()

:func:`mqtt_client` builds the plain client (MQTT v5, credentials from the URL) for tests
that drive paho themselves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from vigil_runtime.settings import parse_mqtt_url

PUBACK_TIMEOUT_S = 30.0


def mqtt_client(mqtt_url: str, client_id: str) -> tuple[mqtt.Client, str, int]:
    """A paho MQTT v5 client for ``mqtt_url`` and the host and port to connect it to."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    return client, endpoint.host, endpoint.port


class Publisher:
    """A plain paho MQTT v5 publisher (network thread) that waits for every PUBACK."""

    def __init__(self, mqtt_url: str, client_id: str) -> None:
        self._client, host, port = mqtt_client(mqtt_url, client_id)
        self._client.max_queued_messages_set(0)
        self._client.max_inflight_messages_set(100)
        self._pending: list[mqtt.MQTTMessageInfo] = []
        self._client.connect(host, port, keepalive=30, clean_start=True)
        self._client.loop_start()

    def publish(
        self,
        topic: str,
        payload: bytes,
        user_properties: Sequence[tuple[str, str]] | None = None,
        *,
        retain: bool = False,
    ) -> None:
        """Publish at QoS 1; ``user_properties`` as MQTT v5 user properties."""
        properties = None
        if user_properties is not None:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.UserProperty = list(user_properties)
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=properties)
        assert info.rc == mqtt.MQTT_ERR_SUCCESS, f"publish to {topic!r} failed: {info.rc}"
        self._pending.append(info)

    def wait_acked(self, timeout_s: float = PUBACK_TIMEOUT_S) -> int:
        """Wait until the broker acknowledged everything published; how many that was."""
        deadline = time.monotonic() + timeout_s
        for info in self._pending:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            assert info.is_published(), f"no PUBACK within {timeout_s}s"
        count = len(self._pending)
        self._pending.clear()
        return count

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
