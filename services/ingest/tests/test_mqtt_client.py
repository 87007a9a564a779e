"""FastPathClient: paho's reads served from one large recv, with paho's own semantics."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from vigil_ingest.mqtt_client import FastPathClient, build_client
from vigil_runtime.settings import parse_mqtt_url


def _client_on(sock: socket.socket) -> FastPathClient:
    client = build_client("test-buffered", "v5", parse_mqtt_url("mqtt://127.0.0.1:1"))
    client._sock = sock  # what paho's connect would have set
    return client


def test_reads_are_served_from_the_buffer_then_the_socket() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    client = _client_on(ours)
    try:
        theirs.sendall(b"abcdef")
        assert client._sock_recv(1) == b"a"
        assert client.buffered == 5
        assert client._sock_recv(2) == b"bc"
        assert client._sock_recv(10) == b"def"  # no more than is buffered, no new recv
        assert client.buffered == 0
        with pytest.raises(BlockingIOError):  # nothing buffered, nothing on the socket
            client._sock_recv(1)
        theirs.sendall(b"gh")
        assert client._sock_recv(5) == b"gh"
        theirs.close()
        assert client._sock_recv(1) == b""  # end of stream, as paho expects it
    finally:
        ours.close()


def _puback(mid: int) -> bytes:
    return bytes([0x40, 2, mid >> 8, mid & 0xFF])


def test_consecutive_pubacks_leave_in_one_packet() -> None:
    ours, theirs = socket.socketpair()
    client = _client_on(ours)
    writes: list[object] = []
    client.on_socket_register_write = lambda *_args: writes.append(True)
    try:
        for mid in (1, 2, 300):
            client.ack(mid, 1)
        assert len(client._out_packet) == 1
        client.loop_write()
        assert theirs.recv(100) == _puback(1) + _puback(2) + _puback(300)
        client.ack(4, 1)  # the joined packet is gone: a new one is queued and announced
        client._send_pingreq()  # not a PUBACK: queued on its own, and the next PUBACK too
        client.ack(5, 1)
        assert [packet["command"] for packet in client._out_packet] == [0x40, 0xC0, 0x40]
        client.loop_write()
        assert theirs.recv(100) == _puback(4) + bytes([0xC0, 0]) + _puback(5)
        assert writes
    finally:
        ours.close()
        theirs.close()


def _publish_body(topic: bytes, qos: int, mid: int, props: bytes, payload: bytes) -> bytes:
    """The variable header and payload of an MQTT v5 PUBLISH (§3.3.2)."""
    body = len(topic).to_bytes(2, "big") + topic
    if qos:
        body += mid.to_bytes(2, "big")
    return body + props + payload


@contextlib.contextmanager
def _ours_and_paho() -> Iterator[tuple[FastPathClient, mqtt.Client]]:
    """Our client and a stock paho one (manual acks, MQTT v5) on one socket pair."""
    ours, theirs = socket.socketpair()
    try:
        plain = mqtt.Client(
            CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5, manual_ack=True
        )
        plain._sock = ours
        yield _client_on(ours), plain
    finally:
        ours.close()
        theirs.close()


def _received(client: mqtt.Client, header: int, body: bytes) -> list[tuple[object, ...]]:
    """What on_message sees when ``client`` handles this PUBLISH."""
    seen: list[tuple[object, ...]] = []

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        user = getattr(msg.properties, "UserProperty", []) if msg.properties else []
        seen.append((msg._topic, msg.mid, msg.qos, msg.dup, msg.retain, msg.payload, user))

    client.on_message = on_message
    client._in_packet["command"] = header
    client._in_packet["packet"] = bytearray(body)
    try:
        client._handle_publish()
    except MalformedPacket as exc:  # refused alike (the link then drops the connection)
        seen.append(("malformed", str(exc)))
    return seen


@settings(max_examples=300, deadline=None)
@given(
    topic=st.binary(max_size=40).filter(lambda t: b"\x00" not in t),
    qos=st.sampled_from([0, 1, 1, 1, 2]),
    mid=st.integers(min_value=1, max_value=65535),
    dup=st.booleans(),
    retain=st.booleans(),
    user=st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=2),
    payload=st.binary(max_size=300),
)
def test_publish_decoding_matches_paho(
    topic: bytes, qos: int, mid: int, dup: bool, retain: bool,
    user: list[tuple[str, str]], payload: bytes,
) -> None:  # fmt: skip
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if user:
        props.UserProperty = user
    header = 0x30 | (dup << 3) | (qos << 1) | retain
    body = _publish_body(topic, qos, mid, props.pack(), payload)  # type: ignore[no-untyped-call]
    with _ours_and_paho() as (fast, plain):
        assert _received(fast, header, body) == _received(plain, header, body)


def test_truncated_publish_is_handled_like_paho() -> None:
    body = _publish_body(b"vigil/cameras/cam-1/events", 1, 7, b"\x00", b"{}")
    with _ours_and_paho() as (fast, plain):
        for cut in range(len(body) + 1):
            assert _received(fast, 0x32, body[:cut]) == _received(plain, 0x32, body[:cut]), cut
