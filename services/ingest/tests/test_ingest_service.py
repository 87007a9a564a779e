"""vigil-ingest skeleton: its settings, and a real start → ready → SIGTERM → clean exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import redis

from vigil_ingest.settings import IngestSettings


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_HTTP_PORT", raising=False)
    monkeypatch.setenv("VIGIL_ENV_FILE", str(tmp_path / "absent.env"))
    settings = IngestSettings()
    assert (settings.service_name, settings.http_port) == ("ingest", 9101)


def _readyz(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_runs_until_sigterm_then_drains(
    stack_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, **stack_env, "VIGIL_ENV_FILE": str(tmp_path / "absent.env"),
           "VIGIL_HTTP_HOST": "127.0.0.1", "VIGIL_HTTP_PORT": "0",
           "VIGIL_HEARTBEAT_INTERVAL_S": "0.5"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "vigil_ingest.main"], env=env, cwd=tmp_path)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        port = _wait_running(client, "vigil:service:ingest:*")
        status, body = _readyz(port)
        assert status == 200
        assert body["checks"] == {"postgres": "ok", "redis": "ok"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert list(client.scan_iter(match="vigil:service:*")) == []
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_running(client: redis.Redis, pattern: str) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for key in client.scan_iter(match=pattern):
            beat = client.hgetall(key)
            if beat.get("status") == "running":
                return int(beat["http_port"])
        time.sleep(0.1)
    raise AssertionError(f"no running heartbeat {pattern}")
