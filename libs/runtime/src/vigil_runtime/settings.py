"""Service settings read from the environment and the local stack's env file.

Every Vigil process is configured the same way: `VIGIL_*` environment variables, plus the
env file that `vigil stack up` / `vigil demo` write (named by `VIGIL_ENV_FILE`, default
`.vigil/stack.env`). Real environment variables win over the file. Each service subclasses
`VigilSettings` to set its own `service_name` and default `http_port` and to add its own
fields.

URLs may carry passwords (`postgresql://user:pass@host/db`): use `redacted_url()` or
`VigilSettings.redacted()` for anything that is logged or printed.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_FILE_VARIABLE = "VIGIL_ENV_FILE"
DEFAULT_ENV_FILE = ".vigil/stack.env"
REDACTED = "***"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# scheme://user:password@ inside any text (log messages, exception strings).
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<pw>[^\s@/]*)@")


def env_file_path() -> Path:
    """The stack env file this process reads: `$VIGIL_ENV_FILE` or `.vigil/stack.env`."""
    return Path(os.environ.get(ENV_FILE_VARIABLE) or DEFAULT_ENV_FILE)


def redacted_url(url: str) -> str:
    """`url` with its password (if any) replaced by `***`; safe to log or print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.password is None:
        return url
    return urlunsplit(_with_redacted_password(parts))


def _with_redacted_password(parts: SplitResult) -> SplitResult:
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return parts._replace(netloc=f"{user}:{REDACTED}@{host}{port}")


def redact_text(text: str) -> str:
    """Replace the password of every `scheme://user:password@` found in free text."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}:{REDACTED}@", text)


def default_instance() -> str:
    """Identifies this process among replicas of a service: `<hostname>-<pid>`."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class MqttEndpoint:
    """The parts of an `mqtt://[user:pass@]host[:port]` (or `mqtts://`) URL."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Split a broker URL; the port defaults to 1883 (8883 for `mqtts://`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"MQTT URL must start with mqtt:// or mqtts://, got {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("MQTT URL has no host")
    tls = parts.scheme == "mqtts"
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=parts.username,
        password=parts.password,
    )


class VigilSettings(BaseSettings):
    """Settings shared by every Vigil service; subclasses set the name and default port."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    database_url: str = "postgresql://postgres@127.0.0.1:5432/vigil"
    redis_url: str = "redis://127.0.0.1:6379/0"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    http_host: str = "0.0.0.0"  # probes and Prometheus must reach the pod
    http_port: int = Field(default=9100, ge=0, le=65535)
    log_level: LogLevel = "INFO"
    secret_key: SecretStr | None = None
    service_name: str = "vigil"
    instance: str = Field(default_factory=default_instance)
    shutdown_grace_s: float = Field(default=10.0, gt=0)
    heartbeat_interval_s: float = Field(default=5.0, gt=0)
    gc_gen0_threshold: int = Field(default=50_000, ge=0)
    """Allocations between generation-0 collections (`vigil_runtime.gc_tuning`); 0 keeps
    CPython's default of 700."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init values, then real env vars, then the stack env file (resolved per instance)."""
        stack_env = DotEnvSettingsSource(settings_cls, env_file=env_file_path())
        return init_settings, env_settings, stack_env, file_secret_settings

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, value: str) -> str:
        parse_mqtt_url(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("database URL must start with postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _valid_redis_url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("Redis URL must start with redis://, rediss:// or unix://")
        return value

    @property
    def mqtt(self) -> MqttEndpoint:
        """The broker address and credentials parsed from `mqtt_url`."""
        return parse_mqtt_url(self.mqtt_url)

    def redacted(self) -> dict[str, Any]:
        """All settings as plain values, URL passwords and secrets masked: safe to log."""
        values = self.model_dump()
        for key, value in values.items():
            if isinstance(value, str) and key.endswith("_url"):
                values[key] = redacted_url(value)
            elif isinstance(value, SecretStr):
                values[key] = REDACTED
        return values


class SnapshotDirSettings(VigilSettings):
    """`VigilSettings` plus ``snapshot_dir`` (``VIGIL_SNAPSHOT_DIR``): the folder that
    ``snapshots.file_path`` values are relative to. The optimizer writes there; retention
    deletes an expired partition's files from there. One setting, so the two cannot drift."""

    snapshot_dir: Path = Path("snapshots")
