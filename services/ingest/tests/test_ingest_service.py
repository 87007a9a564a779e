"""vigil-ingest as a real process: settings, readiness, MQTT → rows → streams, clean drain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
import pytest
import redis
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from vigil_ingest.main import subscriptions
from vigil_ingest.settings import IngestSettings
from vigil_runtime.settings import parse_mqtt_url
from vigil_runtime.stack.logins import connected_users


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_HTTP_PORT", raising=False)
    monkeypatch.setenv("VIGIL_ENV_FILE", str(tmp_path / "absent.env"))
    settings = IngestSettings()
    assert (settings.service_name, settings.http_port) == ("ingest", 9101)
    assert (settings.mqtt_client_id, settings.mqtt_shared_group) == ("vigil-ingest", "ingest")
    assert settings.receive_maximum > settings.batch_max_rows // 100
    assert not settings.frigate_enabled


def test_subscriptions_shared_plain_and_frigate(tmp_path: Path) -> None:
    shared = subscriptions(IngestSettings(frigate_enabled=True))
    assert "$share/ingest/vigil/cameras/+/events" in shared
    assert "$share/ingest/frigate/events" in shared
    plain = subscriptions(IngestSettings(mqtt_shared_group="", frigate_prefix="nvr"))
    assert plain == ("vigil/cameras/+/events", "vigil/cameras/+/health",
                     "vigil/cameras/+/frames", "vigil/cameras/+/status")  # fmt: skip
    with pytest.raises(ValueError, match="low_water"):
        IngestSettings(queue_high_water=10, queue_low_water=10)


def _readyz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _publisher(mqtt_url: str) -> mqtt.Client:
    endpoint = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cam-{uuid.uuid4().hex[:8]}",
                         protocol=MQTTProtocolVersion.MQTTv5)  # fmt: skip
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    client.connect(endpoint.host, endpoint.port)
    client.loop_start()
    return client


def test_events_published_over_mqtt_become_rows_then_drain(
    stack_env: dict[str, str], database_url: str, redis_url: str, mqtt_url: str, tmp_path: Path,
    role_database_url: Callable[[str], str],
) -> None:  # fmt: skip
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute("INSERT INTO cameras (id, name) VALUES ('svc-cam', 'service test camera')")
    env = {**os.environ, **stack_env, "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
           "VIGIL_DATABASE_URL": role_database_url("vigil_ingest"),
           "VIGIL_HTTP_HOST": "127.0.0.1", "VIGIL_HTTP_PORT": "0",
           "VIGIL_HEARTBEAT_INTERVAL_S": "0.5",
           "VIGIL_MQTT_CLIENT_ID": f"ingest-test-{uuid.uuid4().hex[:8]}",
           "VIGIL_MQTT_SHARED_GROUP": f"g{uuid.uuid4().hex[:8]}"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "vigil_ingest.main"], env=env, cwd=tmp_path)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    publisher = _publisher(mqtt_url)
    try:
        port = _wait_running(client, "vigil:service:ingest:*")
        _wait_ready(port)
        now = datetime.now(UTC).isoformat()
        infos = []
        for n in range(20):
            events = [{"event_type": "motion", "ts": now, "frame_number": n * 10 + i,
                       "motion_score": 0.3} for i in range(5)]  # fmt: skip
            payload = json.dumps(events)
            infos.append(publisher.publish("vigil/cameras/svc-cam/events", payload, qos=1))
        infos.append(publisher.publish("vigil/cameras/svc-cam/events", b"{broken", qos=1))
        for info in infos:
            info.wait_for_publish(timeout=10)
        counts = _wait_rows(database_url, expected=(100, 1))
        assert counts == (100, 1)
        assert connected_users(database_url) == {"vigil_ingest_login"}
        assert client.xlen("vigil:events") >= 20
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert list(client.scan_iter(match="vigil:service:*")) == []
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_rows(database_url: str, expected: tuple[int, int]) -> tuple[int, int]:
    deadline = time.monotonic() + 20
    counts = (0, 0)
    with psycopg.connect(database_url, autocommit=True) as db:
        while time.monotonic() < deadline:
            # Only this camera's rejects: the session broker may hold retained status
            # messages of other tests' cameras, which this ingest rightly rejects.
            row = db.execute(
                "SELECT (SELECT count(*) FROM camera_events),"
                " (SELECT count(*) FROM ingest_rejects WHERE camera_id = 'svc-cam')"
            ).fetchone()
            assert row is not None
            counts = (int(row[0]), int(row[1]))
            if counts == expected:
                return counts
            time.sleep(0.1)
    return counts


def _wait_ready(port: int) -> None:
    deadline = time.monotonic() + 20
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        status, body = _readyz(port)
        if status == 200:
            assert set(body["checks"]) >= {"postgres", "redis", "mqtt", "pipeline"}  # type: ignore[call-overload]
            return
        time.sleep(0.1)
    raise AssertionError(f"never ready: {body}")


def _wait_running(client: redis.Redis, pattern: str) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for key in client.scan_iter(match=pattern):
            beat = client.hgetall(key)
            if beat.get("status") == "running":
                return int(beat["http_port"])
        time.sleep(0.1)
    raise AssertionError(f"no running heartbeat {pattern}")
