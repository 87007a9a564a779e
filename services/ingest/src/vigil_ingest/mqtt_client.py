"""Building and connecting the paho-mqtt client of the ingest's MQTT link.

Pure paho plumbing, kept apart from the link's state machine: which client options,
CONNECT properties and SUBSCRIBE requests a persistent, manually acknowledged QoS 1
consumer needs, for MQTT v5 (Mosquitto) and MQTT 3.1.1 (the amqtt fallback).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from vigil_runtime.settings import MqttEndpoint

__all__ = [
    "SHARED_PREFIX",
    "FastPathClient",
    "build_client",
    "check_filter",
    "connect_properties",
    "plain_filter",
    "start_connect",
    "subscribe_requests",
]

SHARED_PREFIX = "$share/"
QOS = 1
Protocol = Literal["v5", "v311"]
PUBACK = PacketTypes.PUBACK << 4
"""The PUBACK fixed-header command byte (without flags)."""
RECV_CHUNK = 256 * 1024
"""Bytes :class:`FastPathClient` asks the socket for at once."""


class FastPathClient(mqtt.Client):
    """paho's client with its per-message hot path made cheaper (measured in docs/ingest.md).

    * socket reads: paho reads a packet with one ``recv`` per fixed-header byte and one for
      the rest (three or four system calls per small PUBLISH); here one
      ``recv(RECV_CHUNK)`` serves hundreds of packets from a buffer (:meth:`_sock_recv`);
    * a QoS 1 PUBLISH without properties is decoded without paho's per-packet
      ``Properties`` object (:meth:`_handle_publish`);
    * consecutive PUBACKs leave in one ``send`` (:meth:`_packet_queue`);
    * paho's matcher of per-filter callbacks (never registered here) answers at once.

    Only those private parts of paho are replaced; the rest of its parsing, its errors
    (``BlockingIOError`` when nothing is buffered and the socket has nothing, ``b""`` at end
    of stream) and its TLS handling are paho's.

    Whoever drives the socket must also read while :attr:`buffered` is non-zero: those
    bytes have left the kernel, so the socket's readability no longer announces them.
    """

    _rbuf: bytes = b""
    _rpos: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_message_filtered = _SkipWhenEmptyMatcher()

    def _handle_publish(self) -> MQTTErrorCode:
        """A QoS 1 PUBLISH without properties, decoded here; any other by paho.

        paho builds a ``Properties`` object for every MQTT v5 PUBLISH (two dictionaries of
        27 entries, then a loop over them to clear it): about a tenth of the ingest's CPU
        on single-event messages. Cameras send no properties, so for that case this reads
        the topic, packet id and payload straight from the packet (MQTT 5.0 §3.3.2) and
        hands paho's ``MQTTMessage`` (``properties`` None) to paho's dispatch. A PUBLISH
        with properties, another QoS, an empty topic (topic alias) or a malformed one goes
        to paho's own decoder, as before.
        """
        packet = self._in_packet["packet"]
        header = self._in_packet["command"]
        if self._protocol != MQTTProtocolVersion.MQTTv5 or header & 0x06 != 0x02:
            return super()._handle_publish()
        topic_end = 2 + ((packet[0] << 8) | packet[1]) if len(packet) >= 2 else 0
        if topic_end == 2 or len(packet) < topic_end + 3 or packet[topic_end + 2] != 0:
            return super()._handle_publish()
        message = mqtt.MQTTMessage(
            (packet[topic_end] << 8) | packet[topic_end + 1], bytes(packet[2:topic_end])
        )
        message.dup = bool(header & 0x08)
        message.qos = 1
        message.retain = bool(header & 0x01)
        message.payload = bytes(packet[topic_end + 3 :])
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        if self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._send_puback(message.mid)

    def _packet_queue(
        self,
        command: int,
        packet: bytes | bytearray,
        mid: int,
        qos: int,
        info: mqtt.MQTTMessageInfo | None = None,
    ) -> MQTTErrorCode:
        """Queue a packet; a PUBACK joins the PUBACK packet queued before it, if nothing of
        that one is written yet, so a group of acknowledgements leaves in one ``send``
        (paho would make one system call, and one TCP segment, per PUBACK)."""
        if command & 0xF0 == PUBACK and self._out_packet:
            last = self._out_packet[-1]
            if last["command"] & 0xF0 == PUBACK and last["pos"] == 0:
                pending = last["packet"]
                if not isinstance(pending, bytearray):
                    pending = last["packet"] = bytearray(pending)
                pending += packet
                last["to_process"] += len(packet)
                return MQTTErrorCode.MQTT_ERR_SUCCESS  # the write was requested for `last`
        return super()._packet_queue(command, packet, mid, qos, info)

    @property
    def buffered(self) -> int:
        """Bytes received and not yet consumed by paho."""
        return len(self._rbuf) - self._rpos

    def _sock_recv(self, bufsize: int) -> bytes:
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(max(bufsize, RECV_CHUNK))
            if len(buf) <= bufsize:  # end of stream (b""), or no more than was asked for
                self._rbuf, self._rpos = b"", 0
                return buf
            pos = 0
        end = min(pos + bufsize, len(buf))
        self._rbuf, self._rpos = buf, end
        return buf[pos:end]


class _SkipWhenEmptyMatcher(MQTTMatcher):
    """paho's matcher of per-filter message callbacks, which the link never registers: paho
    walks it for every message (a generator per topic level, about 6 % of the ingest's CPU
    on single-event messages); empty, it now answers at once."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def iter_match(self, topic: str) -> Iterator[Any]:
        if not self._root._children:
            return iter(())
        return super().iter_match(topic)  # type: ignore[no-untyped-call,no-any-return]


def build_client(client_id: str, protocol: Protocol, endpoint: MqttEndpoint) -> FastPathClient:
    """A paho client with manual acks and a persistent session, not yet connected.

    paho's own reconnect logic is off (the link reconnects with its own backoff, on a
    fresh client, so nothing of an old connection survives into the next). paho's
    `max_inflight_messages` / `max_queued_messages` only bound *outgoing* publishes,
    which the link never makes; incoming QoS 1 messages are bounded by the broker
    honouring our Receive Maximum (v5) or its own `max_inflight_messages` (3.1.1).
    """
    v5 = protocol == "v5"
    client = FastPathClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else False,
        protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
        reconnect_on_failure=False,
        manual_ack=True,
    )
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set()  # system CA bundle, hostname checked
    # Exceptions raised by our callbacks propagate out of loop_read instead of being
    # swallowed into paho's log (which nobody reads).
    client.suppress_exceptions = False
    return client


def connect_properties(session_expiry_s: int, receive_maximum: int) -> Properties:
    """MQTT v5 CONNECT properties: keep the session while away, and a wide in-flight window.

    Mosquitto uses a v5 client's Receive Maximum as the number of unacknowledged QoS 1
    messages it sends to that client (replacing its `max_inflight_messages`). The link
    acknowledges only after a batch is committed, so the window must be larger than a
    batch, or delivery stalls until the previous batch commits.
    """
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = session_expiry_s
    props.ReceiveMaximum = receive_maximum
    return props


def start_connect(
    client: mqtt.Client,
    endpoint: MqttEndpoint,
    *,
    protocol: Protocol,
    keepalive_s: int,
    connect_timeout_s: float,
    session_expiry_s: int,
    receive_maximum: int,
) -> MQTTErrorCode:
    """Open the TCP (and TLS) connection and send CONNECT; blocking, so run it in a thread.

    clean_start is False on every connection: the broker keeps the subscriptions and
    unacknowledged messages of `client_id` across restarts of the ingest. Raises
    `OSError` when the broker cannot be reached.
    """
    client.connect_timeout = connect_timeout_s
    if protocol == "v5":
        return client.connect(
            endpoint.host,
            endpoint.port,
            keepalive=keepalive_s,
            clean_start=False,
            properties=connect_properties(session_expiry_s, receive_maximum),
        )
    return client.connect(endpoint.host, endpoint.port, keepalive=keepalive_s)


def check_filter(topic_filter: str) -> None:
    """Raise `ValueError` for a filter that paho or the broker would refuse.

    Wildcards must fill a whole level, `#` only as the last one; a shared filter needs a
    share name without wildcards and a filter after it. Checked at configuration time so
    a typo fails the service's start, not the middle of a connection.
    """
    rest = topic_filter
    if rest.startswith(SHARED_PREFIX):
        group, slash, rest = rest[len(SHARED_PREFIX) :].partition("/")
        if not group or not slash or "+" in group or "#" in group:
            raise ValueError(f"invalid shared subscription {topic_filter!r}")
    if not rest or len(rest.encode()) > 65535:
        raise ValueError(f"invalid topic filter {topic_filter!r}")
    levels = rest.split("/")
    for index, level in enumerate(levels):
        whole_wildcard = level == "+" or (level == "#" and index == len(levels) - 1)
        if not whole_wildcard and ("+" in level or "#" in level):
            raise ValueError(f"invalid wildcard in topic filter {topic_filter!r}")


def plain_filter(topic_filter: str) -> str:
    """`$share/<group>/<filter>` → `<filter>`; other filters unchanged."""
    if not topic_filter.startswith(SHARED_PREFIX):
        return topic_filter
    _, _, rest = topic_filter[len(SHARED_PREFIX) :].partition("/")
    return rest


def subscribe_requests(
    filters: tuple[str, ...], protocol: Protocol
) -> list[tuple[str, SubscribeOptions]] | list[tuple[str, int]]:
    """One QoS 1 subscription per filter.

    MQTT 3.1.1 brokers (the amqtt fallback) have no shared subscriptions, so there the
    `$share/<group>/` prefix is removed and every replica receives every message.
    """
    if protocol == "v5":
        return [(f, SubscribeOptions(qos=QOS)) for f in filters]
    return [(f, QOS) for f in dict.fromkeys(plain_filter(f) for f in filters)]
