"""VigilSettings: env vars, the stack env file, validation and redaction."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import Field, ValidationError

from vigil_runtime.settings import (
    VigilSettings,
    parse_mqtt_url,
    redact_text,
    redacted_url,
)


class _ExampleSettings(VigilSettings):
    service_name: str = "example"
    http_port: int = Field(default=9199, ge=0, le=65535)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No VIGIL_* variable from the developer's shell, and no stray .vigil/ in the cwd."""
    for name in list(os.environ):
        if name.startswith("VIGIL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_reads_the_stack_env_file_named_by_vigil_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text(
        "VIGIL_DATABASE_URL=postgresql://u:pw@db.example:5433/vigil\n"
        "VIGIL_REDIS_URL=redis://cache.example:6380/2\n"
        "UNRELATED=ignored\n"
    )
    monkeypatch.setenv("VIGIL_ENV_FILE", str(env_file))
    settings = VigilSettings()
    assert settings.database_url == "postgresql://u:pw@db.example:5433/vigil"
    assert settings.redis_url == "redis://cache.example:6380/2"


def test_default_env_file_is_dot_vigil_stack_env(tmp_path: Path) -> None:
    (tmp_path / ".vigil").mkdir()
    (tmp_path / ".vigil" / "stack.env").write_text("VIGIL_MQTT_URL=mqtt://broker:1999\n")
    assert VigilSettings().mqtt_url == "mqtt://broker:1999"


def test_real_environment_variables_win_over_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".vigil").mkdir()
    (tmp_path / ".vigil" / "stack.env").write_text(
        "VIGIL_REDIS_URL=redis://from-file:1/0\nVIGIL_LOG_LEVEL=debug\n"
    )
    monkeypatch.setenv("VIGIL_REDIS_URL", "redis://from-env:2/0")
    settings = VigilSettings()
    assert settings.redis_url == "redis://from-env:2/0"
    assert settings.log_level == "DEBUG"


def test_missing_env_file_is_fine_and_defaults_apply() -> None:
    settings = _ExampleSettings()
    assert settings.http_port == 9199
    assert settings.service_name == "example"
    assert settings.secret_key is None
    assert settings.shutdown_grace_s > 0


def test_subclass_port_can_be_overridden_by_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_HTTP_PORT", "0")
    assert _ExampleSettings().http_port == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("VIGIL_MQTT_URL", "http://broker:1883"),
        ("VIGIL_DATABASE_URL", "mysql://db/vigil"),
        ("VIGIL_REDIS_URL", "memcached://x"),
        ("VIGIL_HTTP_PORT", "70000"),
        ("VIGIL_LOG_LEVEL", "chatty"),
    ],
)
def test_invalid_values_are_rejected(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        VigilSettings()


def test_secret_key_is_masked_in_repr_and_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_SECRET_KEY", "s3cr3t-key")
    monkeypatch.setenv("VIGIL_DATABASE_URL", "postgresql://vigil:hunter2@db:5432/vigil")
    settings = VigilSettings()
    assert settings.secret_key is not None
    assert settings.secret_key.get_secret_value() == "s3cr3t-key"
    shown = repr(settings) + str(settings.redacted())
    assert "s3cr3t-key" not in shown
    assert "hunter2" not in str(settings.redacted())
    assert settings.redacted()["database_url"] == "postgresql://vigil:***@db:5432/vigil"
    assert settings.redacted()["secret_key"] == "***"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://vigil:pw@db:5432/vigil", "postgresql://vigil:***@db:5432/vigil"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("mqtt://cam:p%40ss@[::1]:1883", "mqtt://cam:***@[::1]:1883"),
        ("postgresql://vigil@db/vigil", "postgresql://vigil@db/vigil"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
    ],
)
def test_redacted_url(url: str, expected: str) -> None:
    assert redacted_url(url) == expected


def test_redact_text_masks_every_url_password_in_free_text() -> None:
    text = "failed postgresql://a:one@h/db then redis://:two@r:1/0 (mqtt://m@x ok)"
    assert redact_text(text) == (
        "failed postgresql://a:***@h/db then redis://:***@r:1/0 (mqtt://m@x ok)"
    )


def test_mqtt_url_parts() -> None:
    endpoint = parse_mqtt_url("mqtt://cam01:pw@broker.local:1884")
    assert (endpoint.host, endpoint.port, endpoint.tls) == ("broker.local", 1884, False)
    assert (endpoint.username, endpoint.password) == ("cam01", "pw")
    assert "pw" not in repr(endpoint)
    assert parse_mqtt_url("mqtts://broker").port == 8883
    assert parse_mqtt_url("mqtt://broker").port == 1883
    assert VigilSettings(mqtt_url="mqtt://b:1/").mqtt.host == "b"
