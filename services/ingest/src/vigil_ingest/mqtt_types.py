"""The data types of the ingest's MQTT link; import them from `vigil_ingest.mqtt_link`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vigil_ingest.mqtt_client import check_filter
from vigil_runtime.settings import parse_mqtt_url

__all__ = ["Inbound", "MqttLinkConfig", "MqttNotReady"]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One PUBLISH as read from the broker; pass it back to `MqttLink.ack`."""

    topic: str
    payload: bytes
    user_properties: tuple[tuple[str, str], ...]
    mid: int
    qos: int
    retain: bool
    generation: int  # connection generation the message arrived on
    received_at: float  # time.time() when read


@dataclass(frozen=True)
class MqttLinkConfig:
    """How to reach the broker and what to consume; `url` may carry a password."""

    url: str  # mqtt://[user:pass@]host:port  (mqtts:// → TLS)
    client_id: str  # stable: a persistent session belongs to it
    subscriptions: tuple[str, ...]  # topic filters, already with $share/... when shared
    protocol: Literal["v5", "v311"] = "v5"  # v311: amqtt fallback, $share/ prefixes removed
    session_expiry_s: int = 7 * 24 * 3600
    receive_maximum: int = 65535
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0
    backoff_max_s: float = 10.0
    read_batch_max: int = 2000  # at most this many messages per on_messages call ...
    read_batch_bytes: int = 8 * 1024 * 1024  # ... and about this many payload bytes

    def __post_init__(self) -> None:
        parse_mqtt_url(self.url)  # raises ValueError (without the password) when malformed
        if not self.client_id:
            raise ValueError("client_id must not be empty: a persistent session needs one")
        if not self.subscriptions:
            raise ValueError("subscriptions must name at least one topic filter")
        for topic_filter in self.subscriptions:
            check_filter(topic_filter)
        if not 1 <= self.receive_maximum <= 65535:
            raise ValueError("receive_maximum must be in 1..65535")
        if self.keepalive_s < 1 or self.connect_timeout_s <= 0 or self.backoff_max_s <= 0:
            raise ValueError("keepalive_s, connect_timeout_s and backoff_max_s must be > 0")
        if self.read_batch_max < 1 or self.read_batch_bytes < 1 or self.session_expiry_s < 0:
            raise ValueError("read_batch_* must be >= 1 and session_expiry_s >= 0")


class MqttNotReady(RuntimeError):
    """Raised by `MqttLink.ready_check` while the link cannot consume."""
