"""Real-client checks that a server answers (used by the stack tests; paho-mqtt needed)."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import psycopg
import redis
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion


def sql_scalar(url: str, query: str) -> object:
    """Run one query on ``url`` and return the first column of the first row."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def sql_execute(url: str, statement: str) -> None:
    """Run one statement (or several separated by ';') on ``url`` and commit."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute(statement.encode())


def redis_pings(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return bool(client.ping())
    finally:
        client.close()


def mqtt_connect_code(url: str, protocol: MQTTProtocolVersion) -> int:
    """Connect with paho and return the CONNACK reason code value (0 = accepted)."""
    parts = urlsplit(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    done = threading.Event()
    codes: list[int] = []

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        codes.append(int(getattr(reason, "value", reason)))  # type: ignore[call-overload]
        done.set()

    client.on_connect = on_connect
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883, keepalive=10)
    client.loop_start()
    try:
        assert done.wait(10), f"no CONNACK from {url}"
    finally:
        client.disconnect()
        client.loop_stop()
    return codes[0]
