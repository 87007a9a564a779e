"""vigil-analyzer skeleton: its settings, and a real start → ready → SIGTERM → clean exit."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from vigil_analyzer.settings import AnalyzerSettings
from vigil_runtime.testing.services import ServiceLauncher


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VIGIL_HTTP_PORT", raising=False)
    monkeypatch.setenv("VIGIL_ENV_FILE", str(tmp_path / "absent.env"))
    settings = AnalyzerSettings()
    assert (settings.service_name, settings.http_port) == ("analyzer", 9102)


def test_runs_until_sigterm_then_drains(
    run_service_process: ServiceLauncher, redis_url: str
) -> None:
    with run_service_process("analyzer") as service:
        assert service.readyz() == (
            200,
            {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}},
        )
        beat = service.wait_heartbeat("running")
        assert (beat["service"], beat["http_port"]) == ("analyzer", str(service.port))
        assert service.stop() == 0
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match="vigil:service:*")) == []
    finally:
        client.close()
