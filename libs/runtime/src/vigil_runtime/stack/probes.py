"""Readiness probes that speak each server's own protocol (one attempt each, short timeout)."""

from __future__ import annotations

import socket
import struct

import psycopg
import redis

PROBE_TIMEOUT_S = 2.0
MQTT_V311 = 4


def postgres_answers(url: str) -> bool:
    """True when PostgreSQL accepts a connection on ``url`` and runs ``SELECT 1``."""
    try:
        with psycopg.connect(url, connect_timeout=int(PROBE_TIMEOUT_S), autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def redis_answers(port: int) -> bool:
    """True when Redis on 127.0.0.1:port replies to PING."""
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=PROBE_TIMEOUT_S,
        socket_connect_timeout=PROBE_TIMEOUT_S,
    )
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def mqtt_connack(port: int, protocol_level: int = MQTT_V311) -> int | None:
    """Send an MQTT CONNECT and return the CONNACK return code (0 = accepted).

    ``None`` when nothing answers or the reply is not a CONNACK. Hand-written (a dozen
    bytes) so the probe needs no event loop or client library and works for any level.
    """
    packet = _connect_packet(f"vigil-probe-{port}", protocol_level)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT_S) as sock:
            sock.sendall(packet)
            reply = _recv_exactly(sock, 4)
            if reply is None or reply[0] != 0x20:
                return None
            sock.sendall(b"\xe0\x00")  # DISCONNECT
            return reply[3]
    except OSError:
        return None


def mqtt_answers(port: int) -> bool:
    """True when an MQTT 3.1.1 broker on 127.0.0.1:port accepts an anonymous connection."""
    return mqtt_connack(port) == 0


def _connect_packet(client_id: str, protocol_level: int) -> bytes:
    variable = _mqtt_string("MQTT") + bytes([protocol_level, 0x02]) + struct.pack("!H", 30)
    if protocol_level >= 5:
        variable += b"\x00"  # no CONNECT properties
    body = variable + _mqtt_string(client_id)
    return b"\x10" + _remaining_length(len(body)) + body


def _mqtt_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        digit, length = length % 128, length // 128
        out.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(out)


def _recv_exactly(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
