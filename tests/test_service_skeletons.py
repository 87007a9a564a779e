"""Every service but the ingest (the analyzer, optimizer, alerter and retention): their
settings, and a real start → ready (connected as its own role's login) → heartbeat →
SIGTERM → clean exit.

The ingest has its own, fuller tests in services/ingest/tests.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from vigil_runtime.crypto import generate_key
from vigil_runtime.settings import VigilSettings
from vigil_runtime.stack.logins import connected_users, login_name
from vigil_runtime.testing.services import ServiceLauncher, ServiceProcess
from vigil_schema.roles import service_role

SKELETONS = {"analyzer": 9102, "optimizer": 9103, "alerter": 9104, "retention": 9105}
EXTRA_CHECKS = {"analyzer": {"writers": "ok"}}
"""Readiness checks a built service adds to postgres and redis."""
EXTRA_ENV = {"optimizer": {"VIGIL_SECRET_KEY": generate_key()}}
"""What a built service needs to be ready (the optimizer decrypts camera logins)."""


def _settings_class(service: str) -> type[VigilSettings]:
    module = importlib.import_module(f"vigil_{service}.settings")
    cls: type[VigilSettings] = getattr(module, f"{service.capitalize()}Settings")
    return cls


@pytest.mark.parametrize(("service", "port"), SKELETONS.items())
def test_settings_defaults(
    service: str, port: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VIGIL_HTTP_PORT", raising=False)
    monkeypatch.setenv("VIGIL_ENV_FILE", str(tmp_path / "absent.env"))
    settings = _settings_class(service)()
    assert (settings.service_name, settings.http_port) == (service, port)


@pytest.mark.parametrize("service", SKELETONS)
def test_runs_until_sigterm_then_drains(
    service: str, run_service_process: ServiceLauncher, redis_url: str, database_url: str
) -> None:
    with run_service_process(service, env=EXTRA_ENV.get(service)) as running:
        assert running.readyz() == (
            200,
            {
                "status": "ready",
                "checks": {"postgres": "ok", "redis": "ok", **EXTRA_CHECKS.get(service, {})},
            },
        )
        assert connected_users(database_url) == {login_name(service_role(service))}
        beat = running.wait_heartbeat("running")
        assert (beat["service"], beat["http_port"]) == (service, str(running.port))
        assert running.stop() == 0
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match="vigil:service:*")) == []
    finally:
        client.close()


def _readyz_once_connected(running: ServiceProcess, timeout_s: float = 30.0) -> tuple[int, Any]:
    """/readyz once the postgres check has left "connecting" (live comes before connected)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, body = running.readyz()
        if "connecting" not in str(body["checks"]["postgres"]) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def test_the_optimizer_without_a_secret_key_runs_but_is_not_ready(
    run_service_process: ServiceLauncher,
) -> None:
    with run_service_process("optimizer", until="live") as running:
        status, body = _readyz_once_connected(running)
        assert status == 503
        assert "VIGIL_SECRET_KEY is not set" in body["checks"]["secret_key"]
        assert body["checks"]["postgres"] == "ok"
